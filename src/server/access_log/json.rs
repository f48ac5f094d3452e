//! `--log-format json`: one JSON object per line, with the field names nginx's and Elastic's
//! JSON access logs use, so log shippers map them without configuration:
//!
//! ```text
//! {"time":"2026-11-25T20:01:07.123Z","remote_addr":"127.0.0.1","method":"GET","path":"/a.txt",
//!  "protocol":"HTTP/1.1","status":200,"bytes_sent":6,"referer":"","user_agent":"curl/8",
//!  "request_time":0.001}
//! ```
//!
//! Client bytes are escaped as RFC 8259 §7 requires: `"` and `\` with a backslash, control
//! characters (and DEL) as `\u00XX`. Valid UTF-8 is kept as it is; a byte that is not part of
//! valid UTF-8 is written `\u00XX` with its value (read as Latin-1), so every line is valid
//! JSON and no byte is lost or can forge a field. `path` is the request target as received
//! (query included), `request_time` is in seconds, and a missing field is `""`.

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::date::civil_from_seconds;

/// Starts a line: every field up to the status.
pub(super) fn begin(peer: Option<IpAddr>, request_line: &[u8], now: SystemTime) -> Vec<u8> {
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(b"{\"time\":\"");
    write_time(&mut line, now);
    line.extend_from_slice(b"\",\"remote_addr\":\"");
    // Writing into a Vec cannot fail.
    if let Some(ip) = peer {
        let _ = write!(line, "{ip}");
    }
    let mut parts = request_line.splitn(3, |&b| b == b' ');
    for name in ["method", "path", "protocol"] {
        let _ = write!(line, "\",\"{name}\":\"");
        escape(&mut line, parts.next().unwrap_or_default());
    }
    line.extend_from_slice(b"\",");
    line
}

/// Ends a line begun by `begin`, newline included.
pub(super) fn finish(
    line: &mut Vec<u8>,
    status: u16,
    body_sent: u64,
    referer: &[u8],
    user_agent: &[u8],
    took: Duration,
) {
    let _ = write!(
        line,
        "\"status\":{status},\"bytes_sent\":{body_sent},\"referer\":\""
    );
    escape(line, referer);
    line.extend_from_slice(b"\",\"user_agent\":\"");
    escape(line, user_agent);
    let _ = writeln!(
        line,
        "\",\"request_time\":{}.{:03}}}",
        took.as_secs(),
        took.subsec_millis()
    );
}

/// RFC 3339 in UTC with milliseconds: `2026-11-25T20:01:07.123Z`.
fn write_time(line: &mut Vec<u8>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_seconds(seconds);
    let of_day = seconds % 86_400;
    let _ = write!(
        line,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since_epoch.subsec_millis()
    );
}

/// Client bytes inside a JSON string (see the module documentation).
fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                c if c.is_control() && u32::from(c) < 0x80 => unicode_escape(out, c as u8),
                c => {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            unicode_escape(out, b);
        }
    }
}

fn unicode_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&[
        b'\\',
        b'u',
        b'0',
        b'0',
        HEX[usize::from(b >> 4)],
        HEX[usize::from(b & 15)],
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_bytes_are_escaped_and_valid_utf8_kept() {
        let mut out = Vec::new();
        escape(&mut out, "a\"b\\c\r\n\x00\x7f é".as_bytes());
        escape(&mut out, b"\xff");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\"b\\\\c\\u000d\\u000a\\u0000\\u007f é\\u00ff"
        );
    }

    #[test]
    fn a_whole_line() {
        let mut line = begin(
            Some("127.0.0.1".parse().unwrap()),
            b"GET /x?q HTTP/1.1",
            UNIX_EPOCH + Duration::from_millis(784_111_777_123),
        );
        finish(&mut line, 200, 42, b"", b"curl/8", Duration::from_millis(5));
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"time\":\"1994-11-06T08:49:37.123Z\",\"remote_addr\":\"127.0.0.1\",\
             \"method\":\"GET\",\"path\":\"/x?q\",\"protocol\":\"HTTP/1.1\",\"status\":200,\
             \"bytes_sent\":42,\"referer\":\"\",\"user_agent\":\"curl/8\",\
             \"request_time\":0.005}\n"
        );
    }
}
