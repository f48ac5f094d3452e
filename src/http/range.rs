//! The `Range` header for bytes (RFC 9110 §14.1–14.2), resolved against a file length.
//!
//! Numbers are `1*DIGIT`, overflow-checked. A header we cannot parse is ignored (the whole
//! file is sent, §14.2). Satisfiable ranges are sorted and overlapping or adjacent ones are
//! coalesced (§14.3 allows it), so a list of ranges can never make a response larger than
//! the file plus part headers; more than `MAX_RANGES` ranges is treated as unparseable, as a
//! defence against requests built to make many tiny parts.

use super::trim_ows;

/// More ranges than this in one header are ignored.
pub const MAX_RANGES: usize = 16;

/// One satisfiable range: first and last byte, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn byte_count(self) -> u64 {
        self.last - self.first + 1
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable Range header: send the whole representation with 200.
    Whole,
    /// Ranges to send with 206, sorted and disjoint (at least one).
    Satisfiable(Vec<ByteRange>),
    /// Valid syntax, but no range overlaps the content: 416.
    Unsatisfiable,
}

/// Resolves a Range header value against a representation of `len` bytes.
pub fn resolve(value: &[u8], len: u64) -> RangeRequest {
    let Some(specs) = strip_unit(value) else {
        return RangeRequest::Whole;
    };
    let mut ranges = Vec::new();
    let mut count = 0;
    for spec in specs.split(|&b| b == b',').map(trim_ows) {
        if spec.is_empty() {
            continue; // RFC 9110 §5.6.1: empty list elements are ignored
        }
        count += 1;
        if count > MAX_RANGES {
            return RangeRequest::Whole;
        }
        match parse_spec(spec, len) {
            Spec::Invalid => return RangeRequest::Whole,
            Spec::Unsatisfiable => {}
            Spec::Range(range) => ranges.push(range),
        }
    }
    if count == 0 {
        return RangeRequest::Whole;
    }
    if ranges.is_empty() {
        return RangeRequest::Unsatisfiable;
    }
    ranges.sort_by_key(|r| r.first);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(prev) if range.first <= prev.last.saturating_add(1) => {
                prev.last = prev.last.max(range.last);
            }
            _ => merged.push(range),
        }
    }
    RangeRequest::Satisfiable(merged)
}

/// `bytes=` (the unit is case-insensitive, §14.1), returning the range list after it.
fn strip_unit(value: &[u8]) -> Option<&[u8]> {
    let value = trim_ows(value);
    let (unit, rest) = value.split_at_checked(6)?;
    unit.eq_ignore_ascii_case(b"bytes=").then_some(rest)
}

enum Spec {
    Invalid,
    Unsatisfiable,
    Range(ByteRange),
}

fn parse_spec(spec: &[u8], len: u64) -> Spec {
    let Some(dash) = spec.iter().position(|&b| b == b'-') else {
        return Spec::Invalid;
    };
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    match (parse_digits(first), parse_digits(last)) {
        // `-n`: the last n bytes.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                Spec::Unsatisfiable
            } else {
                Spec::Range(ByteRange {
                    first: len - suffix.min(len),
                    last: len - 1,
                })
            }
        }
        // `a-`: from a to the end.
        (Some(first), None) if last.is_empty() => satisfiable(first, u64::MAX, len),
        (Some(first), Some(last)) if first <= last => satisfiable(first, last, len),
        _ => Spec::Invalid,
    }
}

fn satisfiable(first: u64, last: u64, len: u64) -> Spec {
    if first >= len {
        Spec::Unsatisfiable
    } else {
        Spec::Range(ByteRange {
            first,
            last: last.min(len - 1),
        })
    }
}

/// `1*DIGIT` as a u64; `None` if empty, not all digits, or too large.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(list: &[(u64, u64)]) -> RangeRequest {
        RangeRequest::Satisfiable(
            list.iter()
                .map(|&(first, last)| ByteRange { first, last })
                .collect(),
        )
    }

    #[test]
    fn table() {
        use RangeRequest::*;
        let table: &[(&str, u64, RangeRequest)] = &[
            ("bytes=0-0", 10, ranges(&[(0, 0)])),
            ("bytes=0-9", 10, ranges(&[(0, 9)])),
            ("bytes=0-99", 10, ranges(&[(0, 9)])),
            ("bytes=5-", 10, ranges(&[(5, 9)])),
            ("bytes=-3", 10, ranges(&[(7, 9)])),
            ("bytes=-30", 10, ranges(&[(0, 9)])),
            ("Bytes = 1-2", 10, Whole),
            ("BYTES=1-2", 10, ranges(&[(1, 2)])),
            ("bytes= 1-2 , 4-5 ", 10, ranges(&[(1, 2), (4, 5)])),
            ("bytes=4-5,1-2", 10, ranges(&[(1, 2), (4, 5)])),
            ("bytes=0-4,2-6", 10, ranges(&[(0, 6)])),
            ("bytes=0-4,5-6", 10, ranges(&[(0, 6)])),
            ("bytes=0-1,,3-4", 10, ranges(&[(0, 1), (3, 4)])),
            ("bytes=0-1,20-30", 10, ranges(&[(0, 1)])),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20,30-40", 10, Unsatisfiable),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=5-4", 10, Whole),
            ("bytes=+1-2", 10, Whole),
            ("bytes=1-+2", 10, Whole),
            ("bytes=0x1-2", 10, Whole),
            ("bytes=1", 10, Whole),
            ("bytes=-", 10, Whole),
            ("bytes=", 10, Whole),
            ("bytes=,", 10, Whole),
            ("items=0-1", 10, Whole),
            ("bytes=99999999999999999999-", 10, Whole),
            ("bytes=0-99999999999999999999", 10, Whole),
            ("bytes=1-2;x", 10, Whole),
        ];
        for (value, len, want) in table {
            assert_eq!(&resolve(value.as_bytes(), *len), want, "{value} / {len}");
        }
    }

    #[test]
    fn too_many_ranges_are_ignored() {
        let many: Vec<String> = (0..=MAX_RANGES)
            .map(|i| format!("{}-{}", i * 2, i * 2))
            .collect();
        let value = format!("bytes={}", many.join(","));
        assert_eq!(resolve(value.as_bytes(), 1000), RangeRequest::Whole);
        let value = format!("bytes={}", many[..MAX_RANGES].join(","));
        assert!(
            matches!(resolve(value.as_bytes(), 1000), RangeRequest::Satisfiable(r) if r.len() == MAX_RANGES)
        );
    }
}
