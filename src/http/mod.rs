//! Pure HTTP/1.1: bytes in, request or status out; response heads written into a buffer.
//!
//! Nothing here touches a socket, a file or the clock: callers pass the time in. That keeps
//! every rule testable with plain byte strings, including fed one byte at a time. It uses
//! nothing else of this crate.

pub mod accept;
pub mod chunked;
pub mod cidr;
pub mod conditional;
pub mod cors;
pub mod date;
pub mod encoding;
pub mod forwarded;
pub mod glob;
pub mod header_rules;
pub mod mime;
pub mod path;
pub mod proxy_protocol;
pub mod range;
pub mod request;
pub mod response;
pub mod status;

pub use status::Status;

/// tchar from RFC 9110 §5.6.2: the characters of methods, header names and other tokens.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `value` without the optional whitespace (spaces and tabs, RFC 9110 §5.6.3) around it.
pub fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &value[start..end]
}
