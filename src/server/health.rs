//! `--health-path PATH`: the answer a load balancer's health check gets, 200 while the server
//! serves and 503 from the first SIGTERM (or SIGINT) on, through the `--shutdown-delay`
//! and the drain that follows it (see `signals`).
//!
//! The path is matched before any file lookup, exactly (a query is ignored), for GET and
//! HEAD only; other methods there get what the site would answer. The reply is tiny, never
//! cached (`Cache-Control: no-store`, whatever `--cache-control` says), and is an ordinary
//! response: it is access-logged like any other and never reaches the error log.

use std::cell::Cell;

use crate::http::mime::ContentType;
use crate::http::request::{Method, Request, Target};
use crate::http::response::Head;
use crate::server::handler::Reply;

/// Bodies of the two answers.
pub const SERVING_BODY: &[u8] = b"ok\n";
pub const SHUTTING_DOWN_BODY: &[u8] = b"shutting down\n";

/// See the module documentation.
pub struct Health {
    path: Box<[u8]>,
    failing: Cell<bool>,
}

impl Health {
    pub fn new(path: &str) -> Health {
        Health {
            path: path.as_bytes().into(),
            failing: Cell::new(false),
        }
    }

    /// From now on the check fails: a shutdown has begun.
    pub fn fail(&self) {
        self.failing.set(true);
    }

    /// The reply if `request` is the health check.
    pub fn reply(&self, request: &Request<'_>) -> Option<Reply> {
        match (request.method, request.target) {
            (Method::Get | Method::Head, Target::Path { path, .. }) if *path == *self.path => {
                Some(Reply::Health {
                    serving: !self.failing.get(),
                })
            }
            _ => None,
        }
    }
}

/// Writes the health reply after `head` (its status already chosen).
pub fn write(mut head: Head<'_>, serving: bool, head_only: bool, out: &mut Vec<u8>) {
    let body = if serving {
        SERVING_BODY
    } else {
        SHUTTING_DOWN_BODY
    };
    head.content_type = Some(ContentType::new("text/plain"));
    head.content_length = Some(body.len() as u64);
    // RFC 9111 §5.2.2.5: a cached "ok" would hide the replica going down.
    head.no_store = true;
    head.write(out);
    if !head_only {
        out.extend_from_slice(body);
    }
}
