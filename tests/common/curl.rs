//! curl, for what a real client does that the raw one does not (its own parsing, ranges,
//! compression): a test whose curl is missing says so and skips only its curl part.

use std::io;
use std::process::{Command, Output, Stdio};

/// Runs `curl` with `args` (plus a time limit and no proxy). Returns `None`, after printing a
/// note, only if curl is not installed.
pub fn curl(args: &[&str]) -> Option<Output> {
    let result = Command::new("curl")
        .args(["--max-time", "30", "--noproxy", "*"])
        .args(args)
        .stdin(Stdio::null())
        .output();
    match result {
        Ok(output) => Some(output),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("note: curl is not installed; skipping the curl part of this test");
            None
        }
        Err(e) => panic!("cannot run curl: {e}"),
    }
}
