//! Directory listings for `--autoindex`: a directory's entries as an HTML page (`html`) or,
//! for a client that prefers it, a JSON array (`json`); two representations of one URL.
//!
//! A listing is a pure function of an open directory and owned `Options` (both `Send`): it
//! touches nothing of the loop, so it can be built on any thread.
//!
//! Invariants:
//! - the directory is read through the fd opened beneath the root, never by path, so what is
//!   listed is what was checked; each entry is lstat'ed through that fd too;
//! - an entry is listed only if a request for it would be served: dotfiles only with
//!   `--serve-hidden`; regular files and directories only (no FIFO, socket or device); a
//!   symlink only if the site's own rule (`files::Links`, the one serving uses) accepts where
//!   it leads, and it is shown as what it leads to;
//! - at most `LISTING_MAX_READ` entries are read; all of them are sorted, then the first
//!   `LISTING_MAX_ENTRIES` are shown, and the page says so when entries are left out;
//! - names are bytes on disk: each link is percent-encoded from those bytes (everything but
//!   RFC 3986 unreserved characters, so no name can turn into a scheme, a query or markup).

mod html;
mod json;

use std::cmp::Ordering;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{NON_ALPHANUMERIC, percent_encode};

use crate::http::accept;
use crate::http::date::civil_from_days;
use crate::http::mime::ContentType;
use crate::site::files::{self, Links, Site};

/// A listing shows at most this many entries (after sorting): it bounds the page a browser
/// has to render and the bytes one response holds in memory.
pub const LISTING_MAX_ENTRIES: usize = 2_000;

/// At most this many directory entries are read (and lstat'ed) to build one listing: sorting
/// needs them all, and this bounds the time and memory that takes for a huge directory.
pub const LISTING_MAX_READ: usize = 100_000;

/// Bytes that stay literal in a link: RFC 3986 unreserved.
const LINK_ESCAPES: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Which representation to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
}

/// The column a listing is sorted by (`?sort=name|size|date`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Size,
    Date,
}

/// `?order=asc|desc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

/// Everything a listing depends on besides the directory, owned.
#[derive(Debug)]
pub struct Options {
    /// The URL path of the directory, decoded, without slashes at either end.
    pub url_path: Vec<u8>,
    pub serve_hidden: bool,
    pub format: Format,
    pub sort: SortKey,
    pub order: Order,
    /// How the site judges a symlink.
    pub links: Links,
}

impl Options {
    /// The options for listing `url_path` of `site`, for a request with these Accept header
    /// and query.
    pub fn new(
        site: &Site,
        url_path: &[u8],
        accept: Option<&[u8]>,
        query: Option<&[u8]>,
    ) -> io::Result<Options> {
        let (sort, order) = sort_query(query.unwrap_or_default());
        Ok(Options {
            url_path: url_path.to_vec(),
            serve_hidden: site.serve_hidden(),
            format: match accept.is_some_and(accept::prefers_json) {
                true => Format::Json,
                false => Format::Html,
            },
            sort,
            order,
            links: site.links()?,
        })
    }
}

/// `sort=name|size|date` and `order=asc|desc` from a query; anything else is ignored, and
/// what is missing is name, ascending.
pub fn sort_query(query: &[u8]) -> (SortKey, Order) {
    let (mut sort, mut order) = (SortKey::Name, Order::Asc);
    for pair in query.split(|&b| b == b'&') {
        match pair {
            b"sort=name" => sort = SortKey::Name,
            b"sort=size" => sort = SortKey::Size,
            b"sort=date" => sort = SortKey::Date,
            b"order=asc" => order = Order::Asc,
            b"order=desc" => order = Order::Desc,
            _ => {}
        }
    }
    (sort, order)
}

/// A built listing.
#[derive(Debug)]
pub struct Page {
    pub body: Vec<u8>,
    pub content_type: ContentType,
}

/// What an entry is, or leads to when it is a symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

struct Entry {
    name: Vec<u8>,
    kind: Kind,
    symlink: bool,
    /// Bytes of a file (of the target, for a link); 0 for a directory.
    len: u64,
    modified: Option<SystemTime>,
}

impl Entry {
    /// `./name`, percent-encoded from the bytes on disk, with `/` for a directory.
    fn push_href(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"./");
        for piece in percent_encode(&self.name, LINK_ESCAPES) {
            out.extend_from_slice(piece.as_bytes());
        }
        if self.kind == Kind::Dir {
            out.push(b'/');
        }
    }
}

/// What the renderers are given: the entries shown, in order, and how many there were.
struct Listing<'a> {
    options: &'a Options,
    shown: &'a [Entry],
    /// Entries that could be listed among those read.
    found: usize,
    /// The directory had more than `LISTING_MAX_READ` entries: not all were read.
    unread: bool,
}

