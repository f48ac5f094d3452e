//! A strict, incremental decoder for the chunked transfer coding (RFC 9112 §7.1) that
//! discards what it decodes: a static server reads request bodies only to keep framing intact.
//!
//! Strict where leniency has enabled request smuggling: chunk-size is `1*HEXDIG` with an
//! overflow check, whitespace is allowed only before `;` of an extension, extensions are
//! token or quoted-string, every line ends in CRLF (a bare LF is an error, never a line end),
//! and the data of each chunk must be followed by CRLF. Trailer fields are read with the same
//! rules as header lines and dropped.

use super::{Status, is_tchar};

/// The longest chunk-size line, extensions included, and the longest trailer section.
const MAX_LINE_BYTES: usize = 4096;
const MAX_TRAILER_BYTES: usize = 8192;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits; `digits` counts them so an empty size is caught.
    Size {
        digits: u32,
    },
    /// Whitespace after the size or an extension, before `;` or CR.
    SizeSpace,
    /// After `;`: optional whitespace, then the extension name.
    ExtNameStart,
    ExtName,
    /// After the name: optional whitespace, then `=`, `;` or CR.
    ExtAfterName,
    /// After `=`: optional whitespace, then a token or a quoted string.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    ExtQuotedEscape,
    /// CR seen at the end of the size line.
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer line (or the final CRLF).
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    FinalLf,
    Done,
}

#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    chunk_len: u64,
    remaining: u64,
    body_len: u64,
    max_body_len: u64,
    line_bytes: usize,
    trailer_bytes: usize,
}

