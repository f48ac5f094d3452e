//! Shared helpers for the integration tests, by purpose: `server` starts the real binary
//! (`Server::builder()` for its options) and watches the process, `client` is the raw
//! HTTP/1.1 client and its `Response`, `curl` runs curl, `site` makes temporary directories
//! and files. Everything is re-exported here, so a test says `use common::*;`. A helper that
//! only one test file needs lives in that file.
//!
//! Dead code: each `tests/X.rs` is a crate of its own that compiles this module again, and
//! each uses a different part of it, so rustc's per-crate `dead_code` lint would flag in one
//! file what the others use. The test files therefore declare `pub mod common;`: a public
//! module is the crate's API, which the lint leaves alone, and no per-item `allow` is needed.
//! Whether a helper is used by *no* test is a question about the whole suite; to ask it,
//! make the declarations private (`sed -i 's/^pub mod common;/mod common;/' tests/*.rs`),
//! run `cargo test --no-run`, and remove what is reported in every test binary. The
//! simulation tests, which start no server, take only `site.rs` (`#[path]`) the same way.

mod client;
mod curl;
mod server;
mod site;

pub use client::*;
pub use curl::*;
pub use server::*;
pub use site::*;

/// HTTPS: certificates made with `openssl req`, and a blocking rustls client.
mod tls;
pub use tls::*;
