//! `--header` rules: response header fields an operator adds to successful file responses,
//! to all of them or to the URL paths a glob matches.
//!
//! Invariant: every rule was validated when it was parsed (a token name, RFC 9110 §5.6.2; a
//! value of visible ASCII, spaces and tabs, so no CR, LF or NUL can split a response; none of
//! the fields the server writes itself), and its line is rendered once, at start. Matching a
//! request gives a bit set, `Matched`, so answering allocates nothing.

use super::glob::Glob;
use super::is_tchar;

/// Most `--header` rules: one bit each in `Matched`.
pub const MAX_HEADER_RULES: usize = 64;

/// Fields an operator may not add, lower case, with why. Framing and hop-by-hop fields
/// (RFC 9112 §6, RFC 9110 §7.6.1) are the server's to decide per connection and message;
/// the others it writes itself for each representation, and a second copy would contradict
/// it.
const REFUSED_FIELDS: [(&str, &str); 15] = [
    ("content-length", "a framing field"),
    ("transfer-encoding", "a framing field"),
    ("content-range", "a framing field"),
    ("connection", "a hop-by-hop field"),
    ("keep-alive", "a hop-by-hop field"),
    ("proxy-connection", "a hop-by-hop field"),
    ("te", "a hop-by-hop field"),
    ("trailer", "a hop-by-hop field"),
    ("upgrade", "a hop-by-hop field"),
    ("date", "written by the server"),
    ("server", "written by the server"),
    ("content-type", "written by the server for each file"),
    ("content-encoding", "written by the server for each file"),
    ("etag", "written by the server for each file"),
    ("last-modified", "written by the server for each file"),
];

/// One `--header`: `Name: value` or `GLOB Name: value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderRule {
    /// `None`: every successful file response.
    glob: Option<Glob>,
    /// `\r\nName: value`, as written into a head.
    line: Box<[u8]>,
}

impl HeaderRule {
    /// A rule from `--header`'s value. `Name: value` when the text before the first `:` is a
    /// token; otherwise a glob, one space, then `Name: value`.
    pub fn parse(spec: &str) -> Result<HeaderRule, String> {
        let plain = spec
            .split_once(':')
            .is_some_and(|(name, _)| !name.is_empty() && name.bytes().all(is_tchar));
        let (glob, field) = if plain {
            (None, spec)
        } else {
            let (glob, field) = spec
                .split_once(' ')
                .ok_or("expected 'Name: value' or 'GLOB Name: value'")?;
            (Some(Glob::parse(glob)?), field)
        };
        Ok(HeaderRule {
            glob,
            line: field_line(field)?,
        })
    }

    /// A rule for every successful file response, from a value already known to be valid
    /// (`--cache-control`).
    pub fn global(name: &str, value: &str) -> Result<HeaderRule, String> {
        Ok(HeaderRule {
            glob: None,
            line: field_line(&format!("{name}: {value}"))?,
        })
    }
}

/// `Name: value` checked, as `\r\nName: value`.
/// Whether `value` may be sent as a header field's value as it is: not empty, visible ASCII,
/// spaces and tabs (RFC 9110 §5.5, without obs-text), so no CR, LF or NUL can split a head.
pub fn is_field_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
}

fn field_line(field: &str) -> Result<Box<[u8]>, String> {
    let (name, value) = field
        .split_once(':')
        .ok_or("expected 'Name: value' after the glob")?;
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(format!(
            "{name:?} is not a header name (a token, RFC 9110 §5.6.2)"
        ));
    }
    if let Some((_, why)) = REFUSED_FIELDS
        .iter()
        .find(|(refused, _)| name.eq_ignore_ascii_case(refused))
    {
        return Err(format!("{name} may not be set: {why}"));
    }
    let value = value.trim_matches([' ', '\t']);
    if !is_field_value(value) {
        return Err(format!(
            "the value of {name} must be visible ASCII characters, spaces and tabs"
        ));
    }
    Ok(format!("\r\n{name}: {value}").into_bytes().into())
}

/// The rules, in the order given; at most `MAX_HEADER_RULES`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderRules {
    rules: Vec<HeaderRule>,
    /// The file that serves a path ending in `/` (`--index`): globs see it as the file name.
    index_name: Box<[u8]>,
}

/// Which rules apply to one response: bit `i` for rule `i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Matched(u64);

