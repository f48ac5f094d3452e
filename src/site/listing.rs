//! Directory listings for `--autoindex`: a plain HTML page of a directory's entries,
//! directories first, then files, each sorted by name.
//!
//! Names are bytes on disk: each link is percent-encoded from those bytes (everything but
//! unreserved characters, so no name can turn into a scheme, a query or markup), and each
//! displayed name is HTML-escaped. The directory is read through the fd that was opened
//! beneath the root, never by path, so what is listed is what was checked.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::SystemTime;

use percent_encoding::{NON_ALPHANUMERIC, percent_encode};

use crate::http::date;

/// A listing stops after this many entries, with a note: it is built on the loop thread (an
/// lstat per entry), so this bounds how long one listing holds every other connection.
pub const LISTING_MAX_ENTRIES: usize = 2_000;

/// Bytes that stay literal in a link: RFC 3986 unreserved.
const LINK_ESCAPES: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    len: u64,
    modified: Option<SystemTime>,
}

/// The listing page for `dir`, whose URL path (decoded, without slashes at either end) is
/// `url_path`.
pub fn page(dir: &File, url_path: &[u8], serve_hidden: bool) -> io::Result<Vec<u8>> {
    let (mut entries, truncated) = read_entries(dir, serve_hidden)?;
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));

    let mut title = b"Index of /".to_vec();
    title.extend_from_slice(url_path);
    if !url_path.is_empty() {
        title.push(b'/');
    }
    let mut html = Vec::with_capacity(512 + entries.len() * 160);
    html.extend_from_slice(b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    escape_html(&mut html, &title);
    html.extend_from_slice(
        b"</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em}\
          td,th{padding:.15em 1.5em .15em 0;text-align:left}td.size{text-align:right}</style>\
          </head>\n<body><h1>",
    );
    escape_html(&mut html, &title);
    html.extend_from_slice(
        b"</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n",
    );
    if !url_path.is_empty() {
        html.extend_from_slice(b"<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in &entries {
        row(&mut html, entry);
    }
    html.extend_from_slice(b"</table>\n");
    if truncated {
        html.extend_from_slice(b"<p>Only the first ");
        html.extend_from_slice(itoa::Buffer::new().format(LISTING_MAX_ENTRIES).as_bytes());
        html.extend_from_slice(b" entries are listed.</p>\n");
    }
    html.extend_from_slice(b"</body></html>\n");
    Ok(html)
}

fn read_entries(dir: &File, serve_hidden: bool) -> io::Result<(Vec<Entry>, bool)> {
    let mut entries = Vec::new();
    for item in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        let item = item?;
        let name = item.file_name().as_bytes().to_vec();
        if !serve_hidden && name.starts_with(b".") {
            continue;
        }
        if entries.len() == LISTING_MAX_ENTRIES {
            return Ok((entries, true));
        }
        // lstat: a symlink is listed as itself; following it is left to the request for it,
        // which applies the symlink policy.
        let Ok(metadata) = item.metadata() else {
            continue; // removed since the directory was read
        };
        entries.push(Entry {
            name,
            is_dir: metadata.is_dir(),
            len: metadata.len(),
            modified: metadata.modified().ok(),
        });
    }
    Ok((entries, false))
}

fn row(html: &mut Vec<u8>, entry: &Entry) {
    let slash: &[u8] = if entry.is_dir { b"/" } else { b"" };
    html.extend_from_slice(b"<tr><td><a href=\"./");
    for piece in percent_encode(&entry.name, LINK_ESCAPES) {
        html.extend_from_slice(piece.as_bytes());
    }
    html.extend_from_slice(slash);
    html.extend_from_slice(b"\">");
    escape_html(
        html,
        &String::from_utf8_lossy(&entry.name)
            .into_owned()
            .into_bytes(),
    );
    html.extend_from_slice(slash);
    html.extend_from_slice(b"</a></td><td class=\"size\">");
    if entry.is_dir {
        html.push(b'-');
    } else {
        html.extend_from_slice(itoa::Buffer::new().format(entry.len).as_bytes());
    }
    html.extend_from_slice(b"</td><td>");
    if let Some(modified) = entry.modified.and_then(date::render) {
        html.extend_from_slice(&modified);
    }
    html.extend_from_slice(b"</td></tr>\n");
}

fn escape_html(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_sorted_directories_first() {
        let dir = std::env::temp_dir().join(format!("tinyhttpd-listing-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("zdir")).unwrap();
        std::fs::create_dir_all(dir.join("adir")).unwrap();
        for name in ["b <&>\"'.txt", "a b.txt", "café.txt", ".hidden", "x:y"] {
            std::fs::write(dir.join(name), b"12345").unwrap();
        }
        let page = page(&File::open(&dir).unwrap(), b"docs", false).unwrap();
        let text = String::from_utf8(page).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(text.contains("<title>Index of /docs/</title>"));
        assert!(
            text.contains(
                "<a href=\"./b%20%3C%26%3E%22%27.txt\">b &lt;&amp;&gt;&quot;&#39;.txt</a>"
            )
        );
        assert!(text.contains("<a href=\"./a%20b.txt\">a b.txt</a>"));
        assert!(text.contains("<a href=\"./caf%C3%A9.txt\">café.txt</a>"));
        assert!(text.contains("<a href=\"./x%3Ay\">x:y</a>"));
        assert!(text.contains("<td class=\"size\">5</td>"));
        assert!(!text.contains("hidden"));
        let order: Vec<usize> = ["./adir/", "./zdir/", "./a%20b.txt", "./b%20", "./caf"]
            .iter()
            .map(|needle| text.find(needle).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    }
}
