//! Go's text forms of times and durations, as metav1's JSON writes them: RFC 3339 in UTC
//! (`2024-01-02T03:04:05Z`, MicroTime with six fractional digits) and `time.Duration`'s
//! `String()` (`1h0m0s`, `1.5s`, `300ms`).

const NANOS_PER_SECOND: i128 = 1_000_000_000;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range RFC 3339 can write.
const MIN_SECONDS: i128 = -62_167_219_200;
const MAX_SECONDS: i128 = 253_402_300_799;

/// Seconds and nanoseconds since the Unix epoch as RFC 3339 (`micro`: with microseconds,
/// truncated like Go's formatting); `None` outside the years 0 to 9999.
pub fn rfc3339(seconds: i64, nanos: i64, micro: bool) -> Option<String> {
    let total = i128::from(seconds) * NANOS_PER_SECOND + i128::from(nanos);
    let (secs, frac) = (
        total.div_euclid(NANOS_PER_SECOND),
        total.rem_euclid(NANOS_PER_SECOND),
    );
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&secs) {
        return None;
    }
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let mut out = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    if micro {
        out.push_str(&format!(".{:06}", frac / 1000));
    }
    out.push('Z');
    Some(out)
}

/// Howard Hinnant's days-since-epoch to (year, month, day) in the proleptic Gregorian
/// calendar.
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

/// `time.Duration(nanos).String()`.
pub fn go_duration(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let body = if u < 1_000_000_000 {
        let (unit, precision) = match u {
            0 => return "0s".into(),
            1..=999 => ("ns", 0),
            1_000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        let (whole, fraction) = split(u, precision);
        format!("{whole}{fraction}{unit}")
    } else {
        let (seconds, fraction) = split(u, 9);
        let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        match (hours, minutes) {
            (0, 0) => format!("{seconds}{fraction}s"),
            (0, _) => format!("{minutes}m{seconds}{fraction}s"),
            _ => format!("{hours}h{minutes}m{seconds}{fraction}s"),
        }
    };
    format!("{sign}{body}")
}

/// `value / 10^precision` and its fraction as `.ddd` without trailing zeros (or nothing).
fn split(value: u64, precision: u32) -> (u64, String) {
    let scale = 10u64.pow(precision);
    let fraction = value % scale;
    if fraction == 0 {
        return (value / scale, String::new());
    }
    let digits = format!("{fraction:0width$}", width = precision as usize);
    (value / scale, format!(".{}", digits.trim_end_matches('0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            rfc3339(0, 0, false).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(1_704_164_645, 999_999_999, false).as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            rfc3339(1_704_164_645, 123_456_789, true).as_deref(),
            Some("2024-01-02T03:04:05.123456Z")
        );
        assert_eq!(
            rfc3339(951_782_400, 0, false).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(
            rfc3339(-1, 0, true).as_deref(),
            Some("1969-12-31T23:59:59.000000Z")
        );
        assert_eq!(
            rfc3339(-62_167_219_200, 0, false).as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(253_402_300_799, 0, false).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(rfc3339(253_402_300_800, 0, false), None);
        assert_eq!(rfc3339(i64::MIN, i64::MIN, true), None);
        assert_eq!(rfc3339(i64::MAX, i64::MAX, true), None);
    }

    #[test]
    fn durations() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (5_430_000_000_000, "1h30m30s"),
            (-90_000_000_000, "-1m30s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(go_duration(nanos), text, "{nanos}");
        }
    }
}
