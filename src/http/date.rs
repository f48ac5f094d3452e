//! The `Date` header value (RFC 9110 §5.6.7), rendered at most once per second.

use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const HTTP_DATE_LEN: usize = 29;

pub struct DateCache {
    second: u64,
    text: [u8; HTTP_DATE_LEN],
}

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache {
            second: u64::MAX,
            text: [b' '; HTTP_DATE_LEN],
        }
    }
}

impl DateCache {
    /// The date for `now`, re-rendered only when the second has changed.
    pub fn get(&mut self, now: SystemTime) -> &[u8; HTTP_DATE_LEN] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if second != self.second {
            self.text = render(now);
            self.second = second;
        }
        &self.text
    }
}

/// `time` as an IMF-fixdate. Years past 9999 do not fit the format and render as the latest
/// date that does.
pub fn render(time: SystemTime) -> [u8; HTTP_DATE_LEN] {
    let mut text = *b"Fri, 31 Dec 9999 23:59:59 GMT";
    let rendered = httpdate::fmt_http_date(time);
    if rendered.len() == HTTP_DATE_LEN {
        text.copy_from_slice(rendered.as_bytes());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_imf_fixdate() {
        let mut cache = DateCache::default();
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(cache.get(t), b"Sun, 06 Nov 1994 08:49:37 GMT");
        let later = t + Duration::from_millis(999);
        assert_eq!(cache.get(later), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            cache.get(t + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
    }
}
