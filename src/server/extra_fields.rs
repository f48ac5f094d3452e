//! What the operator adds to responses: the `--header` rules (with `--cache-control` folded
//! in) and the `--cors` origins. Checked at start; read-only while serving.

use crate::http::cors::Cors;
use crate::http::header_rules::HeaderRules;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtraFields {
    /// For successful file responses (200, 206, 304), by URL path.
    pub headers: HeaderRules,
    /// For responses to requests whose `Origin` is allowed, and preflights.
    pub cors: Cors,
}
