//! The command line's value parsers: each checks one flag's value and says what is wrong
//! with it, so that a bad value is a usage error (exit 2), never a half-started server.

/// A health path is matched as sent: an absolute path of visible ASCII.
pub(super) fn parse_health_path(value: &str) -> Result<String, String> {
    if !value.starts_with('/') || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be a URL path starting with /, e.g. /healthz".to_string());
    }
    Ok(value.to_string())
}

/// `--error-page CODE=PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    pub code: u16,
    pub path: String,
}

pub(super) fn parse_error_page(value: &str) -> Result<ErrorPage, String> {
    let (code, path) = value
        .split_once('=')
        .ok_or("expected CODE=PATH, e.g. 404=/404.html")?;
    let code: u16 = code
        .parse()
        .ok()
        .filter(|c| (400..=599).contains(c))
        .ok_or("CODE must be an error status from 400 to 599")?;
    if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err("PATH must be a URL path starting with /".to_string());
    }
    Ok(ErrorPage {
        code,
        path: path.to_string(),
    })
}

/// `type/subtype`, both tokens (RFC 9110 §8.3.1); parameters are not accepted.
pub(super) fn parse_media_type(value: &str) -> Result<String, String> {
    let token = |t: &str| !t.is_empty() && t.bytes().all(crate::http::is_tchar);
    match value.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => Ok(value.to_ascii_lowercase()),
        _ => Err("must be a media type such as text/plain".to_string()),
    }
}

/// A header value we will send verbatim: visible ASCII and spaces only, so no flag can
/// inject a line break into a response.
pub(super) fn parse_header_value(value: &str) -> Result<String, String> {
    // The same rule as a `--header` value: `--cache-control` is one.
    if !crate::http::header_rules::is_field_value(value) {
        return Err("must be visible ASCII characters, spaces and tabs".to_string());
    }
    Ok(value.trim().to_string())
}

/// A header field name: a token (RFC 9110 §5.1).
pub(super) fn parse_header_name(name: &str) -> Result<String, String> {
    if name.is_empty() || !name.bytes().all(crate::http::is_tchar) {
        return Err("must be a header name such as X-Forwarded-For".to_string());
    }
    Ok(name.to_string())
}

/// An index name is one plain file name: no separators, not `.` or `..`.
pub(super) fn parse_index_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err("must be a plain file name such as index.html".to_string());
    }
    Ok(name.to_string())
}

/// A URL path to protect, as the `relative()` form of its normalised path (so it matches the
/// paths requests are judged on): `/private/` and `/a/../private` are `private`.
pub(super) fn parse_auth_path(value: &str) -> Result<Vec<u8>, String> {
    let mut buffer = Vec::new();
    crate::http::path::normalize(value.as_bytes(), &mut buffer)
        .map(|path| path.relative().to_vec())
        .map_err(|_| "must be a URL path starting with /, e.g. /private".to_string())
}

/// A realm goes inside a quoted string (RFC 7617 §2): no `"`, `\\` or control character.
pub(super) fn parse_realm(value: &str) -> Result<String, String> {
    if value.is_empty()
        || !value
            .bytes()
            .all(|b| (b == b' ' || b.is_ascii_graphic()) && b != b'"' && b != b'\\')
    {
        return Err("must be visible ASCII characters and spaces, without \" or \\".to_string());
    }
    Ok(value.to_string())
}
