//! The runtime: the event loop and what tasks need from it, knowing tasks but not requests.
//!
//! It owns the loop (`event_loop`: timeout, `epoll_wait`, wake, timers, run queue), the task
//! contract (`task`: `Task`, `Wake`, `Step`, generation-checked `TaskId`, `TaskContext` and
//! `Context`, `Notifier`), the timer set (`timer`), connection buffers and their pool
//! (`buffer`), byte streams (`transport`: the trait and TCP; `tls`: TLS over TCP, with
//! rustls; `memory`: a scripted stream and `Detached`, a loop stand-in for tests and
//! fuzzing), the error log (`error_log`), and the worker pool (`pool`: jobs out to threads,
//! completions back through an eventfd). It may use `sys`, and `http`'s calendar for the
//! error log's timestamps: nothing here knows requests, files or the server's kinds of task.

pub mod buffer;
pub mod error_log;
pub mod event_loop;
pub mod memory;
pub mod pool;
pub mod task;
pub mod timer;
pub mod tls;
pub mod transport;
