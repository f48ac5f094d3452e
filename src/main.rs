//! Flags → config → bind → run. The only place errors become exit codes:
//! 2 for a bad command line (clap's), 1 for anything that stops the server.

use std::process::ExitCode;

use clap::Parser;
use tinyhttpd::config::Config;
use tinyhttpd::event_loop::Exit;

fn main() -> ExitCode {
    let config = Config::parse();
    match tinyhttpd::server::run(&config) {
        Ok(Exit::Finished) => ExitCode::SUCCESS,
        Ok(Exit::DrainExpired { abandoned }) => {
            eprintln!("tinyhttpd: drain timeout: closed {abandoned} unfinished tasks");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tinyhttpd: {e}");
            ExitCode::FAILURE
        }
    }
}