impl Matched {
    pub const NONE: Matched = Matched(0);
}

impl HeaderRules {
    pub fn new(rules: Vec<HeaderRule>, index_name: &str) -> Result<HeaderRules, String> {
        if rules.len() > MAX_HEADER_RULES {
            return Err(format!("at most {MAX_HEADER_RULES} --header rules"));
        }
        Ok(HeaderRules {
            rules,
            index_name: index_name.as_bytes().into(),
        })
    }

    /// The rules for the file served for the normalised URL `path`.
    pub fn matching(&self, path: &[u8]) -> Matched {
        let mut matched = 0;
        for (i, rule) in self.rules.iter().enumerate() {
            let applies = (rule.glob.as_ref()).is_none_or(|g| g.matches(path, &self.index_name));
            matched |= u64::from(applies) << i;
        }
        Matched(matched)
    }

    /// `matched` less the rules that set `Cache-Control`: for a response that must say
    /// `private` instead (one given to credentials, RFC 9111 §3.5).
    pub fn without_cache_control(&self, matched: Matched) -> Matched {
        let mut kept = matched.0;
        for (i, rule) in self.rules.iter().enumerate() {
            let name = rule.line.get(2..).unwrap_or_default();
            if name.len() > 14 && name[..14].eq_ignore_ascii_case(b"cache-control:") {
                kept &= !(1u64 << i);
            }
        }
        Matched(kept)
    }

    /// Appends the matched rules' lines, each `\r\nName: value`.
    pub fn write(&self, matched: Matched, out: &mut Vec<u8>) {
        for (i, rule) in self.rules.iter().enumerate() {
            if matched.0 & (1u64 << i) != 0 {
                out.extend_from_slice(&rule.line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(specs: &[&str], path: &str) -> String {
        let rules = specs
            .iter()
            .map(|s| HeaderRule::parse(s).unwrap())
            .collect();
        let rules = HeaderRules::new(rules, "index.html").unwrap();
        let mut out = Vec::new();
        rules.write(rules.matching(path.as_bytes()), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn field_values() {
        for (value, ok) in [
            ("public, max-age=60", true),
            ("a\tb", true),
            ("", false),
            ("a\r\nSet-Cookie: x", false),
            ("a\0b", false),
            ("caf\u{e9}", false),
        ] {
            assert_eq!(is_field_value(value), ok, "{value:?}");
        }
    }

    #[test]
    fn private_responses_drop_cache_control_rules() {
        let rules = [
            "Cache-Control: public, max-age=60",
            "X-A: 1",
            "*.css cache-control: x",
        ]
        .iter()
        .map(|s| HeaderRule::parse(s).unwrap())
        .collect();
        let rules = HeaderRules::new(rules, "index.html").unwrap();
        let mut out = Vec::new();
        let matched = rules.matching(b"/a.css");
        rules.write(rules.without_cache_control(matched), &mut out);
        assert_eq!(out, b"\r\nX-A: 1");
    }

    #[test]
    fn global_and_globbed() {
        let specs = [
            "X-A: 1",
            "*.css Cache-Control: max-age=31536000",
            "/assets/** X-Frame-Options:DENY",
            "/a:b/* X-Colon: yes",
        ];
        assert_eq!(rendered(&specs, "/a.txt"), "\r\nX-A: 1");
        assert_eq!(
            rendered(&specs, "/assets/s.css"),
            "\r\nX-A: 1\r\nCache-Control: max-age=31536000\r\nX-Frame-Options: DENY"
        );
        assert_eq!(rendered(&specs, "/a:b/c"), "\r\nX-A: 1\r\nX-Colon: yes");
    }

    #[test]
    fn refused() {
        for spec in [
            "X-A",
            ": v",
            "X\tA: v",
            "X-A: ",
            "X-A: a\r\nSet-Cookie: b",
            "X-A: a\nb",
            "X-A: a\0",
            "X-A: é",
            "Content-Length: 5",
            "transfer-encoding: chunked",
            "Connection: close",
            "*.css Date: x",
            "*.css",
            "assets/* X: y",
            "*.css  X: y",
        ] {
            assert!(HeaderRule::parse(spec).is_err(), "{spec:?}");
        }
        let many = vec![HeaderRule::parse("X: y").unwrap(); MAX_HEADER_RULES + 1];
        assert!(HeaderRules::new(many, "index.html").is_err());
    }
}
