//! Measurement-based care in the store, on SQLite and PostgreSQL: responses, schedules and
//! the overdue list, portal links and the portal, imported definitions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{Env, contains, ctx, ctx_at};
use concord_domain::measures::schedule::Frequency;
use concord_domain::measures::score::{Answer, Answers};
use concord_domain::measures::{InstrumentId, Registry};
use concord_domain::policy;
use concord_domain::values::{Attendance, DurationMinutes};
use concord_store::audit::{self, AuditFilter};
use concord_store::measures::{self, NewResponse, PortalError, ResponseSource};
use concord_store::{AuditQueue, Ctx, Store, StoreError, clients};
use sqlx::Row;

const DAY: i64 = 86_400;
const NOTE: &str = "Slept badly after the argument with my sister";

fn registry() -> Registry {
    Registry::shipped().unwrap()
}

fn answers(v: &[i32]) -> Answers {
    Answers::new(v.iter().map(|x| Answer::Value(*x)).collect())
}

fn phq9(v: &[i32], completed_at: i64, source: ResponseSource) -> NewResponse {
    NewResponse::scored(registry().get("phq9").unwrap(), answers(v), completed_at, source).unwrap()
}

fn iid(s: &str) -> InstrumentId {
    InstrumentId::parse(s).unwrap()
}

async fn audit_actions(env: &Env, practice: &str) -> Vec<audit::AuditEntry> {
    audit::list(env.store.pool(), practice, &AuditFilter { limit: 1000, ..Default::default() }).await.unwrap()
}

async fn assert_chain_intact(env: &Env) {
    let report = audit::verify(env.store.pool()).await.unwrap();
    assert!(report.first_break.is_none(), "{:?}", report.first_break);
}

// ---- responses ----------------------------------------------------------------------------

async fn record_and_list_responses(env: &Env) {
    let access = env.access().await;
    let now = ctx().ts();
    // A paper form from two weeks ago, a clinician entry today, a GAD-7 in between.
    let mut paper = phq9(&[2, 2, 2, 2, 2, 2, 2, 1, 0], now - 14 * DAY, ResponseSource::Paper);
    paper.note = Some(format!("  {NOTE}  "));
    let first = measures::record_response(&env.store, &ctx(), &access, paper).await.unwrap();
    assert_eq!(first.total, Some(15));
    assert_eq!(first.band.as_deref(), Some("moderately_severe"));
    assert_eq!(first.caseness, Some(true));
    assert!(first.flags.is_empty());
    assert_eq!(first.note.as_deref(), Some(NOTE));
    assert_eq!(first.entered_by, Some(env.owner.id));
    let today = measures::record_response(&env.store, &ctx(), &access, phq9(&[1, 1, 0, 0, 1, 0, 0, 0, 1], now, ResponseSource::Clinician))
        .await
        .unwrap();
    assert_eq!(today.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>(), vec!["safety"]);
    let gad7 = registry().get("gad7").unwrap().clone();
    let g = NewResponse::scored(&gad7, answers(&[1, 1, 1, 1, 1, 1, 1]), now - 7 * DAY, ResponseSource::Api).unwrap();
    measures::record_response(&env.store, &ctx(), &access, g).await.unwrap();

    // Listed oldest first, with the full score and its convention kept.
    let all = measures::list_responses(&env.store, &ctx(), &access, None).await.unwrap();
    assert_eq!(all.iter().map(|r| r.instrument.as_str()).collect::<Vec<_>>(), vec!["phq9", "gad7", "phq9"]);
    assert_eq!(all[0].id, first.id);
    assert_eq!(all[0].note.as_deref(), Some(NOTE));
    assert_eq!(all[0].score.convention.caseness.as_ref().unwrap().value, 10);
    assert_eq!(all[0].score.convention.reliable_change.as_ref().unwrap().threshold, 6);
    assert_eq!(all[0].answers, answers(&[2, 2, 2, 2, 2, 2, 2, 1, 0]));
    assert_eq!(all[2].flags, today.flags);
    assert_eq!(all[2].source, ResponseSource::Clinician);
    let only = measures::list_responses(&env.store, &ctx(), &access, Some("phq9")).await.unwrap();
    assert_eq!(only.iter().map(|r| r.total).collect::<Vec<_>>(), vec![Some(15), Some(4)]);
    let points = measures::list_score_points(&env.store, &ctx(), &access, Some("phq9")).await.unwrap();
    assert_eq!(
        points.iter().map(|p| (p.total, p.band.as_deref())).collect::<Vec<_>>(),
        vec![(Some(15), Some("moderately_severe")), (Some(4), Some("minimal"))]
    );
    assert!(matches!(measures::list_responses(&env.store, &ctx(), &access, Some("../x")).await, Err(StoreError::Invalid(_))));

    // Up to five minutes ahead is clock skew; beyond is refused, nothing stored.
    measures::record_response(&env.store, &ctx(), &access, phq9(&[0; 9], now + 300, ResponseSource::Api)).await.unwrap();
    let err = measures::record_response(&env.store, &ctx(), &access, phq9(&[0; 9], now + 301, ResponseSource::Api)).await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(m) if m.contains("future")), "{err:?}");
    // Staff cannot claim a portal submission; a score for another instrument is refused.
    let err = measures::record_response(&env.store, &ctx(), &access, phq9(&[0; 9], now, ResponseSource::Portal)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    let mut wrong = phq9(&[0; 9], now, ResponseSource::Api);
    wrong.instrument = iid("gad7");
    assert!(matches!(measures::record_response(&env.store, &ctx(), &access, wrong).await, Err(StoreError::Invalid(_))));
    let mut long = phq9(&[0; 9], now, ResponseSource::Api);
    long.note = Some("x".repeat(measures::NOTE_MAX_CHARS + 1));
    assert!(matches!(measures::record_response(&env.store, &ctx(), &access, long).await, Err(StoreError::Invalid(_))));
    assert_eq!(measures::list_responses(&env.store, &ctx(), &access, None).await.unwrap().len(), 4);

    // Idempotency: the same key and submission returns the first; another submission conflicts.
    let mut a = phq9(&[3; 9], now - DAY, ResponseSource::Api);
    a.idempotency_key = Some("form-123".into());
    let r1 = measures::record_response(&env.store, &ctx(), &access, a.clone()).await.unwrap();
    let r2 = measures::record_response(&env.store, &ctx_at(5), &access, a.clone()).await.unwrap();
    assert_eq!(r1.id, r2.id);
    let mut b = a.clone();
    b.answers = answers(&[2; 9]);
    b.score = phq9(&[2; 9], now - DAY, ResponseSource::Api).score;
    assert!(matches!(measures::record_response(&env.store, &ctx(), &access, b).await, Err(StoreError::Conflict(_))));
    let mut bad_key = phq9(&[0; 9], now, ResponseSource::Api);
    bad_key.idempotency_key = Some("has space".into());
    assert!(matches!(measures::record_response(&env.store, &ctx(), &access, bad_key).await, Err(StoreError::Invalid(_))));
    assert_eq!(measures::list_responses(&env.store, &ctx(), &access, None).await.unwrap().len(), 5);

    // Audited, with ids and kinds only.
    let entries = audit_actions(env, &env.practice_a.to_string()).await;
    let count = |a: &str| entries.iter().filter(|e| e.action == a).count();
    assert_eq!(count("response.create"), 5);
    assert_eq!(count("response.replay"), 1);
    assert!(count("response.list") >= 5);
    for e in entries.iter().filter(|e| e.action.starts_with("response.")) {
        assert_eq!(e.client_id.as_deref(), Some(env.client.to_string().as_str()));
        assert_eq!(e.actor_id.as_deref(), Some(env.owner.id.to_string().as_str()));
        assert!(!e.detail.contains("Slept"));
    }
    assert_chain_intact(env).await;
}
both_engines!(record_and_list_responses);

