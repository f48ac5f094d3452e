//! What answers a path that names nothing, when the operator says (`site::routes`): the path
//! with each `--try-ext` extension in turn, then, for a navigation, the `--fallback` file.
//!
//! Only a miss is routed: a path the dotfile policy hides stays a miss, and any other
//! refusal (403, a failure) is never turned into a page. Every candidate is resolved through
//! the file cache under the same policies as a request for it, so a missing fallback file
//! is the normal 404, and the fallback keeps its own validators (its ETag gets a 304).

use std::time::Instant;

use crate::http::accept;
use crate::http::path::{self, NormalizedPath};
use crate::site::file_cache::{FileCache, Lookup, Representations};
use crate::site::files::{Site, SiteError, hides};
use crate::site::routes::Routes;

impl Site {
    pub fn routes(&self) -> &Routes {
        &self.options.routes
    }

    /// Whether the dotfile policy hides `path`: a `NotFound` that is a refusal, not a miss.
    fn hides(&self, path: &NormalizedPath<'_>) -> bool {
        !self.serve_hidden() && hides(path.relative().split(|&b| b == b'/'))
    }
}

/// What a missing path turned out to be.
#[derive(Debug)]
pub enum Missing {
    /// A file to serve with 200; `vary_accept` when it is the fallback for a path with an
    /// extension, chosen because the request named `text/html`.
    Found {
        files: Representations,
        vary_accept: bool,
    },
    /// A path with an extension whose request did not name `text/html`: 404, but one that
    /// depended on Accept.
    NotANavigation,
    /// Still nothing (or the candidate was refused): answered like the path itself.
    Refused(SiteError),
}

/// Routes a path that `files` found missing: first the path with each extension in the order
/// given (not for a directory form, which names a directory); then the fallback, for a
/// navigation only.
///
/// A navigation is a request for a path whose last segment has no extension
/// (`/app/settings`), or one whose Accept names `text/html`, as a browser's does for
/// `/users/jane.doe`. So `/app.js` fetched by a script stays 404 and no cache stores the
/// HTML page under an asset's URL; for a path with an extension the answer depends on
/// Accept, which the reply says (`Vary: Accept`, RFC 9110 §12.5.5).
pub fn resolve(
    site: &Site,
    files: &mut FileCache,
    path: &NormalizedPath<'_>,
    accept: Option<&[u8]>,
    accept_encoding: Option<&[u8]>,
    now: Instant,
) -> Missing {
    if site.hides(path) {
        return Missing::Refused(SiteError::NotFound);
    }
    let mut buffer = Vec::new();
    for extension in site.routes().extensions() {
        let Some(candidate) = path.with_suffix(extension, &mut buffer) else {
            break;
        };
        match files.lookup(site, &candidate, accept_encoding, now) {
            Ok(Lookup::File(files)) => {
                return Missing::Found {
                    files,
                    vary_accept: false,
                };
            }
            // A directory named `about.html` is not the page `/about` means.
            Ok(_) | Err(SiteError::NotFound) => {}
            Err(error) => return Missing::Refused(error),
        }
    }
    let Some(fallback) = site.routes().fallback() else {
        return Missing::Refused(SiteError::NotFound);
    };
    let last_segment = path.relative().rsplit(|&b| b == b'/').next();
    // A dot after the first byte: `app.js`, not `.profile` (a dotfile, not an extension).
    let has_extension = last_segment.is_some_and(|s| s.iter().skip(1).any(|&b| b == b'.'));
    if has_extension && !accept.is_some_and(accept::names_html) {
        return Missing::NotANavigation;
    }
    let Ok(fallback) = path::normalize(fallback, &mut buffer) else {
        return Missing::Refused(SiteError::NotFound);
    };
    match files.lookup(site, &fallback, accept_encoding, now) {
        Ok(Lookup::File(files)) => Missing::Found {
            files,
            vary_accept: has_extension,
        },
        Ok(_) => Missing::Refused(SiteError::NotFound),
        Err(error) => Missing::Refused(error),
    }
}
