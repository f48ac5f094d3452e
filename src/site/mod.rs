//! The site: from a normalised URL path to what it names beneath the root.
//!
//! Who may see a path, by HTTP Basic authentication, is decided here too (`auth`).
//!
//! It owns path resolution and its policy (symlinks, dotfiles, index files, `files`), the
//! open-file cache with precompressed variants (`file_cache`) and directory listings
//! (`listing`) and on-the-fly compression with its cache of compressed variants (`compress`),
//! and the operator's routing rules (`routes`): redirects, and what answers a missing path
//! (`missing`). A file's entity-tag, from size and mtime or from its content, is `etag`'s.
//! It may use `sys` (opening beneath the root) and `http` (dates and media types), never
//! the runtime or the server: it answers with its own `SiteError`, which the handler in
//! `server` maps to a status.
//!
//! Paths pass one way: the caller hands in an `http::path::NormalizedPath`, which this layer
//! only reads (the cache keys on its bytes, borrowed); what resolution found comes back as
//! values: the `StaticFile` with the `ResolvedPath` it was opened under, a directory to list,
//! or a redirect. A name derived on the way (an index file, a variant) is a new value, so no
//! buffer is shared between the levels and none is changed behind a caller's back.

pub mod auth;
pub mod compress;
pub mod etag;
pub mod file_cache;
pub mod files;
pub mod listing;
pub mod missing;
pub mod options;
pub mod routes;
