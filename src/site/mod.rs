//! The site: from a normalised URL path to what it names beneath the root.
//!
//! It owns path resolution and its policy (symlinks, dotfiles, index files, `files`), the
//! open-file cache with precompressed variants (`file_cache`) and directory listings
//! (`listing`) and on-the-fly compression with its cache of compressed variants (`compress`). It may use `sys` (opening beneath the root) and `http`
//! (dates and media types), never the runtime or the server: it answers with its own
//! `SiteError`, which the handler in `server` maps to a status.

pub mod compress;
pub mod file_cache;
pub mod files;
pub mod listing;
