//! The `Date` header value (RFC 9110 §5.6.7), rendered at most once per second, and the
//! calendar arithmetic every dated line shares (`civil_from_days`).

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
        if second != self.second
            && let Some(text) = render(now)
        {
            self.text = text;
            self.second = second;
        }
        &self.text
    }
}

/// The first second that does not fit an IMF-fixdate's four-digit year (10000-01-01).
const YEAR_10000_SECS: u64 = 253_402_300_800;

/// `time` as an IMF-fixdate, or `None` when it cannot be one: before 1970 (which httpdate
/// cannot render) or after year 9999 (which the format cannot hold). A file may carry such
/// a time (archives do); it then simply has no `Last-Modified`.
pub fn render(time: SystemTime) -> Option<[u8; HTTP_DATE_LEN]> {
    let since_epoch = time.duration_since(UNIX_EPOCH).ok()?;
    if since_epoch.as_secs() >= YEAR_10000_SECS {
        return None;
    }
    let rendered = httpdate::fmt_http_date(time);
    let mut text = [0; HTTP_DATE_LEN];
    text.copy_from_slice(rendered.as_bytes().get(..HTTP_DATE_LEN)?);
    Some(text)
}

/// (year, month 1-12, day 1-31) of the proleptic Gregorian calendar for days since
/// 1970-01-01, negative before it (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `civil_from_days` of the day `epoch_seconds` (seconds since 1970, as the logs count them).
pub fn civil_from_seconds(epoch_seconds: u64) -> (i64, i64, i64) {
    civil_from_days(i64::try_from(epoch_seconds / 86_400).unwrap_or(i64::MAX / 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn out_of_range_times_render_as_nothing() {
        assert_eq!(render(UNIX_EPOCH - Duration::from_secs(1)), None);
        assert_eq!(
            render(UNIX_EPOCH + Duration::from_secs(YEAR_10000_SECS)),
            None
        );
        assert_eq!(
            render(UNIX_EPOCH + Duration::from_secs(YEAR_10000_SECS - 1)),
            Some(*b"Fri, 31 Dec 9999 23:59:59 GMT")
        );
        assert_eq!(render(UNIX_EPOCH), Some(*b"Thu, 01 Jan 1970 00:00:00 GMT"));
    }

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