impl ChunkedDecoder {
    /// A decoder that fails with 413 once the decoded body would exceed `max_body_len`.
    pub fn new(max_body_len: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            chunk_len: 0,
            remaining: 0,
            body_len: 0,
            max_body_len,
            line_bytes: 0,
            trailer_bytes: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes bytes of the coded body from `input`; returns how many were used. It stops
    /// right after the final CRLF, so whatever follows belongs to the next request.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, Status> {
        let mut used = 0;
        while used < input.len() && self.state != State::Done {
            if self.state == State::Data {
                let take = usize::try_from(self.remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - used);
                used += take;
                self.remaining -= take as u64;
                if self.remaining == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            self.step(input[used])?;
            used += 1;
        }
        Ok(used)
    }

    fn step(&mut self, b: u8) -> Result<(), Status> {
        use State::*;
        if matches!(
            self.state,
            Size { .. }
                | SizeSpace
                | ExtNameStart
                | ExtName
                | ExtAfterName
                | ExtValueStart
                | ExtToken
                | ExtQuoted
                | ExtQuotedEscape
        ) {
            self.line_bytes += 1;
            if self.line_bytes > MAX_LINE_BYTES {
                return Err(Status::BadRequest);
            }
        }
        if matches!(
            self.state,
            TrailerStart | TrailerName | TrailerValue | TrailerLf
        ) {
            self.trailer_bytes += 1;
            if self.trailer_bytes > MAX_TRAILER_BYTES {
                return Err(Status::HeaderFieldsTooLarge);
            }
        }
        self.state = match (self.state, b) {
            (Size { digits }, _) if b.is_ascii_hexdigit() => {
                let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
                // A size that does not fit in 64 bits is not a size we could ever agree on
                // with another parser: malformed framing (400), not merely a large body (413).
                self.chunk_len = self
                    .chunk_len
                    .checked_mul(16)
                    .and_then(|n| n.checked_add(digit))
                    .ok_or(Status::BadRequest)?;
                Size { digits: digits + 1 }
            }
            (Size { digits: 0 }, _) => return Err(Status::BadRequest),
            (Size { .. } | SizeSpace, b' ' | b'\t') => SizeSpace,
            (Size { .. } | SizeSpace | ExtAfterName | ExtToken, b';') => ExtNameStart,
            (Size { .. } | SizeSpace | ExtAfterName | ExtToken, b'\r') => SizeLf,
            (ExtNameStart, b' ' | b'\t') => ExtNameStart,
            (ExtNameStart | ExtName, _) if is_tchar(b) => ExtName,
            (ExtName | ExtAfterName, b' ' | b'\t') => ExtAfterName,
            (ExtName, b';') => ExtNameStart,
            (ExtName, b'\r') => SizeLf,
            (ExtName | ExtAfterName, b'=') => ExtValueStart,
            (ExtValueStart, b' ' | b'\t') => ExtValueStart,
            (ExtValueStart, b'"') => ExtQuoted,
            (ExtValueStart | ExtToken, _) if is_tchar(b) => ExtToken,
            (ExtToken, b' ' | b'\t') => ExtAfterName,
            (ExtQuoted, b'"') => ExtAfterName,
            (ExtQuoted, b'\\') => ExtQuotedEscape,
            (ExtQuoted, _) if is_qdtext(b) => ExtQuoted,
            (ExtQuotedEscape, _) if b == b'\t' || b == b' ' || is_vchar_or_obs(b) => ExtQuoted,
            (SizeLf, b'\n') => self.start_chunk()?,
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Size { digits: 0 },
            (TrailerStart, b'\r') => FinalLf,
            (TrailerStart | TrailerName, _) if is_tchar(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, _) if b == b'\t' || b == b' ' || is_vchar_or_obs(b) => TrailerValue,
            (TrailerLf, b'\n') => TrailerStart,
            (FinalLf, b'\n') => Done,
            _ => return Err(Status::BadRequest),
        };
        Ok(())
    }

    /// The size line is complete: start its data, or the trailer section after the last chunk.
    fn start_chunk(&mut self) -> Result<State, Status> {
        self.line_bytes = 0;
        let len = std::mem::take(&mut self.chunk_len);
        if len == 0 {
            return Ok(State::TrailerStart);
        }
        self.body_len = self
            .body_len
            .checked_add(len)
            .filter(|&total| total <= self.max_body_len)
            .ok_or(Status::ContentTooLarge)?;
        self.remaining = len;
        Ok(State::Data)
    }
}

fn is_vchar_or_obs(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// qdtext from RFC 9110 §5.6.4: anything visible but `"` and `\`, plus space and tab.
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || b == b' ' || (is_vchar_or_obs(b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` whole and one byte at a time; both must agree.
    fn decode(body: &[u8], max: u64) -> Result<(usize, bool), Status> {
        let mut whole = ChunkedDecoder::new(max);
        let whole_result = whole.feed(body).map(|used| (used, whole.is_done()));

        let mut bytewise = ChunkedDecoder::new(max);
        let mut used = 0;
        let mut bytewise_result = Ok((0, false));
        for &b in body {
            if bytewise.is_done() {
                break;
            }
            match bytewise.feed(&[b]) {
                Ok(n) => used += n,
                Err(e) => {
                    bytewise_result = Err(e);
                    break;
                }
            }
            bytewise_result = Ok((used, bytewise.is_done()));
        }
        assert_eq!(
            whole_result,
            bytewise_result,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        whole_result
    }

    #[test]
    fn valid_bodies() {
        let table: &[&[u8]] = &[
            b"0\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            b"A\r\n0123456789\r\n0\r\n\r\n",
            b"5;ext\r\nhello\r\n0\r\n\r\n",
            b"5 ; name=value\r\nhello\r\n0\r\n\r\n",
            b"5;a=\"q \\\" d\";b\r\nhello\r\n0\r\n\r\n",
            b"0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n",
            b"000005\r\nhello\r\n0\r\n\r\n",
        ];
        for &body in table {
            assert_eq!(decode(body, 1 << 20), Ok((body.len(), true)));
        }
    }

    #[test]
    fn stops_at_the_end_of_the_body() {
        let input = b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
        assert_eq!(decode(input, 100), Ok((13, true)));
    }

    #[test]
    fn partial_body_is_not_done() {
        assert_eq!(decode(b"5\r\nhel", 100), Ok((6, false)));
    }

    #[test]
    fn malformed_bodies() {
        let table: &[&[u8]] = &[
            b"\r\n",
            b";ext\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5;a\nb\r\n",
            b"5\r\nhelloX\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"-5\r\n",
            b"+5\r\n",
            b"0x5\r\n",
            b"5 5\r\n",
            b"5;\r\n",
            b"5;a=\r\n",
            b"5;a=\"unterminated\r\n",
            b"5;a\x01\r\n",
            b"0\r\nBad Name: x\r\n\r\n",
            b"0\r\nX: a\nY: b\r\n\r\n",
            b"0\r\n\n",
        ];
        for &body in table {
            assert_eq!(decode(body, 1 << 20), Err(Status::BadRequest));
        }
    }

    #[test]
    fn limits() {
        assert_eq!(
            decode(b"ffffffffffffffffff\r\n", u64::MAX),
            Err(Status::BadRequest)
        );
        assert_eq!(
            decode(b"ffffffffffffffff\r\n", 1 << 20),
            Err(Status::ContentTooLarge)
        );
        assert_eq!(decode(b"11\r\n", 16), Err(Status::ContentTooLarge));
        let mut long_ext = b"1;".to_vec();
        long_ext.extend(std::iter::repeat_n(b'a', MAX_LINE_BYTES));
        assert_eq!(decode(&long_ext, 100), Err(Status::BadRequest));
    }
}
