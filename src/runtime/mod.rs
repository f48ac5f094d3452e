//! The runtime.

pub mod buffer;
pub mod error_log;
pub mod event_loop;
pub mod memory;
pub mod task;
pub mod timer;
pub mod transport;
