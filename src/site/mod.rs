//! The site.

pub mod file_cache;
pub mod files;
pub mod listing;