/// A note is sealed with the client's data key, read only for a submission that has one; a
/// replay of such a response without its note reads the key to return the stored note.
async fn notes_are_sealed_and_replays_read_the_key(env: &Env) {
    let access = env.access().await;
    let note = "Slept badly after the move";
    let mut with_note = phq9(&[1; 9], ctx().ts() - DAY, ResponseSource::Api);
    with_note.note = Some(note.into());
    with_note.idempotency_key = Some("noted-1".into());
    let stored = measures::record_response(&env.store, &ctx(), &access, with_note.clone()).await.unwrap();
    assert_eq!(stored.note.as_deref(), Some(note));
    let row = sqlx::query("SELECT note_ct FROM measure_responses WHERE id = $1")
        .bind(stored.id.to_string())
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    let sealed: Vec<u8> = row.try_get("note_ct").unwrap();
    assert!(!sealed.is_empty() && !String::from_utf8_lossy(&sealed).contains("Slept"), "stored sealed");
    let mut again = with_note;
    again.note = None;
    let replayed = measures::record_response(&env.store, &ctx_at(5), &access, again).await.unwrap();
    assert_eq!((replayed.id, replayed.note.as_deref()), (stored.id, Some(note)), "the replay returns the stored note");
    let listed = measures::list_responses(&env.store, &ctx(), &access, None).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.note.as_deref()).collect::<Vec<_>>(), [Some(note)]);
    assert_chain_intact(env).await;
}
both_engines!(notes_are_sealed_and_replays_read_the_key);

async fn no_access_across_care_teams_and_practices(env: &Env) {
    let access = env.access().await;
    measures::record_response(&env.store, &ctx(), &access, phq9(&[1; 9], ctx().ts(), ResponseSource::Paper)).await.unwrap();
    let b_access = env.b_access().await;
    measures::record_response(&env.store, &ctx(), &b_access, phq9(&[2; 9], ctx().ts(), ResponseSource::Paper)).await.unwrap();
    // No decision can be had for a client outside one's care team or practice.
    for (who, client) in [
        (&env.other, env.client),
        (&env.admin, env.client),
        (&env.b_clinician, env.client),
        (&env.owner, env.b_client),
        (&env.admin, env.b_client),
    ] {
        let r = clients::record_access(&env.store, &ctx(), &who.actor(), client).await;
        assert!(matches!(r, Err(StoreError::NotFound)), "{} reached {client}", who.email);
    }
    // Each decision reaches its own client only.
    let mine = measures::list_responses(&env.store, &ctx(), &access, None).await.unwrap();
    let theirs = measures::list_responses(&env.store, &ctx(), &b_access, None).await.unwrap();
    assert_eq!(mine.iter().map(|r| r.total).collect::<Vec<_>>(), vec![Some(9)]);
    assert_eq!(theirs.iter().map(|r| r.total).collect::<Vec<_>>(), vec![Some(18)]);
    assert!(mine.iter().all(|r| r.client_id == env.client));
    // Another client's schedule or link id is not found under this decision.
    let their_schedule = measures::set_schedule(&env.store, &ctx(), &b_access, &iid("phq9"), Frequency::Weekly).await.unwrap();
    assert!(matches!(measures::remove_schedule(&env.store, &ctx(), &access, their_schedule).await, Err(StoreError::NotFound)));
    let (their_link, _) = measures::create_portal_link(&env.store, &ctx(), &b_access, ctx().ts() + DAY, None).await.unwrap();
    assert!(matches!(measures::revoke_portal_link(&env.store, &ctx(), &access, their_link).await, Err(StoreError::NotFound)));
    assert!(measures::list_portal_links(&env.store, &ctx(), &access).await.unwrap().is_empty());
}
both_engines!(no_access_across_care_teams_and_practices);

async fn notes_are_encrypted(env: &Env) {
    let access = env.access().await;
    let mut r = phq9(&[1; 9], ctx().ts(), ResponseSource::Clinician);
    r.note = Some(NOTE.into());
    let rec = measures::record_response(&env.store, &ctx(), &access, r).await.unwrap();
    let row = sqlx::query("SELECT note_ct, answers_json, score_json, flags_json FROM measure_responses WHERE id = $1")
        .bind(rec.id.to_string())
        .fetch_one(env.store.pool())
        .await
        .unwrap();
    let ct: Vec<u8> = row.try_get("note_ct").unwrap();
    assert!(!contains(&ct, b"Slept"));
    assert!(!contains(&ct, b"sister"));
    for col in ["answers_json", "score_json", "flags_json"] {
        assert!(!row.try_get::<String, _>(col).unwrap().contains("sister"));
    }
    // Moved to another row, the ciphertext does not open.
    let other = measures::record_response(&env.store, &ctx(), &access, phq9(&[0; 9], ctx().ts(), ResponseSource::Clinician)).await.unwrap();
    sqlx::query("UPDATE measure_responses SET note_ct = $1 WHERE id = $2")
        .bind(&ct)
        .bind(other.id.to_string())
        .execute(env.store.pool())
        .await
        .unwrap();
    assert!(matches!(measures::list_responses(&env.store, &ctx(), &access, None).await, Err(StoreError::Crypto(_))));
    sqlx::query("UPDATE measure_responses SET note_ct = NULL WHERE id = $1")
        .bind(other.id.to_string())
        .execute(env.store.pool())
        .await
        .unwrap();
    if env.engine == common::Engine::Sqlite {
        assert!(!contains(&env.sqlite_bytes(), b"argument with my sister"));
    }
}
both_engines!(notes_are_encrypted);

// ---- schedules ----------------------------------------------------------------------------

