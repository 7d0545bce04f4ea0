//! Timestamps: RFC 3339 parsing and formatting in UTC milliseconds, and the clock.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Parses `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`, into ms since the epoch.
/// Digits past milliseconds are dropped.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (year, month, day) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date_ms = days_from_civil(year, month, day) * 86_400_000;
    if b.len() == 10 {
        return Some(date_ms);
    }
    if !matches!(b.get(10), Some(b'T' | b't'))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (hour, minute, second) = (digits(b, 11, 2)?, digits(b, 14, 2)?, digits(b, 17, 2)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let (millis, zone) = fraction_ms(b, 19)?;
    let offset_min = offset_minutes(b, zone)?;
    let time_ms = ((hour * 60 + minute - offset_min) * 60 + second) * 1000 + millis;
    Some(date_ms + time_ms)
}

/// The number `len` ASCII digits from `from` write.
fn digits(b: &[u8], from: usize, len: usize) -> Option<i64> {
    let digits = b.get(from..from + len)?;
    digits.iter().try_fold(0i64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

/// The milliseconds of an optional `.fff…` at `at` (digits past them
/// dropped), and where the zone starts.
fn fraction_ms(b: &[u8], at: usize) -> Option<(i64, usize)> {
    if b.get(at) != Some(&b'.') {
        return Some((0, at));
    }
    let end = (at + 1..=b.len())
        .find(|&i| !b.get(i).is_some_and(u8::is_ascii_digit))
        .unwrap_or(b.len());
    let frac = &b[at + 1..end];
    if frac.is_empty() {
        return None;
    }
    let millis = (0..3).fold(0, |acc, i| {
        acc * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'))
    });
    Some((millis, end))
}

/// `Z`, or `±HH:MM`, at `at` to the end, in minutes east of UTC.
fn offset_minutes(b: &[u8], at: usize) -> Option<i64> {
    match b.get(at..)? {
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (digits(b, at + 1, 2)?, digits(b, at + 4, 2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let minutes = hours * 60 + minutes;
            Some(if *sign == b'+' { minutes } else { -minutes })
        }
        _ => None,
    }
}

/// The wait a `Retry-After` header asks for, in ms: delay-seconds, or an HTTP
/// date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) measured from now.
pub fn retry_after_ms(value: &str) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let at = parse_http_date_ms(value)?;
    Some(u64::try_from(at - now_ms() as i64).unwrap_or(0))
}

fn parse_http_date_ms(value: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = value.split(' ');
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" || day.len() != 2 {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    parse_rfc3339_ms(&format!("{year}-{month:02}-{day}T{time}Z"))
}

/// Formats ms since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_round_trip() {
        let ms = parse_rfc3339_ms("2024-02-29T23:59:58.123Z").unwrap();
        assert_eq!(format_rfc3339_ms(ms), "2024-02-29T23:59:58.123Z");
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("1970-01-02"), Some(86_400_000));
    }

    #[test]
    fn applies_offsets_and_truncates_fractions() {
        assert_eq!(
            parse_rfc3339_ms("2024-01-01T02:00:00.999999+02:00"),
            parse_rfc3339_ms("2024-01-01T00:00:00.999Z")
        );
        assert_eq!(
            parse_rfc3339_ms("2024-01-01T00:00:00.5Z"),
            Some(parse_rfc3339_ms("2024-01-01").unwrap() + 500)
        );
    }

    #[test]
    fn reads_retry_after_in_both_forms() {
        assert_eq!(retry_after_ms("120"), Some(120_000));
        assert_eq!(retry_after_ms(" 0 "), Some(0));
        assert_eq!(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(0));
        let later = format_rfc3339_ms(now_ms() as i64 + 30_000);
        let (date, time) = (&later[..10], &later[11..19]);
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = months[date[5..7].parse::<usize>().unwrap() - 1];
        let http_date = format!("Mon, {} {month} {} {time} GMT", &date[8..10], &date[..4]);
        let wait = retry_after_ms(&http_date).unwrap();
        assert!((25_000..=30_000).contains(&wait), "{wait}");
        assert_eq!(retry_after_ms("soon"), None);
        assert_eq!(retry_after_ms("-5"), None);
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2024",
            "2024-13-01",
            "2024-02-30",
            "2023-02-29",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00.Z",
            "yesterday",
            "2024-01-01T00:00:00+0200",
            "２０２４-01-01",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }
}
