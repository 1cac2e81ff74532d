//! Measurement schedules per client, what is due, and the caseload's overdue list. The rules
//! are the domain's (`concord_domain::measures::schedule::due`); this module gathers the facts.

use super::record_event;
use super::responses::{instrument_from, require_active_client};
use crate::accounts::parse_id;
use crate::{Ctx, Store, StoreError, audit, flag};
use concord_domain::ids::{ClientId, PracticeId, ScheduleId, UserId};
use concord_domain::measures::InstrumentId;
use concord_domain::measures::schedule::{Due, Frequency, Schedule, due};
use concord_domain::policy::{CaseloadScope, RecordAccess};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// One active schedule of a client, with what is due at the request time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleRow {
    pub id: ScheduleId,
    pub instrument: InstrumentId,
    pub frequency: Frequency,
    pub starts_at: i64,
    pub created_by: UserId,
    pub created_at: i64,
    pub last_response_at: Option<i64>,
    pub due: Due,
}

/// What the portal shows: an assigned instrument and when it is due.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DueMeasure {
    pub instrument: InstrumentId,
    pub frequency: Frequency,
    pub last_response_at: Option<i64>,
    pub due: Due,
}

/// One line of the caseload's overdue list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OverdueMeasure {
    pub client_id: ClientId,
    pub instrument: InstrumentId,
    pub frequency: Frequency,
    pub due_at: i64,
    pub overdue_from: i64,
    pub last_response_at: Option<i64>,
}

fn frequency_from(r: &AnyRow) -> Result<Frequency, StoreError> {
    Frequency::parse(&r.try_get::<String, _>("frequency")?).ok_or_else(|| StoreError::Invalid("corrupt schedule frequency".into()))
}

/// A client's session facts for the due rules: attended session starts (up to now) and the
/// next booked session.
#[derive(Debug, Default)]
struct SessionFacts {
    attended: Vec<i64>,
    next: Option<i64>,
}

/// The facts for one (client, instrument) and the computed due state.
fn compute(schedule: &Schedule, sessions: Option<&SessionFacts>, last: Option<i64>, now: i64) -> Due {
    let empty = SessionFacts::default();
    let s = sessions.unwrap_or(&empty);
    due(schedule, &s.attended, s.next, last, now)
}

/// Rows of one client's active schedules with the latest response to each instrument.
async fn schedule_rows(conn: &mut AnyConnection, practice_id: PracticeId, client_id: ClientId) -> Result<Vec<AnyRow>, StoreError> {
    Ok(sqlx::query(
        "SELECT s.id, s.instrument_id, s.frequency, s.starts_at, s.created_by, s.created_at, \
           (SELECT MAX(r.completed_at) FROM measure_responses r WHERE r.practice_id = s.practice_id AND r.client_id = s.client_id AND r.instrument_id = s.instrument_id) AS last_at \
         FROM measure_schedules s WHERE s.practice_id = $1 AND s.client_id = $2 AND s.ended_at IS NULL ORDER BY s.instrument_id",
    )
    .bind(practice_id.to_string())
    .bind(client_id.to_string())
    .fetch_all(conn)
    .await?)
}

async fn client_sessions(
    conn: &mut AnyConnection,
    practice_id: PracticeId,
    client_id: ClientId,
    now: i64,
) -> Result<SessionFacts, StoreError> {
    let rows = sqlx::query(
        "SELECT starts_at, attendance FROM client_sessions WHERE practice_id = $1 AND client_id = $2 \
           AND ((attendance = 'attended' AND starts_at <= $3) OR (attendance = 'scheduled' AND starts_at > $3))",
    )
    .bind(practice_id.to_string())
    .bind(client_id.to_string())
    .bind(now)
    .fetch_all(conn)
    .await?;
    let mut facts = SessionFacts::default();
    for r in &rows {
        add_session(&mut facts, r)?;
    }
    Ok(facts)
}

fn add_session(facts: &mut SessionFacts, r: &AnyRow) -> Result<(), StoreError> {
    let at: i64 = r.try_get("starts_at")?;
    if r.try_get::<String, _>("attendance")? == "attended" {
        facts.attended.push(at);
    } else {
        facts.next = Some(facts.next.map_or(at, |n| n.min(at)));
    }
    Ok(())
}