async fn schedules_and_overdue(env: &Env) {
    let access = env.access().await;
    let t = ctx().ts();
    let weekly = measures::set_schedule(&env.store, &ctx(), &access, &iid("phq9"), Frequency::Weekly).await.unwrap();
    // Same frequency again: unchanged. Another: replaces.
    assert_eq!(measures::set_schedule(&env.store, &ctx_at(10), &access, &iid("phq9"), Frequency::Weekly).await.unwrap(), weekly);
    let session = measures::set_schedule(&env.store, &ctx(), &access, &iid("gad7"), Frequency::Daily).await.unwrap();
    let session2 = measures::set_schedule(&env.store, &ctx(), &access, &iid("gad7"), Frequency::EverySession).await.unwrap();
    assert_ne!(session, session2);
    let once = measures::set_schedule(&env.store, &ctx(), &access, &iid("wsas"), Frequency::Once).await.unwrap();
    let list = measures::list_schedules(&env.store, &ctx(), &access).await.unwrap();
    assert_eq!(
        list.iter().map(|s| (s.instrument.as_str(), s.frequency)).collect::<Vec<_>>(),
        vec![("gad7", Frequency::EverySession), ("phq9", Frequency::Weekly), ("wsas", Frequency::Once)]
    );
    // PHQ-9 and WSAS are due now; GAD-7 waits for a session.
    let due: Vec<(&str, bool)> = list.iter().map(|s| (s.instrument.as_str(), s.due.is_due)).collect();
    assert_eq!(due, vec![("gad7", false), ("phq9", true), ("wsas", true)]);

    // A session attended on day 1 with no GAD-7; PHQ-9 answered on day 1; nothing else.
    clients::add_session(
        &env.store,
        &ctx(),
        &access,
        common::T0 + time::Duration::days(1),
        DurationMinutes::new(50).unwrap(),
        Attendance::Attended,
    )
    .await
    .unwrap();
    measures::record_response(&env.store, &ctx_at(DAY), &access, phq9(&[1; 9], t + DAY, ResponseSource::Clinician)).await.unwrap();

    // Day 3: GAD-7 overdue (session day 1 + one day), PHQ-9 not yet due (day 8), WSAS not yet overdue.
    let scope = policy::caseload_scope(&env.owner.actor());
    let day3 = measures::overdue_for_caseload(&env.store, &ctx_at(3 * DAY), &scope).await.unwrap();
    assert_eq!(day3.next_overdue_at.get(&env.client), Some(&(t + 7 * DAY)), "the list next changes when WSAS falls overdue");
    let overdue = day3.measures;
    assert_eq!(overdue.iter().map(|o| o.instrument.as_str()).collect::<Vec<_>>(), vec!["gad7"]);
    assert_eq!(overdue[0].client_id, env.client);
    assert_eq!(overdue[0].due_at, t + DAY);
    // Day 12: PHQ-9 overdue (due day 8, +2), WSAS overdue (day 7).
    let overdue = measures::overdue_for_caseload(&env.store, &ctx_at(12 * DAY), &scope).await.unwrap().measures;
    assert_eq!(overdue.iter().map(|o| o.instrument.as_str()).collect::<Vec<_>>(), vec!["gad7", "wsas", "phq9"]);
    // Whole practice for the admin; nothing for a clinician off the team or another practice.
    let admin_scope = policy::caseload_scope(&env.admin.actor());
    assert_eq!(measures::overdue_for_caseload(&env.store, &ctx_at(12 * DAY), &admin_scope).await.unwrap().measures.len(), 3);
    let other_scope = policy::caseload_scope(&env.other.actor());
    assert!(measures::overdue_for_caseload(&env.store, &ctx_at(12 * DAY), &other_scope).await.unwrap().measures.is_empty());
    let b_scope = policy::caseload_scope(&env.b_clinician.actor());
    assert!(measures::overdue_for_caseload(&env.store, &ctx_at(12 * DAY), &b_scope).await.unwrap().measures.is_empty());

    // Completing the GAD-7 (a paper form dated the session day) clears it; removing WSAS too.
    let gad7 = registry().get("gad7").unwrap().clone();
    let g = NewResponse::scored(&gad7, answers(&[0; 7]), t + DAY, ResponseSource::Paper).unwrap();
    measures::record_response(&env.store, &ctx_at(12 * DAY), &access, g).await.unwrap();
    measures::remove_schedule(&env.store, &ctx_at(12 * DAY), &access, once).await.unwrap();
    assert!(matches!(measures::remove_schedule(&env.store, &ctx_at(12 * DAY), &access, once).await, Err(StoreError::NotFound)));
    let overdue = measures::overdue_for_caseload(&env.store, &ctx_at(12 * DAY), &scope).await.unwrap().measures;
    assert_eq!(overdue.iter().map(|o| o.instrument.as_str()).collect::<Vec<_>>(), vec!["phq9"]);
    let list = measures::list_schedules(&env.store, &ctx_at(12 * DAY), &access).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().find(|s| s.instrument.as_str() == "phq9").unwrap().due.overdue);

    // An archived client drops off the overdue list and takes no new schedules.
    let access = env.access().await;
    common::archive_client(&env.store, &access).await;
    assert!(measures::overdue_for_caseload(&env.store, &ctx_at(12 * DAY), &scope).await.unwrap().measures.is_empty());
    assert!(matches!(
        measures::set_schedule(&env.store, &ctx(), &access, &iid("sure"), Frequency::Once).await,
        Err(StoreError::Conflict(_))
    ));

    let entries = audit_actions(env, &env.practice_a.to_string()).await;
    assert!(entries.iter().any(|e| e.action == "measures.overdue_list" && e.record_kind == "client_list"));
    assert_eq!(entries.iter().filter(|e| e.action == "schedule.set").count(), 5);
    assert_chain_intact(env).await;
}
both_engines!(schedules_and_overdue);

// ---- portal -------------------------------------------------------------------------------

