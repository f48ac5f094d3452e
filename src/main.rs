//! Flags (and the `--config` file's) → config → bind → run. The only place errors become exit
//! codes: 2 for a bad command line or configuration file, 1 for anything that stops the server.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tinyhttpd::config::{Config, file};

fn main() -> ExitCode {
    let args = match file::with_file(std::env::args_os().collect(), &Config::command()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::try_parse_from(args).and_then(Config::checked) {
        Ok(config) => config,
        Err(e) if e.use_stderr() => {
            eprint!("{}", without_usage(&e.to_string()));
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version: not errors.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    if let Err(message) = config.validate() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    match tinyhttpd::run(&config) {
        // How the server ended, a drain cut short included, is in the error log.
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tinyhttpd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Clap's error message without its `Usage:` paragraph: what is wrong, clap's `tip:` lines
/// (a similar flag for a typo, how to pass a value starting with `-`) and its pointer to
/// `--help` stay; the usage line only repeats the flag at fault, or `[OPTIONS]`.
fn without_usage(message: &str) -> String {
    let mut kept = String::with_capacity(message.len());
    let mut in_usage = false;
    for line in message.lines() {
        in_usage |= line.starts_with("Usage:");
        if !in_usage {
            kept.push_str(line);
            kept.push('\n');
        } else if line.trim().is_empty() {
            // The blank line that ends the paragraph goes with it.
            in_usage = false;
        }
    }
    kept
}
