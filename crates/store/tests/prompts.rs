//! The rules engine's reads and writes in the store, on SQLite and PostgreSQL: the reduced
//! record `load_facts` reads, and opening many prompts at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{Env, ctx};
use concord_domain::measures::Registry;
use concord_domain::measures::score::{Answer, Answers};
use concord_domain::prompts::{CheckIn, PromptConfig, PromptKind, evaluate};
use concord_domain::values::{Attendance, DurationMinutes};
use concord_store::audit;
use concord_store::clients::{self, NewSession};
use concord_store::measures::{self, NewResponse, ResponseSource};
use concord_store::prompts;
use sqlx::Row;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const WEEKS: i64 = 60;

fn values(v: &[i32]) -> Answers {
    Answers::new(v.iter().map(|x| Answer::Value(*x)).collect())
}

/// `total` spread over `items` items of at most `max` each.
fn spread(total: i32, items: usize, max: i32) -> Vec<i32> {
    let mut left = total.clamp(0, max * items as i32);
    (0..items)
        .map(|_| {
            let v = left.min(max);
            left -= v;
            v
        })
        .collect()
}

/// 60 weeks of a worsening course: weekly attended sessions, PHQ-9, GAD-7, WSAS and session
/// feedback, daily check-ins with harm thoughts answered yes on four days a week (so more than
/// one INSERT's worth of safety prompts).
async fn seed_worsening_record(env: &Env) {
    let access = env.access().await;
    let reg = Registry::shipped().unwrap();
    let now = ctx().ts();
    let start = now - WEEKS * WEEK;
    let mut batch = Vec::new();
    let mut sessions = Vec::new();
    for w in 0..WEEKS {
        let at = start + w * WEEK;
        let sev = 8 + (w * 16 / WEEKS) as i32 + (w % 3) as i32;
        for (id, answers) in [
            ("phq9", [spread(sev, 8, 3), vec![0]].concat()),
            ("gad7", spread(sev * 7 / 9, 7, 3)),
            ("wsas", spread(sev * 40 / 27, 5, 8)),
            ("session_feedback", spread(36 - (w / 10) as i32 * 4, 4, 10)),
        ] {
            batch.push(NewResponse::scored(reg.get(id).unwrap(), values(&answers), at, ResponseSource::Clinician).unwrap());
        }
        for d in 0..7 {
            let harm = i32::from(d % 2 == 0);
            let answers = [spread(25, 5, 10), vec![harm]].concat();
            batch.push(
                NewResponse::scored(reg.get("checkin").unwrap(), values(&answers), at + d * DAY + 3600, ResponseSource::Clinician).unwrap(),
            );
        }
        sessions.push(NewSession {
            starts_at: time::OffsetDateTime::from_unix_timestamp(at).unwrap(),
            duration: DurationMinutes::new(50).unwrap(),
            attendance: Attendance::Attended,
        });
    }
    batch.retain(|r| r.completed_at <= now);
    measures::record_responses_bulk(&env.store, &ctx(), &access, batch).await.unwrap();
    clients::add_sessions(&env.store, &ctx(), &access, &sessions).await.unwrap();
}

/// `load_facts` leaves the unflagged check-ins (most of a record) in the table: the rules give
/// exactly the candidates (keys, evidence, words) of the whole record.
async fn reduced_facts_give_the_whole_records_candidates(env: &Env) {
    seed_worsening_record(env).await;
    let now = ctx().ts();
    let mut tx = env.store.begin_read().await.unwrap();
    let reduced = prompts::load_facts(&mut tx, env.practice_a, env.client, now).await.unwrap();
    // The whole record: every check-in, as the loader read them before.
    let rows = sqlx::query(
        "SELECT completed_at, flags_json FROM measure_responses WHERE practice_id = $1 AND client_id = $2 AND instrument_id = 'checkin' AND completed_at <= $3",
    )
    .bind(env.practice_a.to_string())
    .bind(env.client.to_string())
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut full = reduced.clone();
    full.check_ins = rows
        .iter()
        .map(|r| CheckIn {
            completed_at: r.try_get("completed_at").unwrap(),
            harm_thoughts: r.try_get::<String, _>("flags_json").unwrap().contains("safety"),
        })
        .collect();
    let flagged = full.check_ins.iter().filter(|c| c.harm_thoughts).count();
    assert!(flagged > 200, "{flagged}");
    assert_eq!(reduced.check_ins.len(), flagged, "only the flagged check-ins are read");
    assert!(full.check_ins.len() > flagged);
    let config = PromptConfig::default();
    let candidates = evaluate(&reduced, &config);
    assert_eq!(candidates, evaluate(&full, &config));
    for kind in [PromptKind::Safety, PromptKind::ReliableDeterioration, PromptKind::PersistentImpairment, PromptKind::AllianceDrop] {
        assert!(candidates.iter().any(|c| c.kind == kind), "{kind:?} in {:?}", candidates.iter().map(|c| &c.key).collect::<Vec<_>>());
    }
}
both_engines!(reduced_facts_give_the_whole_records_candidates);

/// The practice's audit actions, oldest first.
async fn audit_entries(env: &Env) -> Vec<String> {
    sqlx::query("SELECT action FROM audit_log WHERE practice_id = $1 ORDER BY seq")
        .bind(env.practice_a.to_string())
        .fetch_all(env.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("action").unwrap())
        .collect()
}

/// A record whose prompts were never raised (as after an import): one evaluation opens every
/// candidate, more than one multi-row INSERT's worth, each with its event and audit entry;
/// a second opens nothing.
async fn many_prompts_open_at_once_each_audited(env: &Env) {
    seed_worsening_record(env).await;
    // The writes opened the safety prompts one by one: start from none.
    sqlx::query("DELETE FROM prompts").execute(env.store.pool()).await.unwrap();
    let mut tx = env.store.begin_read().await.unwrap();
    let facts = prompts::load_facts(&mut tx, env.practice_a, env.client, ctx().ts()).await.unwrap();
    tx.commit().await.unwrap();
    let candidates = evaluate(&facts, &PromptConfig::default());
    assert!(candidates.len() > 200, "{}", candidates.len());
    let before = audit_entries(env).await;

    let first = prompts::evaluate_client(&env.store, &ctx(), env.practice_a, env.client).await.unwrap();
    assert_eq!(first.opened as usize, candidates.len());
    let held: Vec<String> = sqlx::query("SELECT prompt_key FROM prompts WHERE client_id = $1 ORDER BY prompt_key")
        .bind(env.client.to_string())
        .fetch_all(env.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("prompt_key").unwrap())
        .collect();
    let mut keys: Vec<String> = candidates.iter().map(|c| c.key.clone()).collect();
    keys.sort();
    assert_eq!(held, keys);
    let events: i64 = sqlx::query("SELECT COUNT(*) AS n FROM prompt_events WHERE client_id = $1 AND event = 'opened'")
        .bind(env.client.to_string())
        .fetch_one(env.store.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(events as usize, candidates.len());
    let after = audit_entries(env).await;
    assert_eq!(after.len() - before.len(), candidates.len());
    assert!(after[before.len()..].iter().all(|a| a == "prompt.open"), "{:?}", &after[before.len()..]);
    let report = audit::verify(env.store.pool()).await.unwrap();
    assert!(report.first_break.is_none(), "{:?}", report.first_break);

    let again = prompts::evaluate_client(&env.store, &ctx(), env.practice_a, env.client).await.unwrap();
    assert_eq!((again.opened, again.reopened), (0, 0));
}
both_engines!(many_prompts_open_at_once_each_audited);
