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
