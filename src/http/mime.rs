//! File name → Content-Type, from mime_guess's table (the types nginx's mime.types covers).

/// A media type and whether it is text that tinyhttpd labels as UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub essence: &'static str,
    pub utf8: bool,
}

/// What a file with no known extension is sent as, unless `--default-type` says otherwise.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

impl ContentType {
    pub fn new(essence: &'static str) -> ContentType {
        ContentType {
            essence,
            utf8: is_text(essence),
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