async fn portal_link_lifecycle(env: &Env) {
    let access = env.access().await;
    let t = ctx().ts();
    measures::set_schedule(&env.store, &ctx(), &access, &iid("checkin"), Frequency::Daily).await.unwrap();
    let mut paper = phq9(&[1; 9], t - DAY, ResponseSource::Paper);
    paper.note = Some("clinician's remark".into());
    measures::record_response(&env.store, &ctx(), &access, paper).await.unwrap();

    // Bad expiries and PINs.
    assert!(matches!(measures::create_portal_link(&env.store, &ctx(), &access, t, None).await, Err(StoreError::Invalid(_))));
    assert!(matches!(measures::create_portal_link(&env.store, &ctx(), &access, t + 181 * DAY, None).await, Err(StoreError::Invalid(_))));
    assert!(matches!(measures::create_portal_link(&env.store, &ctx(), &access, t + DAY, Some("12a4")).await, Err(StoreError::Invalid(_))));

    let (link_id, secret) = measures::create_portal_link(&env.store, &ctx(), &access, t + 7 * DAY, None).await.unwrap();
    assert!(secret.len() >= 43, "256-bit secret, base64url");
    let portal = measures::open_portal(&env.store, &ctx_at(60), &secret, None).await.unwrap();
    assert_eq!((portal.client_id(), portal.practice_id(), portal.link_id()), (env.client, env.practice_a, link_id));

    // What the portal may do.
    assert_eq!(measures::portal_client_first_name(&env.store, &ctx(), &portal).await.unwrap(), "Casey");
    let due = measures::portal_due(&env.store, &ctx(), &portal).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].instrument.as_str(), "checkin");
    assert!(due[0].due.is_due);
    let checkin = registry().get("checkin").unwrap().clone();
    let mut c = NewResponse::scored(&checkin, answers(&[6, 5, 4, 7, 8, 0]), 0, ResponseSource::Api).unwrap();
    c.note = Some("Better day, walked the dog".into());
    c.idempotency_key = Some("portal-1".into());
    let rec = measures::portal_record_response(&env.store, &ctx_at(120), &portal, c.clone()).await.unwrap();
    assert_eq!(rec.source, ResponseSource::Portal);
    assert_eq!(rec.completed_at, t + 120, "the portal dates responses itself");
    assert_eq!(rec.entered_by, None);
    assert_eq!(rec.portal_link_id, Some(link_id));
    // A double submit returns the first.
    assert_eq!(measures::portal_record_response(&env.store, &ctx_at(130), &portal, c).await.unwrap().id, rec.id);
    // Only what is assigned.
    let err = measures::portal_record_response(&env.store, &ctx(), &portal, phq9(&[0; 9], t, ResponseSource::Portal)).await.unwrap_err();
    assert!(matches!(err, StoreError::NotAssigned), "{err:?}");
    let due = measures::portal_due(&env.store, &ctx_at(180), &portal).await.unwrap();
    assert!(!due[0].due.is_due);
    // Own trend and own notes; never the clinician's note.
    let mine = measures::portal_list_responses(&env.store, &ctx(), &portal).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].instrument.as_str(), "phq9");
    assert_eq!(mine[0].total, Some(9));
    assert_eq!(mine[0].note, None);
    assert_eq!(mine[1].note.as_deref(), Some("Better day, walked the dog"));

    // A browser session: resumes without the secret, until revoked or expired.
    let (session, session_expires) = measures::create_portal_session(&env.store, &ctx(), &portal).await.unwrap();
    assert_eq!(session_expires, t + 2 * 3600);
    assert_eq!(measures::resume_portal(&env.store, &ctx_at(3600), &session).await.unwrap(), portal);
    assert!(matches!(measures::resume_portal(&env.store, &ctx_at(2 * 3600), &session).await, Err(PortalError::NotFound)));
    assert!(matches!(measures::resume_portal(&env.store, &ctx(), "nonsense").await, Err(PortalError::NotFound)));
    let (session, _) = measures::create_portal_session(&env.store, &ctx(), &portal).await.unwrap();
    measures::end_portal_session(&env.store, &session).await.unwrap();
    assert!(matches!(measures::resume_portal(&env.store, &ctx(), &session).await, Err(PortalError::NotFound)));

    // Expiry (a later clock), unknown secrets.
    assert!(measures::open_portal(&env.store, &ctx_at(7 * DAY - 1), &secret, None).await.is_ok());
    assert!(matches!(measures::open_portal(&env.store, &ctx_at(7 * DAY), &secret, None).await, Err(PortalError::Expired)));
    assert!(matches!(measures::open_portal(&env.store, &ctx(), "not-a-secret", None).await, Err(PortalError::NotFound)));
    assert!(matches!(measures::open_portal(&env.store, &ctx(), "", None).await, Err(PortalError::NotFound)));
    assert!(matches!(measures::open_portal(&env.store, &ctx(), &"x".repeat(10_000), None).await, Err(PortalError::NotFound)));

    // Revocation takes effect at once, sessions included.
    let (session, _) = measures::create_portal_session(&env.store, &ctx(), &portal).await.unwrap();
    measures::revoke_portal_link(&env.store, &ctx_at(300), &access, link_id).await.unwrap();
    assert!(matches!(measures::open_portal(&env.store, &ctx_at(301), &secret, None).await, Err(PortalError::Revoked)));
    assert!(matches!(measures::resume_portal(&env.store, &ctx_at(301), &session).await, Err(PortalError::NotFound)));
    assert!(matches!(measures::revoke_portal_link(&env.store, &ctx(), &access, link_id).await, Err(StoreError::NotFound)));
    let links = measures::list_portal_links(&env.store, &ctx_at(400), &access).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].revoked_at, Some(t + 300));
    assert!(links[0].last_opened_at.is_some());
    assert!(!links[0].has_pin);

    // An archived client's links stop working.
    let (_, live) = measures::create_portal_link(&env.store, &ctx(), &access, t + DAY, None).await.unwrap();
    let (session, _) =
        measures::create_portal_session(&env.store, &ctx(), &measures::open_portal(&env.store, &ctx(), &live, None).await.unwrap())
            .await
            .unwrap();
    common::archive_client(&env.store, &access).await;
    assert!(matches!(measures::open_portal(&env.store, &ctx(), &live, None).await, Err(PortalError::ClientInactive)));
    assert!(matches!(measures::resume_portal(&env.store, &ctx(), &session).await, Err(PortalError::ClientInactive)));

    // The secrets are stored nowhere in plaintext.
    let rows = sqlx::query("SELECT secret_hash FROM portal_links").fetch_all(env.store.pool()).await.unwrap();
    for r in &rows {
        let h: String = r.try_get("secret_hash").unwrap();
        assert_ne!(h, secret);
        assert!(!h.contains(&secret) && !h.contains(&live));
    }
    let audit_rows = audit_actions(env, &env.practice_a.to_string()).await;
    assert!(audit_rows.iter().all(|e| !e.detail.contains(&secret) && !e.detail.contains(&live)));
    if env.engine == common::Engine::Sqlite {
        let bytes = env.sqlite_bytes();
        for s in [&secret, &live] {
            assert!(!contains(&bytes, s.as_bytes()));
        }
        assert!(!contains(&bytes, b"walked the dog"));
    }

    // Every portal access is audited without an actor, under the link.
    let portal_entries: Vec<_> = audit_rows.iter().filter(|e| e.record_kind == "portal").collect();
    for action in ["portal.open", "portal.name", "portal.due", "portal.response.create", "portal.response.list", "portal.refused"] {
        assert!(portal_entries.iter().any(|e| e.action == action), "{action} not audited");
    }
    for e in &portal_entries {
        assert_eq!(e.actor_id, None);
        assert_eq!(e.client_id.as_deref(), Some(env.client.to_string().as_str()));
        assert!(e.detail.starts_with("link="), "{}", e.detail);
    }
    assert_eq!(portal_entries.iter().filter(|e| e.action == "portal.refused").count(), 3, "expired, revoked, archived");
    let system = audit_actions(env, audit::SYSTEM_CHAIN).await;
    assert_eq!(system.iter().filter(|e| e.action == "portal.unknown_link").count(), 3);
    assert_chain_intact(env).await;
}
both_engines!(portal_link_lifecycle);

