//! Calendar arithmetic on Unix seconds (proleptic Gregorian, Howard Hinnant's civil-from-days
//! algorithms) so that dates render without the `time` crate and without a locale.

const DAY: i64 = 86_400;

/// `(year, month 1–12, day 1–31)` of a count of days since 1970-01-01. Total over all `i64`
/// day counts that come from Unix seconds.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a Unix timestamp shifted by `utc_offset` seconds (negative years keep their sign).
pub fn format_date(unix_seconds: i64, utc_offset: i64) -> String {
    let local = unix_seconds.saturating_add(utc_offset);
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    if y < 0 { format!("-{:04}-{m:02}-{d:02}", y.unsigned_abs()) } else { format!("{y:04}-{m:02}-{d:02}") }
}

#[derive(Clone, Copy)]
enum Step {
    Days(i64),
    Months(i64),
}

/// Tick positions (Unix seconds) for a date axis over `[from, to]`: local midnights every 1, 2, 7 or
/// 14 days, or first days of months every 1, 2, 3, 6 months or whole years — the finest step that
/// gives at most `max` ticks. Very long spans fall back to `max` evenly spaced positions.
pub(crate) fn date_ticks(from: i64, to: i64, utc_offset: i64, max: usize) -> Vec<i64> {
    let max = max.max(2);
    let (lf, lt) = (from.saturating_add(utc_offset), to.saturating_add(utc_offset));
    let span_days = (i128::from(lt) - i128::from(lf)) / i128::from(DAY);
    const STEPS: [Step; 15] = [
        Step::Days(1),
        Step::Days(2),
        Step::Days(7),
        Step::Days(14),
        Step::Months(1),
        Step::Months(2),
        Step::Months(3),
        Step::Months(6),
        Step::Months(12),
        Step::Months(24),
        Step::Months(60),
        Step::Months(120),
        Step::Months(240),
        Step::Months(600),
        Step::Months(1200),
    ];
    let max_i = i128::try_from(max).unwrap_or(i128::MAX);
    for step in STEPS {
        let estimate = match step {
            Step::Days(s) => span_days / i128::from(s),
            Step::Months(s) => span_days * 12 / 365 / i128::from(s),
        };
        if estimate + 1 > max_i {
            continue;
        }
        let ticks = generate(step, lf, lt, max);
        if !ticks.is_empty() && ticks.len() <= max {
            return ticks.into_iter().map(|t| t.saturating_sub(utc_offset)).collect();
        }
    }
    // Even spacing: always within range, always `max` positions.
    let span = i128::from(to) - i128::from(from);
    let last = i128::try_from(max - 1).unwrap_or(1).max(1);
    (0..max)
        .map(|i| {
            let i = i128::try_from(i).unwrap_or(0);
            i64::try_from(i128::from(from) + span * i / last).unwrap_or(from)
        })
        .collect()
}

fn generate(step: Step, lf: i64, lt: i64, max: usize) -> Vec<i64> {
    let mut out = Vec::new();
    match step {
        Step::Days(s) => {
            let mut day = lf.div_euclid(DAY) + i64::from(lf.rem_euclid(DAY) != 0);
            // Weekly and fortnightly ticks fall on Mondays (1970-01-01 was a Thursday).
            if s % 7 == 0 {
                day += (7 - (day + 3).rem_euclid(7)) % 7;
            }
            while out.len() <= max {
                let Some(t) = day.checked_mul(DAY) else { break };
                if t > lt {
                    break;
                }
                out.push(t);
                day += s;
            }
        }
        Step::Months(s) => {
            let (y, m, d) = civil_from_days(lf.div_euclid(DAY));
            // Month index since year 0 of the first month start on or after `lf`.
            let mut idx = y * 12 + i64::from(m) - 1;
            if d != 1 || lf.rem_euclid(DAY) != 0 {
                idx += 1;
            }
            idx += (s - idx.rem_euclid(s)) % s;
            while out.len() <= max {
                let year = idx.div_euclid(12);
                let month = u32::try_from(idx.rem_euclid(12) + 1).unwrap_or(1);
                let Some(t) = days_from_civil(year, month, 1).checked_mul(DAY) else { break };
                if t > lt {
                    break;
                }
                out.push(t);
                idx += s;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_date(0, 0), "1970-01-01");
        assert_eq!(format_date(1_767_571_200, 0), "2026-01-05");
        assert_eq!(format_date(951_782_400, 0), "2000-02-29");
        assert_eq!(format_date(-1, 0), "1969-12-31");
        assert_eq!(format_date(1_767_571_200 - 1, 3_600), "2026-01-05");
        assert_eq!(format_date(-62_167_219_200, 0), "0000-01-01");
        assert_eq!(format_date(-62_167_219_201, 0), "-0001-12-31");
        // Extremes do not panic.
        let _ = format_date(i64::MAX, i64::MAX);
        let _ = format_date(i64::MIN, i64::MIN);
    }

    #[test]
    fn round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn month_ticks() {
        let from = 1_767_571_200; // 2026-01-05
        let to = from + 120 * DAY;
        let ticks: Vec<String> = date_ticks(from, to, 0, 5).into_iter().map(|t| format_date(t, 0)).collect();
        assert_eq!(ticks, ["2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]);
        let ticks: Vec<String> = date_ticks(from, from + 20 * DAY, 0, 4).into_iter().map(|t| format_date(t, 0)).collect();
        assert_eq!(ticks, ["2026-01-05", "2026-01-12", "2026-01-19"]);
        assert_eq!(date_ticks(i64::MIN, i64::MAX, 0, 4).len(), 4);
    }
}
