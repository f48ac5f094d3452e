//! Accept (RFC 9110 §12.5.1): which of two media types a client prefers.
//!
//! Only what a directory listing needs: whether `application/json` outweighs `text/html`.
//! A missing or malformed header, or a tie (`*/*` alone), keeps HTML, the representation
//! a browser expects. And what `--fallback` needs: whether a request names HTML itself.

use super::encoding::parse_qvalue;
use super::trim_ows;

/// Whether the client gives `application/json` a higher weight than `text/html`.
pub fn prefers_json(accept: &[u8]) -> bool {
    match (
        weight(accept, b"application", b"json"),
        weight(accept, b"text", b"html"),
    ) {
        (Some((_, json)), Some((_, html))) => json > html,
        _ => false,
    }
}

/// Whether `text/html` itself is named with a weight above 0, as a browser's navigation
/// names it. `*/*` and `text/*` do not count: scripts, images and `fetch()` send those.
pub fn names_html(accept: &[u8]) -> bool {
    matches!(weight(accept, b"text", b"html"), Some((EXACT, q)) if q > 0)
}

/// The specificity of a range naming the type and subtype themselves.
const EXACT: u8 = 3;

/// The specificity and weight (in thousandths) of `kind/subtype`: those of the most specific
/// range that matches it (`type/subtype` over `type/*` over `*/*`, §12.5.1), else `(0, 0)`.
/// `None` when an element does not parse.
fn weight(accept: &[u8], kind: &[u8], subtype: &[u8]) -> Option<(u8, u16)> {
    // (specificity, q) of the best match so far; specificity 3 = exact, 2 = type/*, 1 = */*.
    let mut best: Option<(u8, u16)> = None;
    for element in accept.split(|&b| b == b',') {
        let mut params = element.split(|&b| b == b';');
        let range = trim_ows(params.next().unwrap_or_default());
        if range.is_empty() {
            continue;
        }
        let slash = range.iter().position(|&b| b == b'/')?;
        let (range_kind, range_subtype) = (&range[..slash], &range[slash + 1..]);
        let specificity = match (range_kind, range_subtype) {
            (b"*", b"*") => 1,
            (k, b"*") if k.eq_ignore_ascii_case(kind) => 2,
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => EXACT,
            _ => continue,
        };
        // Media-type parameters other than q do not change which type is meant here.
        let mut q = 1000;
        for param in params.map(trim_ows) {
            if let Some(value) = param
                .strip_prefix(b"q=")
                .or_else(|| param.strip_prefix(b"Q="))
            {
                q = parse_qvalue(value)?;
            }
        }
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    Some(best.unwrap_or((0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_only_when_weighed_above_html() {
        let table: &[(&str, bool)] = &[
            ("application/json", true),
            ("application/*", true),
            ("application/json, text/html", false),
            ("text/html, application/json;q=0.9", false),
            ("text/html;q=0.5, application/json", true),
            ("*/*", false),
            ("*/*;q=0.1, application/json", true),
            ("application/json;q=0, */*", false),
            ("text/*;q=0.2, application/json;q=0.3", true),
            ("APPLICATION/JSON; charset=utf-8", true),
            ("text/html, */*;q=0.8", false),
            ("application/json;q=2", false),
            ("nonsense", false),
            ("", false),
        ];
        for &(accept, json) in table {
            assert_eq!(prefers_json(accept.as_bytes()), json, "{accept:?}");
        }
    }

    #[test]
    fn html_only_when_named_itself() {
        let table: &[(&str, bool)] = &[
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                true,
            ),
            ("TEXT/HTML", true),
            ("text/html;q=0.1", true),
            ("text/html;q=0", false),
            ("*/*", false),
            ("text/*", false),
            ("image/avif,image/webp,*/*;q=0.8", false),
            ("application/json", false),
            ("text/html;q=nonsense", false),
            ("", false),
        ];
        for &(accept, html) in table {
            assert_eq!(names_html(accept.as_bytes()), html, "{accept:?}");
        }
    }
}