async fn portal_pin_throttling(env: &Env) {
    let access = env.access().await;
    let t = ctx().ts();
    let (link_id, secret) = measures::create_portal_link(&env.store, &ctx(), &access, t + 30 * DAY, Some("246810")).await.unwrap();
    assert!(matches!(measures::open_portal(&env.store, &ctx(), &secret, None).await, Err(PortalError::PinRequired)));
    // The right PIN opens, and clears earlier failures.
    assert!(matches!(measures::open_portal(&env.store, &ctx(), &secret, Some("000000")).await, Err(PortalError::WrongPin)));
    measures::open_portal(&env.store, &ctx(), &secret, Some("246810")).await.unwrap();
    for i in 1..=4 {
        let r = measures::open_portal(&env.store, &ctx_at(i), &secret, Some("111111")).await;
        assert!(matches!(r, Err(PortalError::WrongPin)), "attempt {i}: {r:?}");
    }
    // The fifth wrong PIN locks the link; then even the right PIN is refused unchecked.
    let r = measures::open_portal(&env.store, &ctx_at(5), &secret, Some("111111")).await;
    assert!(matches!(r, Err(PortalError::Locked { until }) if until == t + 5 + 3600), "{r:?}");
    assert!(matches!(measures::open_portal(&env.store, &ctx_at(6), &secret, Some("246810")).await, Err(PortalError::Locked { .. })));
    // The lock survives a restart (a new Store on the same database).
    let store2 = env.reopen().await;
    assert!(matches!(measures::open_portal(&store2, &ctx_at(60), &secret, Some("246810")).await, Err(PortalError::Locked { .. })));
    let links = measures::list_portal_links(&store2, &ctx_at(60), &access).await.unwrap();
    assert!(links[0].has_pin);
    assert_eq!(links[0].locked_until, Some(t + 5 + 3600));
    // After the lockout, the right PIN works.
    let portal = measures::open_portal(&store2, &ctx_at(2 * 3600), &secret, Some("246810")).await.unwrap();
    assert_eq!(portal.link_id(), link_id);

    // The PIN is an Argon2id hash; neither PIN nor secret appears in the row.
    let row = sqlx::query("SELECT pin_hash, secret_hash FROM portal_links WHERE id = $1")
        .bind(link_id.to_string())
        .fetch_one(store2.pool())
        .await
        .unwrap();
    let pin_hash: String = row.try_get("pin_hash").unwrap();
    assert!(pin_hash.starts_with("$argon2id$"));
    assert!(!pin_hash.contains("246810"));
    assert!(!row.try_get::<String, _>("secret_hash").unwrap().contains(&secret));

    let entries = audit_actions(env, &env.practice_a.to_string()).await;
    let count = |a: &str| entries.iter().filter(|e| e.action == a).count();
    assert_eq!(count("portal.pin_needed"), 1);
    assert_eq!(count("portal.pin_failed"), 6);
    assert_eq!(count("portal.locked"), 3, "on locking, and each refused attempt while locked");
    assert_eq!(count("portal.open"), 2);
    assert!(
        entries.iter().filter(|e| e.action.starts_with("portal.")).all(|e| e.actor_id.is_none() && e.detail.contains(&link_id.to_string()))
    );
    assert!(entries.iter().all(|e| !e.detail.contains("246810") && !e.detail.contains("111111")));
    assert_chain_intact(env).await;
    store2.close().await;
}
both_engines!(portal_pin_throttling);

async fn portal_reaches_only_its_own_client(env: &Env) {
    let access = env.access().await;
    let b_access = env.b_access().await;
    let t = ctx().ts();
    for a in [&access, &b_access] {
        measures::set_schedule(&env.store, &ctx(), a, &iid("phq9"), Frequency::Weekly).await.unwrap();
    }
    measures::record_response(&env.store, &ctx(), &b_access, phq9(&[3; 9], t, ResponseSource::Paper)).await.unwrap();
    let (_, secret) = measures::create_portal_link(&env.store, &ctx(), &access, t + DAY, None).await.unwrap();
    let (_, b_secret) = measures::create_portal_link(&env.store, &ctx(), &b_access, t + DAY, None).await.unwrap();
    let portal = measures::open_portal(&env.store, &ctx(), &secret, None).await.unwrap();
    let b_portal = measures::open_portal(&env.store, &ctx(), &b_secret, None).await.unwrap();
    assert_ne!(portal.client_id(), b_portal.client_id());
    measures::portal_record_response(&env.store, &ctx(), &portal, phq9(&[0; 9], t, ResponseSource::Portal)).await.unwrap();
    let mine = measures::portal_list_responses(&env.store, &ctx(), &portal).await.unwrap();
    assert_eq!(mine.iter().map(|r| r.total).collect::<Vec<_>>(), vec![Some(0)]);
    let theirs = measures::portal_list_responses(&env.store, &ctx(), &b_portal).await.unwrap();
    assert_eq!(theirs.iter().map(|r| r.total).collect::<Vec<_>>(), vec![Some(27)]);
    assert_eq!(measures::portal_client_first_name(&env.store, &ctx(), &b_portal).await.unwrap(), "Bailey");
    // The staff view agrees: the portal response landed on its own client only.
    let staff = measures::list_responses(&env.store, &ctx(), &b_access, None).await.unwrap();
    assert_eq!(staff.len(), 1);
    // Audit entries land on each link's own practice chain.
    let b_entries = audit_actions(env, &env.practice_b.to_string()).await;
    assert!(b_entries.iter().any(|e| e.action == "portal.open" && e.client_id.as_deref() == Some(env.b_client.to_string().as_str())));
    assert!(b_entries.iter().all(|e| e.client_id.as_deref() != Some(env.client.to_string().as_str())));
}
both_engines!(portal_reaches_only_its_own_client);

// ---- erasure ------------------------------------------------------------------------------

async fn erasure_removes_measures(env: &Env) {
    let access = env.access().await;
    let t = ctx().ts();
    measures::set_schedule(&env.store, &ctx(), &access, &iid("phq9"), Frequency::Weekly).await.unwrap();
    let mut r = phq9(&[1; 9], t, ResponseSource::Paper);
    r.note = Some(NOTE.into());
    measures::record_response(&env.store, &ctx(), &access, r).await.unwrap();
    let (_, secret) = measures::create_portal_link(&env.store, &ctx(), &access, t + DAY, None).await.unwrap();
    let portal = measures::open_portal(&env.store, &ctx(), &secret, None).await.unwrap();
    measures::create_portal_session(&env.store, &ctx(), &portal).await.unwrap();
    let erase = clients::erasure_access(&env.store, &ctx(), &env.admin.actor(), env.client).await.unwrap();
    clients::erase_client(&env.store, &ctx(), &erase).await.unwrap();
    for table in ["measure_responses", "measure_schedules", "portal_links", "portal_sessions"] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table} WHERE client_id = $1")))
            .bind(env.client.to_string())
            .fetch_one(env.store.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert!(matches!(measures::open_portal(&env.store, &ctx(), &secret, None).await, Err(PortalError::NotFound)));
    assert_chain_intact(env).await;
}
both_engines!(erasure_removes_measures);

// ---- imported definitions -----------------------------------------------------------------

fn custom_gad7(id: &str, version: &str) -> String {
    let json = concord_domain::measures::registry::SHIPPED.iter().find(|(f, _)| *f == "gad7.json").unwrap().1;
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["id"] = serde_json::json!(id);
    v["version"] = serde_json::json!(version);
    v["name"] = serde_json::json!("Practice anxiety form");
    v.to_string()
}

fn fhir_questionnaire() -> String {
    let options: Vec<serde_json::Value> = ["Never", "Sometimes", "Often"]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            serde_json::json!({"valueCoding": {"code": format!("a{i}"), "display": d},
                "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": i}]})
        })
        .collect();
    serde_json::json!({
        "resourceType": "Questionnaire",
        "name": "WorryCheck",
        "title": "Worry check",
        "status": "active",
        "version": "3",
        "copyright": "Licensed to Practice A.",
        "item": [
            {"linkId": "w1", "type": "choice", "text": "Worrying", "answerOption": options},
            {"linkId": "w2", "type": "choice", "text": "Restless", "answerOption": options}
        ]
    })
    .to_string()
}

