//! Flags → config → bind → run. The only place errors become exit codes:
//! 2 for a bad command line, 1 for anything that stops the server.

use std::process::ExitCode;

use clap::Parser;
use tinyhttpd::config::Config;

fn main() -> ExitCode {
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(e) if e.use_stderr() => {
            // One line, not clap's usage block: the cause, and where to look.
            let message = e.to_string();
            let first_line = message.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first_line} (see tinyhttpd --help)");
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version: not errors.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match tinyhttpd::run(&config) {
        // How the server ended, a drain cut short included, is in the error log.
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tinyhttpd: {e}");
            ExitCode::FAILURE
        }
    }
}
