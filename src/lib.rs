//! tinyhttpd: a single-threaded HTTP/1.1 static file server on a hand-written epoll loop.
//!
//! Read it top down: `event_loop` (the loop and the `Task` trait) → `listener` and `conn`
//! (the two task kinds) → `http` (pure parsing and response heads) and `files` (the site on
//! disk) → `sys` (every syscall, and all the `unsafe`).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod access_log;
pub mod buffer;
#[path = "site/compress.rs"]
pub mod compress;
pub mod config;
pub mod conn;
pub mod error_log;
pub mod event_loop;
pub mod file_cache;
pub mod files;
pub mod handler;
pub mod http;
pub mod idle;
pub mod listener;
pub mod listing;
pub mod render;
pub mod server;
pub mod shared;
pub mod shutdown;
pub mod simulate;
pub mod supervisor;
pub mod sys;
pub mod timer;
pub mod transport;
