//! File name → Content-Type, from mime_guess's table (the types nginx's mime.types covers).

/// A media type, whether it is text that tinyhttpd labels as UTF-8, and whether it is worth
/// compressing on the fly: both judged once, when the type is found for a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub essence: &'static str,
    pub utf8: bool,
    pub compressible: bool,
}

/// What a file with no known extension is sent as, unless `--default-type` says otherwise.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

impl ContentType {
    pub fn new(essence: &'static str) -> ContentType {
        ContentType {
            essence,
            utf8: is_text(essence),
            compressible: is_compressible(essence),
        }
    }
}

/// The type for a file name (bytes, as on disk), judged by its extension; `None` when the
/// extension is missing or unknown.
pub fn content_type(file_name: &[u8]) -> Option<ContentType> {
    file_name
        .iter()
        .rposition(|&b| b == b'.')
        .and_then(|dot| std::str::from_utf8(&file_name[dot + 1..]).ok())
        .and_then(|ext| mime_guess::from_ext(ext).first_raw())
        .map(ContentType::new)
}

/// Whether a response of this media type is worth compressing: text and other formats that
/// are not compressed already. An allow-list, because an unknown type is more likely binary.
/// Parameters (`; charset=utf-8`) are ignored; types are case-insensitive (RFC 9110 §8.3.1).
pub fn is_compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_matches([' ', '\t']);
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    if kind.eq_ignore_ascii_case("text") {
        return true;
    }
    // Structured syntax suffixes (RFC 6839): image/svg+xml, application/ld+json, ...
    let suffix = subtype.rsplit_once('+').map(|(_, suffix)| suffix);
    if suffix.is_some_and(|s| s.eq_ignore_ascii_case("xml") || s.eq_ignore_ascii_case("json")) {
        return true;
    }
    const COMPRESSIBLE: &[&str] = &[
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/json",
        "application/xml",
        "application/wasm",
        "application/vnd.ms-fontobject",
        "application/x-font-ttf",
        "application/x-font-otf",
        "font/ttf",
        "font/otf",
        "font/collection",
        "image/bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
    ];
    COMPRESSIBLE.iter().any(|t| t.eq_ignore_ascii_case(essence))
}

/// Types whose charset parameter means something: browsers otherwise guess, often wrongly.
fn is_text(essence: &str) -> bool {
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/xhtml+xml"
                | "application/rss+xml"
                | "application/atom+xml"
                | "application/manifest+json"
                | "image/svg+xml"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_types() {
        let table: &[(&[u8], &str, bool)] = &[
            (b"index.html", "text/html", true),
            (b"style.css", "text/css", true),
            (b"app.js", "text/javascript", true),
            (b"logo.svg", "image/svg+xml", true),
            (b"photo.JPG", "image/jpeg", false),
            (b"data.json", "application/json", true),
            (b"archive.tar.gz", "application/gzip", false),
            (b"README", DEFAULT_TYPE, false),
            (b"weird.\xff", DEFAULT_TYPE, false),
        ];
        for &(name, essence, utf8) in table {
            let got = content_type(name).unwrap_or(ContentType::new(DEFAULT_TYPE));
            assert_eq!(got.essence, essence, "{:?}", String::from_utf8_lossy(name));
            assert_eq!(got.utf8, utf8, "{:?}", String::from_utf8_lossy(name));
        }
    }
}
