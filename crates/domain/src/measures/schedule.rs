//! Measurement schedules: how often a client is asked to complete an instrument, and when
//! the next response is due or overdue.
//!
//! Times are Unix seconds. There are no calendar days here (no time zone is known): "daily"
//! means 24 hours after the last response, "weekly" 7 days after it.
//!
//! Rules ([`due`]):
//! - **Once** (one-off): due at the schedule's start until a response is completed at or after
//!   the start; then nothing is due. Overdue [`ONCE_GRACE`] after the start.
//! - **Daily / Weekly**: due one interval after the last response, but never before the
//!   schedule's start (a response from before the schedule started still counts, so a PHQ-9
//!   done yesterday on paper makes the first weekly one due in six days). Overdue one grace
//!   period ([`DAILY_GRACE`], [`WEEKLY_GRACE`]) after it fell due.
//! - **Every session**: each attended session from the schedule's start on should have a
//!   response completed at most [`SESSION_WINDOW`] before it (or any time after it). The
//!   earliest attended session without one makes the measure due at that session and overdue
//!   [`SESSION_GRACE`] later. When every attended session is covered, the measure is due
//!   [`SESSION_WINDOW`] before the next booked session (so a client can complete it in the
//!   portal beforehand), never overdue on that account; with no booked session nothing is due.
//!
//! Architecture Invariant: pure; all arithmetic saturates, so no input panics.

use serde::{Deserialize, Serialize};

const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;

/// A response completed up to this long before a session counts for that session.
pub const SESSION_WINDOW: i64 = DAY;
/// An every-session measure missing for an attended session is overdue this long after it.
pub const SESSION_GRACE: i64 = DAY;
/// A daily check-in is overdue a day after it fell due (a whole day missed).
pub const DAILY_GRACE: i64 = DAY;
/// A weekly measure is overdue two days after it fell due.
pub const WEEKLY_GRACE: i64 = 2 * DAY;
/// A one-off measure is overdue a week after it was asked for.
pub const ONCE_GRACE: i64 = 7 * DAY;

/// How often a client is asked to complete an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    EverySession,
    Weekly,
    Daily,
    /// One-off.
    Once,
}

impl Frequency {
    pub const ALL: [Frequency; 4] = [Frequency::EverySession, Frequency::Weekly, Frequency::Daily, Frequency::Once];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::EverySession => "every_session",
            Frequency::Weekly => "weekly",
            Frequency::Daily => "daily",
            Frequency::Once => "once",
        }
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Frequency::EverySession => "Every session",
            Frequency::Weekly => "Weekly",
            Frequency::Daily => "Daily",
            Frequency::Once => "Once",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "every_session" => Some(Frequency::EverySession),
            "weekly" => Some(Frequency::Weekly),
            "daily" => Some(Frequency::Daily),
            "once" => Some(Frequency::Once),
            _ => None,
        }
    }
}

impl std::fmt::Display for Frequency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Frequency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("unknown frequency {s:?}: expected every_session, weekly, daily or once"))
    }
}

/// One active schedule: what [`due`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub frequency: Frequency,
    /// When the schedule was set (Unix seconds).
    pub starts_at: i64,
}

/// When a scheduled measure is due, at a given `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    /// When the next response is (or was) due; `None` when nothing is due (a one-off already
    /// completed, or every-session with every session covered and none booked).
    pub due_at: Option<i64>,
    /// From when the missing response counts as overdue; `None` when it cannot become overdue
    /// as things stand.
    pub overdue_from: Option<i64>,
    /// `due_at <= now`: the client should complete it now.
    pub is_due: bool,
    /// `overdue_from <= now`.
    pub overdue: bool,
}

impl Due {
    fn at(due_at: Option<i64>, overdue_from: Option<i64>, now: i64) -> Self {
        Due { due_at, overdue_from, is_due: due_at.is_some_and(|d| d <= now), overdue: overdue_from.is_some_and(|o| o <= now) }
    }
}

/// When the next response to a scheduled instrument is due, and whether it is overdue at
/// `now`. `attended_sessions` are the start times of the client's attended sessions (any
/// order; later than `now` are ignored), `next_session` the start of the next booked session
/// if any, `last_response` the completion time of the latest response to this instrument.
pub fn due(schedule: &Schedule, attended_sessions: &[i64], next_session: Option<i64>, last_response: Option<i64>, now: i64) -> Due {
    let start = schedule.starts_at;
    match schedule.frequency {
        Frequency::Once => match last_response {
            Some(r) if r >= start => Due::at(None, None, now),
            _ => Due::at(Some(start), Some(start.saturating_add(ONCE_GRACE)), now),
        },
        Frequency::Daily => periodic(start, DAY, DAILY_GRACE, last_response, now),
        Frequency::Weekly => periodic(start, 7 * DAY, WEEKLY_GRACE, last_response, now),
        Frequency::EverySession => {
            let covered = |session: i64| last_response.is_some_and(|r| r >= session.saturating_sub(SESSION_WINDOW));
            let missed = attended_sessions.iter().copied().filter(|s| *s >= start && *s <= now && !covered(*s)).min();
            match missed {
                Some(s) => Due::at(Some(s), Some(s.saturating_add(SESSION_GRACE)), now),
                None => {
                    let upcoming = next_session.filter(|n| *n > now && !covered(*n));
                    Due::at(upcoming.map(|n| n.saturating_sub(SESSION_WINDOW)), None, now)
                }
            }
        }
    }
}

