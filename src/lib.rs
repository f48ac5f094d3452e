//! tinyhttpd: a single-threaded HTTP/1.1 static file server on a hand-written epoll loop.
//!
//! The folders are layers, and each uses only itself and the layers below it:
//!
//! ```text
//! main.rs, lib.rs, config(/)    the command line and its file, the choice of one server or workers
//! server/                       the task kinds and their wiring, the handler, the renderer
//! site/                         URL path -> what it names on disk; caches, compression, auth
//! runtime/                      the loop, tasks, timers, buffers, transports (TCP, TLS), the
//!                               worker pool, the error log
//! http/, sys/                   pure protocol; every syscall
//! ```
//!
//! Read it top down: `runtime::event_loop` (the loop) and `runtime::task` (the `Task` trait)
//! → `server::listener` and `server::conn` (the two main task kinds) → `server::handler` and
//! `site` (what a request names) → `http` (pure parsing and response heads) → `sys`. The
//! README's "Reading the code" gives the same order file by file.

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

/// Runs the server `config` describes, on the listening sockets passed to it if any (see
/// `sys::activation`), else on its own: one in this process, or with `--workers` above 1, a
/// supervisor of that many worker processes (each of which returns here with its own result,
/// `fork` returning twice).
pub fn run(config: &Config) -> Result<Exit, StartError> {
    // First, while this process has one thread: it changes the environment.
    let passed = start::take_passed()?;
    let settings = config.settings();
    let site = start::open(&settings)?;
    if settings.workers > 1 {
        start::check_access_log(&settings)?;
        start::check_tls(&settings)?;
        drop(site);
        return supervisor::run(&settings, passed);
    }
    start::single(&settings, site, passed)
}
