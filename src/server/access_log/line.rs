//! One access-log line: its start (`AccessLog::begin`), what is added as the response goes
//! out (`PendingLine`), and the escaping and time stamp that keep client bytes from forging
//! a field or a line.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::date::civil_from_seconds;
use crate::server::access_log::json;

/// `--log-format`: how each line is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The Combined Log Format plus the time taken (see the module `access_log`).
    #[default]
    Combined,
    /// One JSON object per line (see `access_log::json`).
    Json,
}

/// One response's line while its body is being sent.
pub struct PendingLine {
    /// Everything up to the status (see `AccessLog::begin`).
    start: Vec<u8>,
    pub status: u16,
    referer: Vec<u8>,
    user_agent: Vec<u8>,
    received_at: Instant,
    pub body_sent: u64,
    /// Written as JSON (`--log-format json`), not in the Combined format.
    json: bool,
}

impl PendingLine {
    /// A line for a request received at `received_at`; its status is set once rendered.
    pub fn new(start: Vec<u8>, received_at: Instant) -> PendingLine {
        PendingLine {
            start,
            status: 0,
            referer: Vec::new(),
            user_agent: Vec::new(),
            received_at,
            body_sent: 0,
            json: false,
        }
    }

    /// The same line, to be finished in `format` (the one its start was written in).
    pub fn with_format(self, format: LogFormat) -> PendingLine {
        PendingLine {
            json: format == LogFormat::Json,
            ..self
        }
    }

    /// The request's `Referer` and `User-Agent`, once its head has been parsed.
    pub fn set_headers(&mut self, referer: Option<&[u8]>, user_agent: Option<&[u8]>) {
        self.referer = referer.map(<[u8]>::to_vec).unwrap_or_default();
        self.user_agent = user_agent.map(<[u8]>::to_vec).unwrap_or_default();
    }

    /// The finished line, newline included.
    pub fn finish(mut self, now: Instant) -> Vec<u8> {
        if self.json {
            let took = now.saturating_duration_since(self.received_at);
            let (status, sent) = (self.status, self.body_sent);
            json::finish(
                &mut self.start,
                status,
                sent,
                &self.referer,
                &self.user_agent,
                took,
            );
            return self.start;
        }
        let line = &mut self.start;
        line.extend_from_slice(itoa::Buffer::new().format(self.status).as_bytes());
        line.push(b' ');
        line.extend_from_slice(itoa::Buffer::new().format(self.body_sent).as_bytes());
        for field in [&self.referer, &self.user_agent] {
            line.extend_from_slice(b" \"");
            if field.is_empty() {
                line.push(b'-');
            } else {
                escape(line, field);
            }
            line.push(b'"');
        }
        let took = now.saturating_duration_since(self.received_at);
        // Writing into a Vec cannot fail.
        let _ = writeln!(line, " {}.{:03}", took.as_secs(), took.subsec_millis());
        self.start
    }
}

/// Client bytes in a log line: printable ASCII as is, except `"` and `\`, which like
/// everything else are written `\xHH`, so no request can forge a line or a field.
pub(super) fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
}

/// The `[day/Mon/year:hh:mm:ss +0000]` stamp, cached per second.
#[derive(Default)]
pub(super) struct LogClock {
    second: Option<u64>,
    text: Vec<u8>,
}

impl LogClock {
    pub(super) fn get(&mut self, now: SystemTime) -> &[u8] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        if self.second != Some(second) {
            self.second = Some(second);
            self.text = clf_time(second);
        }
        &self.text
    }
}

/// Seconds since the epoch as a Common Log Format time, in UTC.
fn clf_time(epoch_seconds: u64) -> Vec<u8> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds_of_day = epoch_seconds % 86_400;
    let (year, month, day) = civil_from_seconds(epoch_seconds);
    format!(
        "[{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000]",
        MONTHS[(month - 1) as usize],
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_times() {
        assert_eq!(clf_time(0), b"[01/Jan/1970:00:00:00 +0000]");
        assert_eq!(clf_time(784_111_777), b"[06/Nov/1994:08:49:37 +0000]");
        assert_eq!(clf_time(951_782_400), b"[29/Feb/2000:00:00:00 +0000]");
        assert_eq!(clf_time(1_795_637_000), b"[25/Nov/2026:20:03:20 +0000]");
    }

    #[test]
    fn client_bytes_cannot_forge_fields() {
        let mut out = Vec::new();
        escape(&mut out, b"GET /a\"b\\c\r\n\x00\xff HTTP/1.1");
        assert_eq!(out, b"GET /a\\x22b\\x5Cc\\x0D\\x0A\\x00\\xFF HTTP/1.1");
    }
}