fn periodic(start: i64, interval: i64, grace: i64, last_response: Option<i64>, now: i64) -> Due {
    let due_at = last_response.map_or(start, |r| r.saturating_add(interval).max(start));
    Due::at(Some(due_at), Some(due_at.saturating_add(grace)), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_770_000_000;

    fn sched(frequency: Frequency) -> Schedule {
        Schedule { frequency, starts_at: T0 }
    }

    #[test]
    fn frequency_round_trips() {
        for f in Frequency::ALL {
            assert_eq!(Frequency::parse(f.as_str()), Some(f));
            assert_eq!(f.as_str().parse::<Frequency>().unwrap(), f);
            assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{}\"", f.as_str()));
        }
        assert!(Frequency::parse("monthly").is_none());
        assert!("".parse::<Frequency>().is_err());
    }

    #[test]
    fn once_is_due_until_done() {
        let s = sched(Frequency::Once);
        let d = due(&s, &[], None, None, T0);
        assert_eq!(d, Due { due_at: Some(T0), overdue_from: Some(T0 + ONCE_GRACE), is_due: true, overdue: false });
        assert!(due(&s, &[], None, None, T0 + ONCE_GRACE).overdue);
        // A response from before the schedule does not count; one after it does.
        assert!(due(&s, &[], None, Some(T0 - 1), T0 + 5).is_due);
        let done = due(&s, &[], None, Some(T0), T0 + ONCE_GRACE * 3);
        assert_eq!(done, Due { due_at: None, overdue_from: None, is_due: false, overdue: false });
        // Before the start it is not yet due.
        assert!(!due(&s, &[], None, None, T0 - 1).is_due);
    }

    #[test]
    fn weekly_counts_from_the_last_response() {
        let s = sched(Frequency::Weekly);
        // Never answered: due at the start.
        assert_eq!(due(&s, &[], None, None, T0).due_at, Some(T0));
        // Answered yesterday on paper: due in six days.
        let d = due(&s, &[], None, Some(T0 - DAY), T0);
        assert_eq!(d.due_at, Some(T0 + 6 * DAY));
        assert!(!d.is_due);
        // Answered long ago: due at the start, not in the past.
        assert_eq!(due(&s, &[], None, Some(T0 - 30 * DAY), T0).due_at, Some(T0));
        // Overdue two days after it fell due.
        let r = T0 + DAY;
        assert!(!due(&s, &[], None, Some(r), r + 7 * DAY + WEEKLY_GRACE - 1).overdue);
        assert!(due(&s, &[], None, Some(r), r + 7 * DAY + WEEKLY_GRACE).overdue);
    }

    #[test]
    fn daily_check_in() {
        let s = sched(Frequency::Daily);
        let d = due(&s, &[], None, Some(T0 + 10 * HOUR), T0 + 20 * HOUR);
        assert_eq!(d.due_at, Some(T0 + 34 * HOUR));
        assert!(!d.is_due);
        let d = due(&s, &[], None, Some(T0 + 10 * HOUR), T0 + 34 * HOUR);
        assert!(d.is_due && !d.overdue);
        assert!(due(&s, &[], None, Some(T0 + 10 * HOUR), T0 + 58 * HOUR).overdue);
    }

    #[test]
    fn every_session() {
        let s = sched(Frequency::EverySession);
        let s1 = T0 + DAY;
        let s2 = T0 + 8 * DAY;
        // Session attended with no response: due at it, overdue a day later.
        let d = due(&s, &[s1], None, None, s1 + HOUR);
        assert_eq!(d, Due { due_at: Some(s1), overdue_from: Some(s1 + SESSION_GRACE), is_due: true, overdue: false });
        assert!(due(&s, &[s1], None, None, s1 + SESSION_GRACE).overdue);
        // Completed in the waiting room: covered.
        let d = due(&s, &[s1], None, Some(s1 - 10 * 60), s1 + HOUR);
        assert_eq!(d.due_at, None);
        assert!(!d.is_due && !d.overdue);
        // Completed two days before: does not cover.
        assert_eq!(due(&s, &[s1], None, Some(s1 - 2 * DAY), s1 + HOUR).due_at, Some(s1));
        // Entered after the session (paper form): covered.
        assert_eq!(due(&s, &[s1], None, Some(s1 + 3 * HOUR), s1 + 4 * HOUR).due_at, None);
        // Two sessions, only the first covered: the second is due; order of input irrelevant.
        let d = due(&s, &[s2, s1], None, Some(s1), s2 + HOUR);
        assert_eq!(d.due_at, Some(s2));
        // Sessions before the schedule started do not count.
        assert_eq!(due(&s, &[T0 - DAY], None, None, T0 + HOUR).due_at, None);
        // Sessions in the future (bad data) are ignored.
        assert_eq!(due(&s, &[T0 + 30 * DAY], None, None, T0 + HOUR).due_at, None);
        // A booked session: due a day before it, never overdue on that account.
        let d = due(&s, &[], Some(s2), None, s2 - 2 * HOUR);
        assert_eq!(d, Due { due_at: Some(s2 - SESSION_WINDOW), overdue_from: None, is_due: true, overdue: false });
        // Already completed for the booked session: nothing due.
        assert_eq!(due(&s, &[], Some(s2), Some(s2 - 3 * HOUR), s2 - 2 * HOUR).due_at, None);
    }

    fn any_frequency() -> impl Strategy<Value = Frequency> {
        prop::sample::select(Frequency::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn never_panics(
            f in any_frequency(),
            start in any::<i64>(),
            sessions in prop::collection::vec(any::<i64>(), 0..8),
            next in any::<Option<i64>>(),
            last in any::<Option<i64>>(),
            now in any::<i64>(),
        ) {
            let _ = due(&Schedule { frequency: f, starts_at: start }, &sessions, next, last, now);
        }

        #[test]
        fn consistent(
            f in any_frequency(),
            start in 0i64..1_000_000,
            sessions in prop::collection::vec(0i64..2_000_000, 0..8),
            next in prop::option::of(0i64..3_000_000),
            last in prop::option::of(0i64..2_000_000),
            now in 0i64..3_000_000,
        ) {
            let s = Schedule { frequency: f, starts_at: start };
            let d = due(&s, &sessions, next, last, now);
            // Overdue implies due, and never before it fell due.
            if d.overdue { prop_assert!(d.is_due); }
            if let (Some(o), Some(a)) = (d.overdue_from, d.due_at) { prop_assert!(o >= a); }
            if d.overdue_from.is_some() { prop_assert!(d.due_at.is_some()); }
            prop_assert_eq!(d.is_due, d.due_at.is_some_and(|a| a <= now));
            prop_assert_eq!(d.overdue, d.overdue_from.is_some_and(|o| o <= now));
            // Periodic and one-off schedules are never due before they start.
            if f != Frequency::EverySession && let Some(a) = d.due_at { prop_assert!(a >= start); }
            // The order of the sessions does not matter.
            let mut rev = sessions.clone();
            rev.reverse();
            prop_assert_eq!(due(&s, &rev, next, last, now), d);
        }

        #[test]
        fn overdue_stays_overdue_as_time_passes(
            f in any_frequency(),
            start in 0i64..1_000_000,
            sessions in prop::collection::vec(0i64..2_000_000, 0..8),
            last in prop::option::of(0i64..2_000_000),
            now in 0i64..3_000_000,
            later in 0i64..1_000_000,
        ) {
            // With the sessions all in the past at both times, time passing never clears an overdue.
            let s = Schedule { frequency: f, starts_at: start };
            let t1 = now.max(2_000_000);
            if due(&s, &sessions, None, last, t1).overdue {
                prop_assert!(due(&s, &sessions, None, last, t1 + later).overdue);
            }
        }

        #[test]
        fn completing_a_due_measure_clears_or_defers_it(
            f in any_frequency(),
            start in 0i64..1_000_000,
            sessions in prop::collection::vec(0i64..2_000_000, 0..8),
            next in prop::option::of(0i64..3_000_000),
            last in prop::option::of(0i64..2_000_000),
            now in 2_000_000i64..3_000_000,
        ) {
            // Whatever was due, a response completed now (later than every earlier response)
            // leaves it either not due or due strictly later than before.
            let s = Schedule { frequency: f, starts_at: start };
            let before = due(&s, &sessions, next, last, now);
            if before.is_due && last.is_none_or(|l| l <= now) {
                let after = due(&s, &sessions, next, Some(now), now);
                prop_assert!(!after.overdue);
                if let (Some(a), Some(b)) = (after.due_at, before.due_at) { prop_assert!(a > b); }
            }
        }
    }
}
