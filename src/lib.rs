//! tinyhttpd: a single-threaded HTTP/1.1 static file server on a hand-written epoll loop.
//!
//! Read it top down: `event_loop` (the loop and the `Task` trait) → `listener` and `conn`
//! (the two task kinds) → `http` (pure parsing and response heads) and `files` (the site on
//! disk) → `sys` (every syscall, and all the `unsafe`).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod config;
pub mod http;
pub mod runtime;
pub mod server;
pub mod site;
pub mod sys;

use crate::config::Config;
use crate::runtime::event_loop::Exit;
use crate::server::start::{self, StartError};
use crate::server::supervisor;

/// Runs the server `config` describes: one in this process, or with `--workers` above 1, a
/// supervisor of that many worker processes (each of which returns here with its own result,
/// `fork` returning twice).
pub fn run(config: &Config) -> Result<Exit, StartError> {
    let settings = config.settings();
    let site = start::open(&settings)?;
    if settings.workers > 1 {
        start::check_access_log(&settings)?;
        drop(site);
        return supervisor::run(&settings);
    }
    start::single(&settings, site)
}
