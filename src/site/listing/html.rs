//! The HTML listing: a table of links, sizes and dates, with column headers that sort, and
//! a footer that says how many entries there were. Self-contained: inline CSS, no scripts,
//! nothing fetched. Every name is HTML-escaped (shown as lossy UTF-8); links come from
//! `Entry::push_href`, so they point at the bytes on disk.

use super::{Entry, Kind, LISTING_MAX_READ, Listing, Order, Page, SortKey, rfc3339};
use crate::http::response;

const STYLE: &[u8] = b"<style>\
body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}\
h1{font-size:1.4em;font-weight:600;word-break:break-all}\
table{border-collapse:collapse;width:100%}\
th,td{padding:.3em .8em;text-align:left;border-bottom:1px solid #e4e4e4}\
th{background:#f4f5f7}th a{color:#222}\
tr:hover td{background:#f8f9fb}\
td.name{word-break:break-all}td.size,th.size{text-align:right;white-space:nowrap}\
td.date{white-space:nowrap;color:#555}\
a{color:#0550ae;text-decoration:none}a:hover{text-decoration:underline}\
.link{color:#888}p.note{color:#666;font-size:.9em}\
</style>";

/// Units of a human-readable size, each 1024 times the previous (IEC binary prefixes).
const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

pub(super) fn page(listing: &Listing<'_>) -> Page {
    let options = listing.options;
    let mut title = b"Index of /".to_vec();
    title.extend_from_slice(&options.url_path);
    if !options.url_path.is_empty() {
        title.push(b'/');
    }
    let mut html = Vec::with_capacity(2048 + listing.shown.len() * 200);
    html.extend_from_slice(
        b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
          <meta name=\"viewport\" content=\"width=device-width\"><title>",
    );
    escape_lossy(&mut html, &title);
    html.extend_from_slice(b"</title>\n");
    html.extend_from_slice(STYLE);
    html.extend_from_slice(b"</head>\n<body><h1>");
    escape_lossy(&mut html, &title);
    html.extend_from_slice(b"</h1>\n<table>\n<thead><tr>");
    header(&mut html, listing, SortKey::Name, "Name", "");
    header(&mut html, listing, SortKey::Size, "Size", " class=\"size\"");
    header(&mut html, listing, SortKey::Date, "Modified (UTC)", "");
    html.extend_from_slice(b"</tr></thead>\n<tbody>\n");
    if !options.url_path.is_empty() {
        html.extend_from_slice(
            b"<tr><td class=\"name\"><a href=\"../\">../</a></td><td></td><td></td></tr>\n",
        );
    }
    for entry in listing.shown {
        row(&mut html, entry);
    }
    html.extend_from_slice(b"</tbody>\n</table>\n<p class=\"note\">");
    footer(&mut html, listing);
    html.extend_from_slice(b"</p>\n</body></html>\n");
    Page {
        body: html,
        content_type: response::HTML,
    }
}

/// A column header: a link that sorts by it, ascending, or the other way if it already does.
fn header(html: &mut Vec<u8>, listing: &Listing<'_>, key: SortKey, label: &str, class: &str) {
    let options = listing.options;
    let current = options.sort == key;
    let next = match (current, options.order) {
        (true, Order::Asc) => "desc",
        _ => "asc",
    };
    let key_name = match key {
        SortKey::Name => "name",
        SortKey::Size => "size",
        SortKey::Date => "date",
    };
    let arrow = match (current, options.order) {
        (false, _) => "",
        (true, Order::Asc) => " \u{25B2}",
        (true, Order::Desc) => " \u{25BC}",
    };
    for piece in [
        "<th",
        class,
        "><a class=\"sort\" href=\"?sort=",
        key_name,
        "&amp;order=",
        next,
        "\">",
        label,
        arrow,
        "</a></th>",
    ] {
        html.extend_from_slice(piece.as_bytes());
    }
}