async fn imported_definitions(env: &Env) {
    let admin = policy::decide_practice_admin(&env.admin.actor()).unwrap();
    let c = ctx();
    let imported = measures::import_definition(&env.store, &c, &admin, &custom_gad7("gad7_practice", "1")).await.unwrap();
    assert_eq!(imported.instrument.as_str(), "gad7_practice");
    assert_eq!(imported.format, measures::DefinitionFormat::Concord);
    let reg = measures::practice_registry(&env.store, &ctx(), env.practice_a).await.unwrap();
    assert_eq!(reg.len(), registry().len() + 1);
    assert_eq!(reg.get("gad7_practice").unwrap().name(), "Practice anxiety form");
    // Another practice does not see it.
    let reg_b = measures::practice_registry(&env.store, &ctx(), env.practice_b).await.unwrap();
    assert!(reg_b.get("gad7_practice").is_none());

    // Invalid: the validator's message, nothing stored.
    let err = measures::import_definition(&env.store, &c, &admin, "{\"format\": \"concord.instrument/1\"}").await.unwrap_err();
    match &err {
        StoreError::Invalid(m) => assert!(m.starts_with("not a valid instrument definition: "), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut bad: serde_json::Value = serde_json::from_str(&custom_gad7("gad7_bad", "1")).unwrap();
    bad["items"] = serde_json::json!([]);
    let err = measures::import_definition(&env.store, &c, &admin, &bad.to_string()).await.unwrap_err();
    let expected = concord_domain::measures::Instrument::from_json(&bad.to_string()).unwrap_err().to_string();
    assert!(matches!(&err, StoreError::Invalid(m) if *m == expected), "{err:?} vs {expected}");
    // Shadowing a shipped id, or re-importing the same version: Conflict.
    let err = measures::import_definition(&env.store, &c, &admin, &custom_gad7("phq9", "9")).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("phq9") && m.contains("shipped")), "{err:?}");
    assert!(matches!(
        measures::import_definition(&env.store, &c, &admin, &custom_gad7("gad7_practice", "1")).await,
        Err(StoreError::Conflict(_))
    ));
    // A new version supersedes.
    measures::import_definition(&env.store, &ctx_at(10), &admin, &custom_gad7("gad7_practice", "2")).await.unwrap();
    let reg = measures::practice_registry(&env.store, &ctx(), env.practice_a).await.unwrap();
    assert_eq!(reg.get("gad7_practice").unwrap().version(), "2");
    // FHIR Questionnaire, told apart by resourceType; and under a chosen id.
    let f = measures::import_definition(&env.store, &c, &admin, &fhir_questionnaire()).await.unwrap();
    assert_eq!((f.instrument.as_str(), f.format), ("worrycheck", measures::DefinitionFormat::Fhir));
    let f2 = measures::import_fhir_definition_as(&env.store, &c, &admin, &fhir_questionnaire(), "worry_two").await.unwrap();
    assert_eq!(f2.instrument.as_str(), "worry_two");
    let listed = measures::list_imported_definitions(&env.store, env.practice_a).await.unwrap();
    assert_eq!(
        listed.iter().map(|d| (d.instrument.as_str(), d.version.as_str())).collect::<Vec<_>>(),
        vec![("gad7_practice", "2"), ("worry_two", "3"), ("worrycheck", "3")]
    );
    let reg = measures::practice_registry(&env.store, &ctx(), env.practice_a).await.unwrap();
    let worry = reg.get("worrycheck").unwrap();
    let s = concord_domain::measures::score::score(worry, &answers(&[2, 1])).unwrap();
    assert_eq!(s.total, Some(3));

    // Responses to an imported instrument store and list like any other.
    let access = env.access().await;
    let r = NewResponse::scored(worry, answers(&[1, 1]), ctx().ts(), ResponseSource::Clinician).unwrap();
    let rec = measures::record_response(&env.store, &ctx(), &access, r).await.unwrap();
    assert_eq!(rec.instrument.as_str(), "worrycheck");

    let entries = audit_actions(env, &env.practice_a.to_string()).await;
    assert_eq!(entries.iter().filter(|e| e.action == "instrument.import").count(), 4);
    assert_chain_intact(env).await;
}
both_engines!(imported_definitions);

/// A request that authenticated with a session carries its practice's definitions version, and
/// gets the registry from memory while that version holds. An import through another store
/// (the CLI, a second server) bumps the version in its own transaction, so the next request's
/// session brings the new version and the new definition, without any message between them.
async fn the_registry_follows_imports_by_another_process(env: &Env) {
    use concord_store::accounts::{self, SessionStage};
    use std::sync::Arc;
    let secret = accounts::create_session(&env.store, &ctx(), &env.owner, SessionStage::Full, time::Duration::hours(8)).await.unwrap();
    let signed_in = || async {
        let c = ctx();
        accounts::touch_session(&env.store, &c, &secret, time::Duration::hours(1)).await.unwrap().unwrap();
        c
    };
    let first = measures::practice_registry(&env.store, &signed_in().await, env.practice_a).await.unwrap();
    let again = measures::practice_registry(&env.store, &signed_in().await, env.practice_a).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "unchanged definitions: served from memory");
    assert!(first.get("gad7_practice").is_none());

    let cli = concord_store::Store::open(&env.url, concord_store::crypto::PracticeKey::from_bytes(env.key_bytes)).await.unwrap();
    let admin = policy::decide_practice_admin(&env.admin.actor()).unwrap();
    measures::import_definition(&cli, &ctx(), &admin, &custom_gad7("gad7_practice", "1")).await.unwrap();
    cli.close().await;

    let after = measures::practice_registry(&env.store, &signed_in().await, env.practice_a).await.unwrap();
    assert_eq!(after.get("gad7_practice").unwrap().version(), "1", "the import shows on the next request");
    // A context that read no version (the CLI's, a test's) reads the definitions each time.
    assert!(measures::practice_registry(&env.store, &ctx(), env.practice_a).await.unwrap().get("gad7_practice").is_some());
    // Another practice's version is not this one's.
    assert!(measures::practice_registry(&env.store, &signed_in().await, env.practice_b).await.unwrap().get("gad7_practice").is_none());

    // The request that imports holds the version from before its import, and still sees it.
    let importing = signed_in().await;
    assert!(measures::practice_registry(&env.store, &importing, env.practice_a).await.unwrap().get("gad7_practice").is_some());
    measures::import_definition(&env.store, &importing, &admin, &custom_gad7("gad7_practice", "2")).await.unwrap();
    let own = measures::practice_registry(&env.store, &importing, env.practice_a).await.unwrap();
    assert_eq!(own.get("gad7_practice").unwrap().version(), "2", "its own import shows in the same request");
}
both_engines!(the_registry_follows_imports_by_another_process);

// ---- audit of reads: group commit, and folded into a write --------------------------------

/// One request through `store` by `actor`: two reads of `client`, queued, then flushed.
async fn flush_two_reads(store: &Store, actor: &policy::Actor, client: concord_domain::ids::ClientId, request: String) {
    let queue = AuditQueue::default();
    let c = Ctx::with_queue(request, common::T0, queue.clone());
    let access = clients::record_access(store, &c, actor, client).await.unwrap();
    measures::list_score_points(store, &c, &access, None).await.unwrap();
    measures::list_schedules(store, &c, &access).await.unwrap();
    store.flush_audit_queue(&queue).await.unwrap();
}