/// The listing of `dir` (opened beneath the root) under `options`.
pub fn page(dir: File, options: Options) -> io::Result<Page> {
    let (mut entries, unread) = read_entries(&dir, &options)?;
    sort(&mut entries, options.sort, options.order);
    let found = entries.len();
    entries.truncate(LISTING_MAX_ENTRIES);
    let listing = Listing {
        options: &options,
        shown: &entries,
        found,
        unread,
    };
    Ok(match options.format {
        Format::Html => html::page(&listing),
        Format::Json => json::page(&listing),
    })
}

fn read_entries(dir: &File, options: &Options) -> io::Result<(Vec<Entry>, bool)> {
    let mut entries = Vec::new();
    // `/proc/self/fd/N` names the open directory itself, not a path that could have changed.
    for (read, item) in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))?.enumerate()
    {
        if read == LISTING_MAX_READ {
            return Ok((entries, true));
        }
        let item = item?;
        let name = item.file_name().as_bytes().to_vec();
        // The rule serving uses: `.well-known` at the root is listed, like it is served.
        let segments = options
            .url_path
            .split(|&b| b == b'/')
            .filter(|s| !s.is_empty());
        if !options.serve_hidden && files::hides(segments.chain([name.as_slice()])) {
            continue;
        }
        // An lstat through the directory's fd; an entry removed since is skipped.
        let Ok(metadata) = item.metadata() else {
            continue;
        };
        let symlink = metadata.file_type().is_symlink();
        let metadata = if symlink {
            match follow(options, &name) {
                Some(target) => target,
                None => continue, // dangling, outside the root, or hidden: not served
            }
        } else {
            metadata
        };
        let kind = if metadata.is_dir() {
            Kind::Dir
        } else if metadata.is_file() {
            Kind::File
        } else {
            continue; // a FIFO, socket or device is not served
        };
        entries.push(Entry {
            name,
            kind,
            symlink,
            len: if kind == Kind::File {
                metadata.len()
            } else {
                0
            },
            modified: metadata.modified().ok(),
        });
    }
    Ok((entries, false))
}

/// What the link `name` in the listed directory leads to, if the site would serve it.
fn follow(options: &Options, name: &[u8]) -> Option<Metadata> {
    let mut path = options.url_path.clone();
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    options.links.follow(&path).ok()
}

/// Directories first in every order; then by the key, ties by name, ascending or descending.
fn sort(entries: &mut [Entry], key: SortKey, order: Order) {
    entries.sort_by(|a, b| {
        let by_key = match key {
            SortKey::Name => Ordering::Equal,
            SortKey::Size => a.len.cmp(&b.len),
            SortKey::Date => a.modified.cmp(&b.modified),
        }
        .then_with(|| a.name.cmp(&b.name));
        let by_key = match order {
            Order::Asc => by_key,
            Order::Desc => by_key.reverse(),
        };
        (b.kind == Kind::Dir)
            .cmp(&(a.kind == Kind::Dir))
            .then(by_key)
    });
}

/// Length of an RFC 3339 UTC timestamp such as `2026-12-01T10:00:00Z`.
const RFC3339_LEN: usize = 20;

/// `time` as RFC 3339 in UTC, to the second; `None` outside years 0000 to 9999.
fn rfc3339(time: SystemTime) -> Option<[u8; RFC3339_LEN]> {
    let secs: i64 = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok()?,
        // Before 1970: round down to the whole second.
        Err(before) => {
            let d = before.duration();
            -i64::try_from(d.as_secs()).ok()? - i64::from(d.subsec_nanos() > 0)
        }
    };
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: i64, width: u32| {
        for i in 0..width {
            out[at + i as usize] = b'0' + (value / 10_i64.pow(width - 1 - i) % 10) as u8;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, second_of_day / 3600, 2);
    put(14, second_of_day / 60 % 60, 2);
    put(17, second_of_day % 60, 2);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |secs: i64| {
            let time = match u64::try_from(secs) {
                Ok(after) => UNIX_EPOCH + Duration::from_secs(after),
                Err(_) => UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()),
            };
            rfc3339(time).map(|t| String::from_utf8(t.to_vec()).unwrap())
        };
        assert_eq!(at(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_796_119_200).unwrap(), "2026-12-01T10:00:00Z");
        assert_eq!(at(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(at(-1).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(at(253_402_300_799).unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(at(253_402_300_800), None);
    }

    #[test]
    fn sort_query_ignores_what_it_does_not_know() {
        assert_eq!(sort_query(b""), (SortKey::Name, Order::Asc));
        assert_eq!(
            sort_query(b"sort=size&order=desc"),
            (SortKey::Size, Order::Desc)
        );
        assert_eq!(
            sort_query(b"order=desc&sort=date"),
            (SortKey::Date, Order::Desc)
        );
        assert_eq!(
            sort_query(b"sort=SIZE&order=up&x"),
            (SortKey::Name, Order::Asc)
        );
    }
}