fn row(html: &mut Vec<u8>, entry: &Entry) {
    html.extend_from_slice(b"<tr><td class=\"name\"><a href=\"");
    entry.push_href(html);
    html.extend_from_slice(b"\">");
    escape_lossy(html, &entry.name);
    if entry.kind == Kind::Dir {
        html.push(b'/');
    }
    html.extend_from_slice(b"</a>");
    if entry.symlink {
        html.extend_from_slice(b" <span class=\"link\" title=\"symbolic link\">&#8618;</span>");
    }
    html.extend_from_slice(b"</td><td class=\"size\"");
    match entry.kind {
        Kind::Dir => html.extend_from_slice(b">&#8212;"),
        Kind::File => {
            html.extend_from_slice(b" title=\"");
            html.extend_from_slice(itoa::Buffer::new().format(entry.len).as_bytes());
            html.extend_from_slice(b" bytes\">");
            human_size(html, entry.len);
        }
    }
    html.extend_from_slice(b"</td><td class=\"date\">");
    if let Some(stamp) = entry.modified.and_then(rfc3339) {
        // `2026-12-01T10:00:00Z` shown as `2026-12-01 10:00`.
        html.extend_from_slice(b"<time datetime=\"");
        html.extend_from_slice(&stamp);
        html.extend_from_slice(b"\">");
        html.extend_from_slice(&stamp[..10]);
        html.push(b' ');
        html.extend_from_slice(&stamp[11..16]);
        html.extend_from_slice(b"</time>");
    }
    html.extend_from_slice(b"</td></tr>\n");
}

fn footer(html: &mut Vec<u8>, listing: &Listing<'_>) {
    let shown = listing.shown.len();
    let mut count = itoa::Buffer::new();
    if shown < listing.found {
        html.extend_from_slice(b"Showing ");
        html.extend_from_slice(count.format(shown).as_bytes());
        html.extend_from_slice(b" of ");
    }
    html.extend_from_slice(count.format(listing.found).as_bytes());
    html.extend_from_slice(if listing.found == 1 {
        b" entry.".as_slice()
    } else {
        b" entries."
    });
    if listing.unread {
        html.extend_from_slice(b" The directory holds more than ");
        html.extend_from_slice(count.format(LISTING_MAX_READ).as_bytes());
        html.extend_from_slice(b" entries; only that many were read and sorted.");
    }
}

/// `len` bytes for a reader: `512 B`, `1.5 KiB`, `23 MiB` (one decimal below 10 units).
fn human_size(html: &mut Vec<u8>, len: u64) {
    let len = u128::from(len);
    let (mut unit, mut scale) = (0, 1u128);
    // The next unit once this one would show 1024 or more: from 1023.5 on, it rounds up.
    while unit + 1 < UNITS.len() && len * 2 >= scale * if unit == 0 { 2048 } else { 2047 } {
        unit += 1;
        scale *= 1024;
    }
    let mut number = itoa::Buffer::new();
    let tenths = (len * 10 + scale / 2) / scale;
    if unit == 0 {
        html.extend_from_slice(number.format(len).as_bytes());
    } else if tenths < 100 {
        html.extend_from_slice(number.format(tenths / 10).as_bytes());
        html.push(b'.');
        html.extend_from_slice(number.format(tenths % 10).as_bytes());
    } else {
        html.extend_from_slice(number.format((len * 2 + scale) / (scale * 2)).as_bytes());
    }
    html.push(b' ');
    html.extend_from_slice(UNITS[unit].as_bytes());
}

/// `text` as lossy UTF-8 (an invalid byte shows as U+FFFD), HTML-escaped.
fn escape_lossy(out: &mut Vec<u8>, text: &[u8]) {
    for c in String::from_utf8_lossy(text).chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&#39;"),
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_binary_units() {
        let table: &[(u64, &str)] = &[
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (10 * 1024 - 1, "10 KiB"),
            (1024 * 1024 - 1, "1.0 MiB"),
            (23 * 1024 * 1024 + 100, "23 MiB"),
            (u64::MAX, "16 EiB"),
        ];
        for &(len, want) in table {
            let mut out = Vec::new();
            human_size(&mut out, len);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{len}");
        }
    }
}
