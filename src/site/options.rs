//! How a site is served: the options the command line gives `Site::open`.

use crate::http::mime::{ContentType, DEFAULT_TYPE};
use crate::site::etag::EtagMode;
use crate::site::routes::Routes;

/// How a site is served, from the command line.
#[derive(Clone, Debug)]
pub struct SiteOptions {
    pub index_name: String,
    pub serve_hidden: bool,
    pub autoindex: bool,
    pub default_type: ContentType,
    /// `--error-page`: status code and the URL path of its page.
    pub error_pages: Vec<(u16, Vec<u8>)>,
    /// `--fallback`, `--try-ext` and `--redirect`.
    pub routes: Routes,
    /// `--etag`: what a file's entity-tag is made from.
    pub etag: EtagMode,
}

/// A site as served with no flags: `index.html`, dotfiles hidden, no listings, unknown types
/// as `application/octet-stream`, no error pages, no routing rules, ETags from size and mtime.
impl Default for SiteOptions {
    fn default() -> SiteOptions {
        SiteOptions {
            index_name: "index.html".to_string(),
            serve_hidden: false,
            autoindex: false,
            default_type: ContentType::new(DEFAULT_TYPE),
            error_pages: Vec::new(),
            routes: Routes::default(),
            etag: EtagMode::default(),
        }
    }
}