/// One client's active schedules with their due state at `ctx.now`.
///
/// On a plain connection or a transaction's: its two statements need no common snapshot (a
/// session recorded between them only moves a due date, as it would a moment later).
pub(super) async fn client_schedules(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: ClientId,
) -> Result<Vec<ScheduleRow>, StoreError> {
    let rows = schedule_rows(&mut *conn, practice_id, client_id).await?;
    let needs_sessions = rows.iter().map(frequency_from).collect::<Result<Vec<_>, _>>()?.contains(&Frequency::EverySession);
    let sessions = if needs_sessions { Some(client_sessions(conn, practice_id, client_id, ctx.ts()).await?) } else { None };
    rows.iter()
        .map(|r| {
            let frequency = frequency_from(r)?;
            let starts_at: i64 = r.try_get("starts_at")?;
            let last: Option<i64> = r.try_get("last_at")?;
            Ok(ScheduleRow {
                id: parse_id(r, "id")?,
                instrument: instrument_from(r, "instrument_id")?,
                frequency,
                starts_at,
                created_by: parse_id(r, "created_by")?,
                created_at: r.try_get("created_at")?,
                last_response_at: last,
                due: compute(&Schedule { frequency, starts_at }, sessions.as_ref(), last, ctx.ts()),
            })
        })
        .collect()
}