async fn queued_read_audits_commit(env: &Env) {
    let practice = env.practice_a.to_string();
    // Twenty concurrent requests, each queueing two reads and flushing: every entry commits, in
    // one intact chain, however the flushes were grouped.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (store, actor, client) = (env.store.clone(), env.owner.actor(), env.client);
        tasks.spawn(async move { flush_two_reads(&store, &actor, client, format!("group-{i}")).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let entries = audit_actions(env, &practice).await;
    for i in 0..20 {
        let mine: Vec<&str> = entries.iter().filter(|e| e.request_id == format!("group-{i}")).map(|e| e.action.as_str()).collect();
        assert_eq!(mine.len(), 2, "request {i}: {mine:?}");
    }
    assert_chain_intact(env).await;

    // A write commits the request's queued entries in its own transaction, in order, so the
    // final flush has nothing left to commit.
    let queue = AuditQueue::default();
    let c = Ctx::with_queue("folded", common::T0, queue.clone());
    let access = clients::record_access(&env.store, &c, &env.owner.actor(), env.client).await.unwrap();
    measures::list_score_points(&env.store, &c, &access, None).await.unwrap();
    // Item 9 at 0: a safety answer would (rightly) open a prompt in the same transaction.
    measures::record_response(&env.store, &c, &access, phq9(&[1, 1, 1, 1, 1, 1, 1, 1, 0], c.ts(), ResponseSource::Clinician))
        .await
        .unwrap();
    let mut mine: Vec<_> = audit_actions(env, &practice).await.into_iter().filter(|e| e.request_id == "folded").collect();
    mine.sort_by_key(|e| e.seq);
    assert_eq!(mine.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["response.list", "response.create"]);
    assert_eq!(mine[1].seq, mine[0].seq + 1, "one transaction, consecutive entries");
    env.store.flush_audit_queue(&queue).await.unwrap();
    assert_eq!(audit_actions(env, &practice).await.iter().filter(|e| e.request_id == "folded").count(), 2);
    // A refused write leaves the queued entries for the final flush.
    let queue = AuditQueue::default();
    let c = Ctx::with_queue("refused", common::T0, queue.clone());
    measures::list_score_points(&env.store, &c, &access, None).await.unwrap();
    let mut bad = phq9(&[1; 9], c.ts(), ResponseSource::Clinician);
    bad.completed_at = c.ts() + 10 * DAY;
    assert!(measures::record_response(&env.store, &c, &access, bad).await.is_err());
    env.store.flush_audit_queue(&queue).await.unwrap();
    let refused: Vec<_> = audit_actions(env, &practice).await.into_iter().filter(|e| e.request_id == "refused").collect();
    assert_eq!(refused.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["response.list"]);
    assert_chain_intact(env).await;
}
both_engines!(queued_read_audits_commit);

async fn read_audits_follow_another_writer(env: &Env) {
    // On PostgreSQL a batch of read entries appends in one statement at the chain head this
    // process last wrote, and falls back to locking the head when another writer (here a
    // second process) has moved it since. Every entry lands, in order, in one intact chain.
    let practice = env.practice_a.to_string();
    let other = env.reopen().await;
    flush_two_reads(&env.store, &env.owner.actor(), env.client, "first".into()).await; // no head remembered yet: locks it
    flush_two_reads(&env.store, &env.owner.actor(), env.client, "second".into()).await; // at the remembered head
    flush_two_reads(&other, &env.owner.actor(), env.client, "elsewhere".into()).await; // another process moves the head
    flush_two_reads(&env.store, &env.owner.actor(), env.client, "third".into()).await; // the remembered head is stale: locks it
    flush_two_reads(&env.store, &env.owner.actor(), env.client, "fourth".into()).await;
    // A write outside the group commit moves the head too.
    let access = env.access().await;
    measures::record_response(&env.store, &ctx(), &access, phq9(&[1, 1, 1, 1, 1, 1, 1, 1, 0], ctx().ts(), ResponseSource::Clinician))
        .await
        .unwrap();
    flush_two_reads(&env.store, &env.owner.actor(), env.client, "fifth".into()).await;
    let mut entries: Vec<_> = audit_actions(env, &practice).await;
    entries.sort_by_key(|e| e.seq);
    let order: Vec<&str> = entries
        .iter()
        .map(|e| e.request_id.as_str())
        .filter(|r| ["first", "second", "elsewhere", "third", "fourth", "fifth"].contains(r))
        .collect();
    assert_eq!(
        order,
        ["first", "first", "second", "second", "elsewhere", "elsewhere", "third", "third", "fourth", "fourth", "fifth", "fifth"]
    );
    assert!(entries.windows(2).all(|w| w[1].seq == w[0].seq + 1), "consecutive sequence numbers");

    // Two processes flushing at once, many times over: each keeps finding its remembered head
    // moved by the other, and still nothing is lost or forked.
    let mut tasks = tokio::task::JoinSet::new();
    for (s, name) in [(env.store.clone(), "a"), (other.clone(), "b")] {
        for i in 0..8 {
            let (store, owner, client) = (s.clone(), env.owner.actor(), env.client);
            tasks.spawn(async move {
                for j in 0..5 {
                    flush_two_reads(&store, &owner, client, format!("race-{name}-{i}-{j}")).await;
                }
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let raced = audit_actions(env, &practice).await.into_iter().filter(|e| e.request_id.starts_with("race-")).count();
    assert_eq!(raced, 2 * 8 * 5 * 2);
    assert_chain_intact(env).await;
}
both_engines!(read_audits_follow_another_writer);

// ---- group commit of writes -----------------------------------------------------------------

async fn grouped_writes_commit_together_and_fail_alone(env: &Env) {
    let practice = env.practice_a.to_string();
    let access = env.access().await;
    // A response stored before, whose key two of the batch replay with the same submission.
    let mut first = phq9(&[2, 2, 2, 2, 2, 2, 2, 2, 0], ctx().ts(), ResponseSource::Clinician);
    first.idempotency_key = Some("replayed-key".to_owned());
    let replayed = measures::record_response(&env.store, &ctx(), &access, first.clone()).await.unwrap();
    // A client archived before the batch: their submissions are refused inside it.
    let archived = common::new_client(&env.store, &env.owner, "Ada Archived").await;
    let archived_access = clients::record_access(&env.store, &ctx(), &env.owner.actor(), archived).await.unwrap();
    common::archive_client(&env.store, &archived_access).await;
    let before = measures::list_responses(&env.store, &ctx(), &access, Some("phq9")).await.unwrap().len();
    // Twenty-eight concurrent submissions, so the store groups them into shared transactions.
    // Eight of the first 24 reuse one idempotency key with different answers: one is stored,
    // seven are refused as conflicts, and the other sixteen commit regardless. Two replay the
    // earlier response; two are for the archived client and are refused.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..28i32 {
        let (store, access, first) = (env.store.clone(), if i >= 26 { archived_access } else { access }, first.clone());
        tasks.spawn(async move {
            let c = Ctx::new(format!("grouped-{i}"), common::T0);
            let mut r = phq9(&[i % 4, (i / 4) % 4, 1, 1, 1, 1, 1, 1, 0], c.ts(), ResponseSource::Clinician);
            r.idempotency_key = Some(if i % 3 == 0 { "shared-key".to_owned() } else { format!("own-key-{i}") });
            if (24..26).contains(&i) {
                r = first;
            }
            (i, measures::record_response(&store, &c, &access, r).await)
        });
    }
    let mut stored = Vec::new();
    let mut conflicts = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (i, Ok(r)) if (24..26).contains(&i) => assert_eq!(r.id, replayed.id, "a replay returns the stored response"),
            (i, Ok(_)) => stored.push(i),
            (i, Err(StoreError::Conflict(m))) if i >= 26 => assert!(m.contains("archived"), "{m}"),
            (i, Err(StoreError::Conflict(_))) => {
                assert_eq!(i % 3, 0, "only the shared key conflicts");
                conflicts += 1;
            }
            (i, Err(e)) => panic!("submission {i}: {e}"),
        }
    }
    assert_eq!((stored.len(), conflicts), (17, 7));
    let after = measures::list_responses(&env.store, &ctx(), &access, Some("phq9")).await.unwrap().len();
    assert_eq!(after - before, 17, "every stored submission, and nothing of a refused one or a replay");
    let archived_list = measures::list_responses(&env.store, &ctx(), &archived_access, None).await.unwrap();
    assert!(archived_list.is_empty(), "nothing stored for the archived client");
    // Each stored submission has exactly its own audit entry, each replay a replay entry; a
    // refused one has none.
    let entries = audit_actions(env, &practice).await;
    for i in 0..28 {
        let mine = |action: &str| entries.iter().filter(|e| e.request_id == format!("grouped-{i}") && e.action == action).count();
        assert_eq!(mine("response.create"), usize::from(stored.contains(&i)), "submission {i}");
        assert_eq!(mine("response.replay"), usize::from((24..26).contains(&i)), "submission {i}");
    }
    assert_chain_intact(env).await;
}
both_engines!(grouped_writes_commit_together_and_fail_alone);

// ---- caseload versions ----------------------------------------------------------------------

/// The caseload keeps rows in memory keyed on two versions the database bumps: every change to
/// what a row shows must bump one of them, whoever writes it, and nothing else should.
async fn caseload_versions_follow_what_a_row_shows(env: &Env) {
    let access = env.access().await;
    let versions = || async {
        let r = sqlx::query("SELECT data_version, caseload_version FROM clients WHERE id = $1")
            .bind(env.client.to_string())
            .fetch_one(env.store.pool())
            .await
            .unwrap();
        (r.try_get::<i64, _>("data_version").unwrap(), r.try_get::<i64, _>("caseload_version").unwrap())
    };
    let mut last = versions().await;
    fn bumped(last: &mut (i64, i64), what: &str, now: (i64, i64), data: bool, caseload: bool) {
        assert_eq!((now.0 > last.0, now.1 > last.1), (data, caseload), "{what}: {last:?} → {now:?}");
        *last = now;
    }
    let once = measures::set_schedule(&env.store, &ctx(), &access, &iid("wsas"), Frequency::Once).await.unwrap();
    bumped(&mut last, "a schedule set", versions().await, false, true);
    measures::remove_schedule(&env.store, &ctx(), &access, once).await.unwrap();
    bumped(&mut last, "a schedule ended", versions().await, false, true);
    let t = ctx().ts();
    measures::record_response(&env.store, &ctx(), &access, phq9(&[1, 1, 1, 1, 1, 1, 1, 1, 2], t, ResponseSource::Clinician)).await.unwrap();
    bumped(&mut last, "a flagged response (opens a safety prompt)", versions().await, true, true);
    let touch = "UPDATE prompts SET evaluated_at = evaluated_at + 1, condition_holds = 1 WHERE client_id = $1";
    sqlx::query(touch).bind(env.client.to_string()).execute(env.store.pool()).await.unwrap();
    bumped(&mut last, "a prompt re-evaluated (nothing shown changes)", versions().await, false, false);
    let resolve = "UPDATE prompts SET state = 'resolved' WHERE client_id = $1";
    sqlx::query(resolve).bind(env.client.to_string()).execute(env.store.pool()).await.unwrap();
    bumped(&mut last, "a prompt resolved", versions().await, false, true);
    let renamed = concord_domain::values::ClientName::parse("Casey Renamed").unwrap();
    clients::update_client(&env.store, &ctx(), &access, clients::ClientChanges { name: Some(&renamed), ..Default::default() })
        .await
        .unwrap();
    bumped(&mut last, "a new name", versions().await, false, true);

    // The stamps list exactly the clients the caseload would: own care team, own practice.
    let stamps = |who: &concord_store::accounts::User, query: Option<&'static str>, archived: bool| {
        let scope = policy::caseload_scope(&who.actor());
        let store = env.store.clone();
        async move { clients::client_stamps(&store, &scope, query, archived).await.unwrap() }
    };
    let own = stamps(&env.owner, None, false).await;
    assert_eq!(own.iter().map(|s| (s.id, s.data_version, s.caseload_version)).collect::<Vec<_>>(), vec![(env.client, last.0, last.1)]);
    assert_eq!(stamps(&env.owner, Some("casey ren"), false).await.len(), 1, "a name search");
    assert!(stamps(&env.owner, Some("casey client"), false).await.is_empty(), "the old name no longer matches");
    assert!(stamps(&env.other, None, false).await.is_empty(), "a clinician off the care team");
    assert!(!stamps(&env.b_clinician, None, true).await.iter().any(|s| s.id == env.client), "another practice");
    assert!(stamps(&env.admin, None, false).await.iter().any(|s| s.id == env.client), "the admin's directory");
    common::archive_client(&env.store, &env.access().await).await;
    bumped(&mut last, "archived", versions().await, false, true);
    assert!(stamps(&env.owner, None, false).await.is_empty(), "archived clients only when asked for");
    assert_eq!(stamps(&env.owner, None, true).await.len(), 1);
}
both_engines!(caseload_versions_follow_what_a_row_shows);

/// The record page keeps schedules, portal links and open prompts keyed on the client's three
/// versions: `record_version` follows every change to a portal link, whoever writes it, and
/// `open_record` reads all three with the client's row.
async fn record_version_follows_portal_links(env: &Env) {
    let access = env.access().await;
    let versions = || async {
        let (_, rec) = clients::open_record(&env.store, &ctx(), &env.owner.actor(), env.client).await.unwrap();
        (rec.data_version, rec.caseload_version, rec.record_version)
    };
    let mut last = versions().await;
    let mut bumped = |now: (i64, i64, i64), what: &str, record: bool| {
        assert_eq!((now.0, now.1), (last.0, last.1), "{what}: no other version moves");
        assert_eq!(now.2 > last.2, record, "{what}: {last:?} → {now:?}");
        last = now;
    };
    let t = ctx().ts();
    let (link, secret) = measures::create_portal_link(&env.store, &ctx(), &access, t + DAY, None).await.unwrap();
    bumped(versions().await, "a link created", true);
    measures::open_portal(&env.store, &ctx(), &secret, None).await.unwrap();
    bumped(versions().await, "a link opened", true);
    measures::revoke_portal_link(&env.store, &ctx(), &access, link).await.unwrap();
    bumped(versions().await, "a link revoked", true);
    sqlx::query("DELETE FROM portal_links WHERE id = $1").bind(link.to_string()).execute(env.store.pool()).await.unwrap();
    bumped(versions().await, "a link deleted", true);
    let once = measures::set_schedule(&env.store, &ctx(), &access, &iid("wsas"), Frequency::Once).await.unwrap();
    let now = versions().await;
    assert!(now.1 > last.1 && now.2 == last.2, "a schedule moves the caseload version only: {last:?} → {now:?}");
    last = now;
    measures::remove_schedule(&env.store, &ctx(), &access, once).await.unwrap();
    assert_eq!(versions().await.2, last.2);
}
both_engines!(record_version_follows_portal_links);
