//! The runtime.

pub mod buffer;
pub mod error_log;
pub mod event_loop;
pub mod timer;
pub mod transport;