/// Asks the client to complete `instrument` at `frequency`, from now on. A client has at most
/// one active schedule per instrument: setting another frequency ends the old schedule (kept
/// as history) and starts a new one; setting the same frequency again changes nothing and
/// returns the existing id. The caller checks that the instrument is in the practice's
/// registry. Refused for an archived client (Conflict).
pub async fn set_schedule(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    instrument: &InstrumentId,
    frequency: Frequency,
) -> Result<ScheduleId, StoreError> {
    let practice = access.practice_id().to_string();
    let client = access.client_id().to_string();
    let user = access.actor().user_id.to_string();
    let mut tx = store.begin().await?;
    require_active_client(&mut tx, access.practice_id(), access.client_id(), "setting measures").await?;
    let existing = sqlx::query(
        "SELECT id, frequency FROM measure_schedules WHERE practice_id = $1 AND client_id = $2 AND instrument_id = $3 AND ended_at IS NULL",
    )
    .bind(&practice)
    .bind(&client)
    .bind(instrument.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let mut ev = record_event(ctx, access, "schedule.set", "measure_schedule");
    let id = match existing {
        Some(r) if frequency_from(&r)? == frequency => {
            let id: ScheduleId = parse_id(&r, "id")?;
            ev.detail = format!("basis={} instrument={instrument} frequency={frequency} unchanged", access.basis().as_str());
            id
        }
        prior => {
            if let Some(r) = prior {
                sqlx::query("UPDATE measure_schedules SET ended_at = $1, ended_by = $2 WHERE id = $3 AND practice_id = $4")
                    .bind(ctx.ts())
                    .bind(&user)
                    .bind(r.try_get::<String, _>("id")?)
                    .bind(&practice)
                    .execute(&mut *tx)
                    .await?;
            }
            let id: ScheduleId = ctx.new_id(ScheduleId::new_at);
            sqlx::query(
                "INSERT INTO measure_schedules (id, practice_id, client_id, instrument_id, frequency, starts_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
            )
            .bind(id.to_string())
            .bind(&practice)
            .bind(&client)
            .bind(instrument.as_str())
            .bind(frequency.as_str())
            .bind(ctx.ts())
            .bind(&user)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique_or(e, "an active schedule for this instrument"))?;
            ev.detail = format!("basis={} instrument={instrument} frequency={frequency}", access.basis().as_str());
            id
        }
    };
    ev.record_id = Some(id.to_string());
    audit::append(&mut tx, &ev).await?;
    crate::prompts::mark_pending(&mut tx, ctx, access.practice_id(), access.client_id()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Ends one of the client's active schedules (kept as history). NotFound when it is not an
/// active schedule of this client.
pub async fn remove_schedule(store: &Store, ctx: &Ctx, access: &RecordAccess, id: ScheduleId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let r = sqlx::query(
        "UPDATE measure_schedules SET ended_at = $1, ended_by = $2 WHERE id = $3 AND practice_id = $4 AND client_id = $5 AND ended_at IS NULL",
    )
    .bind(ctx.ts())
    .bind(access.actor().user_id.to_string())
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    let mut ev = record_event(ctx, access, "schedule.remove", "measure_schedule");
    ev.record_id = Some(id.to_string());
    audit::append(&mut tx, &ev).await?;
    crate::prompts::mark_pending(&mut tx, ctx, access.practice_id(), access.client_id()).await?;
    tx.commit().await?;
    Ok(())
}

/// The client's active schedules, by instrument id, each with what is due at `ctx.now`.
pub async fn list_schedules(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<ScheduleRow>, StoreError> {
    let mut conn = store.reads().acquire().await?;
    let out = client_schedules(&mut conn, ctx, access.practice_id(), access.client_id()).await?;
    conn.release();
    store.audit_read(ctx, list_event(ctx, access, out.len(), "")).await?;
    Ok(out)
}

/// Audits a read of a client's schedules that a page served from memory (detail `cached`).
pub async fn audit_cached_schedules(store: &Store, ctx: &Ctx, access: &RecordAccess, count: usize) -> Result<(), StoreError> {
    store.audit_read(ctx, list_event(ctx, access, count, " cached")).await
}

fn list_event(ctx: &Ctx, access: &RecordAccess, count: usize, suffix: &str) -> audit::AuditEvent {
    let mut ev = record_event(ctx, access, "schedule.list", "measure_schedule");
    ev.detail = format!("basis={} count={count}{suffix}", access.basis().as_str());
    ev
}

/// Until when schedules read at `now` stay as read by the clock alone (`None`: until something
/// is written): the next due or overdue time among them and, for an every-session schedule,
/// `next_session`, the client's first session start after `now` whatever its attendance (a
/// booked session's start ends its window; an attended one counts once its start has passed).
pub fn held_until(rows: &[ScheduleRow], next_session: Option<i64>, now: i64) -> Option<i64> {
    rows.iter()
        .flat_map(|r| [r.due.due_at, r.due.overdue_from, next_session.filter(|_| r.frequency == Frequency::EverySession)])
        .flatten()
        .filter(|t| *t > now)
        .min()
}

/// The caseload's overdue measures, and when that list next changes by the clock alone.
#[derive(Debug, Default)]
pub struct CaseloadOverdue {
    /// Longest overdue first.
    pub measures: Vec<OverdueMeasure>,
    /// Per client with an active schedule that is not yet overdue but will be: the earliest
    /// time it becomes overdue if nothing is completed (a cache of the list holds until then).
    pub next_overdue_at: HashMap<ClientId, i64>,
}

/// Overdue measures across the caseload (the practice for admins, own care teams for
/// everyone else; active clients only), longest overdue first. Audited as one list entry.
pub async fn overdue_for_caseload(store: &Store, ctx: &Ctx, scope: &CaseloadScope) -> Result<CaseloadOverdue, StoreError> {
    let practice = scope.practice_id().to_string();
    let user = scope.actor().user_id.to_string();
    let now = ctx.ts();
    let mut tx = store.begin_read().await?;
    let schedules = sqlx::query(
        "SELECT s.client_id, s.instrument_id, s.frequency, s.starts_at, \
           (SELECT MAX(r.completed_at) FROM measure_responses r WHERE r.practice_id = s.practice_id AND r.client_id = s.client_id AND r.instrument_id = s.instrument_id) AS last_at \
         FROM measure_schedules s JOIN clients c ON c.id = s.client_id AND c.practice_id = s.practice_id \
         WHERE s.practice_id = $1 AND s.ended_at IS NULL AND c.status = 'active' \
           AND ($3 = 1 OR EXISTS (SELECT 1 FROM care_team t WHERE t.client_id = s.client_id AND t.user_id = $2))",
    )
    .bind(&practice)
    .bind(&user)
    .bind(flag(scope.whole_practice()))
    .fetch_all(&mut *tx)
    .await?;
    // Sessions only of in-scope clients that have an active every-session schedule, and
    // only from that schedule's start.
    let session_rows = sqlx::query(
        // Driven from the (few) every-session schedules, so the sessions of clients without one
        // are never visited; DISTINCT because a client may have several such schedules.
        "SELECT DISTINCT cs.id, cs.client_id, cs.starts_at, cs.attendance FROM measure_schedules s \
           JOIN client_sessions cs ON cs.practice_id = s.practice_id AND cs.client_id = s.client_id AND cs.starts_at >= s.starts_at \
         WHERE s.practice_id = $1 AND s.ended_at IS NULL AND s.frequency = 'every_session' \
           AND ((cs.attendance = 'attended' AND cs.starts_at <= $4) OR (cs.attendance = 'scheduled' AND cs.starts_at > $4)) \
           AND ($3 = 1 OR EXISTS (SELECT 1 FROM care_team t WHERE t.client_id = cs.client_id AND t.user_id = $2))",
    )
    .bind(&practice)
    .bind(&user)
    .bind(flag(scope.whole_practice()))
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let mut sessions: HashMap<String, SessionFacts> = HashMap::new();
    for r in &session_rows {
        add_session(sessions.entry(r.try_get::<String, _>("client_id")?).or_default(), r)?;
    }
    let mut out = Vec::new();
    let mut next_overdue_at: HashMap<ClientId, i64> = HashMap::new();
    for r in &schedules {
        let client: String = r.try_get("client_id")?;
        let client_id: ClientId = client.parse().map_err(|_| StoreError::Invalid("corrupt id in column client_id".into()))?;
        let frequency = frequency_from(r)?;
        let starts_at: i64 = r.try_get("starts_at")?;
        let last: Option<i64> = r.try_get("last_at")?;
        let d = compute(&Schedule { frequency, starts_at }, sessions.get(&client), last, now);
        if let (false, Some(at)) = (d.overdue, d.overdue_from) {
            next_overdue_at.entry(client_id).and_modify(|t| *t = (*t).min(at)).or_insert(at);
        }
        if let (true, Some(due_at), Some(overdue_from)) = (d.overdue, d.due_at, d.overdue_from) {
            out.push(OverdueMeasure {
                client_id,
                instrument: instrument_from(r, "instrument_id")?,
                frequency,
                due_at,
                overdue_from,
                last_response_at: last,
            });
        }
    }
    out.sort_by(|a, b| (a.overdue_from, a.client_id, &a.instrument).cmp(&(b.overdue_from, b.client_id, &b.instrument)));
    let mut ev = ctx.event(Some(&scope.actor()), &practice, "measures.overdue_list", "client_list");
    ev.detail = format!("count={} whole_practice={}", out.len(), scope.whole_practice());
    tx.commit().await?;
    store.audit_read(ctx, ev).await?;
    Ok(CaseloadOverdue { measures: out, next_overdue_at })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use concord_domain::ids::{ScheduleId, UserId};

    fn row(frequency: Frequency, due_at: Option<i64>, overdue_from: Option<i64>, now: i64) -> ScheduleRow {
        ScheduleRow {
            id: ScheduleId::new_at(1_700_000_000_000, [1; 10]),
            instrument: InstrumentId::parse("phq9").unwrap(),
            frequency,
            starts_at: 0,
            created_by: UserId::new_at(1_700_000_000_000, [2; 10]),
            created_at: 0,
            last_response_at: None,
            due: Due { due_at, overdue_from, is_due: due_at.is_some_and(|d| d <= now), overdue: overdue_from.is_some_and(|o| o <= now) },
        }
    }

    #[test]
    fn schedules_hold_until_their_next_due_or_overdue_time() {
        let now = 1_000;
        assert_eq!(held_until(&[], Some(1_100), now), None, "nothing scheduled: only a write changes it");
        let weekly = row(Frequency::Weekly, Some(1_500), Some(2_000), now);
        assert_eq!(held_until(std::slice::from_ref(&weekly), Some(1_100), now), Some(1_500), "becomes due; sessions do not move it");
        let due = row(Frequency::Daily, Some(900), Some(1_200), now);
        assert_eq!(held_until(&[weekly.clone(), due.clone()], None, now), Some(1_200), "the earliest change of any");
        let overdue = row(Frequency::Weekly, Some(100), Some(200), now);
        assert_eq!(held_until(&[overdue], None, now), None, "already overdue: the clock changes nothing more");
        assert_eq!(held_until(&[row(Frequency::Once, None, None, now)], None, now), None, "a completed one-off");
        let session = row(Frequency::EverySession, Some(5_000), None, now);
        assert_eq!(held_until(&[weekly.clone(), session.clone()], Some(1_300), now), Some(1_300), "every-session: the next session start");
        assert_eq!(held_until(&[weekly, session], None, now), Some(1_500), "no session ahead: its own due time");
    }

    /// The rule, checked against the domain's `due` itself for every frequency: between `now`
    /// and `held_until` nothing the page shows changes, whatever the sessions and the last
    /// response.
    #[test]
    fn due_state_holds_until_held_until() {
        let sessions: [(i64, bool); 4] = [(1_000, true), (90_000, true), (200_000, false), (400_000, true)];
        for (frequency, last) in Frequency::ALL.into_iter().flat_map(|f| [None, Some(500), Some(95_000), Some(300_000)].map(|l| (f, l))) {
            let schedule = Schedule { frequency, starts_at: 0 };
            for now in (0..1_500_000).step_by(7_919) {
                let facts = |at: i64| {
                    let attended: Vec<i64> = sessions.iter().filter(|(s, a)| *a && *s <= at).map(|(s, _)| *s).collect();
                    let next = sessions.iter().filter(|(s, a)| !*a && *s > at).map(|(s, _)| *s).min();
                    due(&schedule, &attended, next, last, at)
                };
                let read = facts(now);
                let r = ScheduleRow { due: read, ..row(frequency, None, None, now) };
                let next_session = sessions.iter().map(|(s, _)| *s).filter(|s| *s > now).min();
                let until = held_until(&[r], next_session, now).unwrap_or(1_600_000);
                for t in (now..until).step_by(997) {
                    let later = facts(t);
                    assert_eq!(
                        (later.due_at, later.overdue_from),
                        (read.due_at, read.overdue_from),
                        "last {last:?}, read at {now}, at {t}"
                    );
                    assert_eq!((later.is_due, later.overdue), (read.is_due, read.overdue), "last {last:?}, read at {now}, at {t}");
                }
            }
        }
    }
}
