//! Issue 4 over HTTP on both engines: prompts (safety, rules after writes, lifecycle, sweep),
//! safety plans, signed-note immutability and the timeline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::TestApp;
use concord_store::audit::{AuditFilter, list as audit_list};
use serde_json::{Value, json};

fn phq9(item9: i64, total_rest: i64) -> Value {
    // Items 1–8 spread `total_rest` (each 0–3), item 9 as given.
    let mut answers = Vec::new();
    let mut left = total_rest;
    for _ in 0..8 {
        let v = left.min(3);
        answers.push(json!(v));
        left -= v;
    }
    answers.push(json!(item9));
    json!(answers)
}

async fn post_phq9(app: &TestApp, item9: i64, rest: i64, at: &str) -> Value {
    let c = app.world.client;
    let (s, b) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{c}/responses"),
            Some(&app.world.owner),
            Some(json!({"instrument": "phq9", "answers": phq9(item9, rest), "completed_at": at})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    b
}

async fn open_prompts(app: &TestApp) -> Vec<Value> {
    let (s, b) = app.api("GET", &format!("/api/v1/clients/{}/prompts?status=open", app.world.client), Some(&app.world.owner), None).await;
    assert_eq!(s, 200, "{b}");
    b.as_array().unwrap().clone()
}

async fn evaluate(app: &TestApp) {
    concord_store::prompts::evaluate_pending(&app.store, &app.ctx(), 100).await.unwrap();
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let f = AuditFilter { limit: 500, ..Default::default() };
    audit_list(app.store.pool(), &app.world.practice_a.to_string(), &f).await.unwrap().into_iter().map(|e| e.action).collect()
}

/// A PHQ-9 with item 9 above 0 opens an urgent safety prompt in the same write; it is cleared
/// only with a documented action; every step is audited.
async fn safety_prompt_lifecycle(app: TestApp) {
    let r = post_phq9(&app, 2, 12, "2026-03-01T10:00:00Z").await;
    assert!(r["flags"].as_array().unwrap().iter().any(|f| f == "safety"), "{r}");
    // No evaluation pass needed: the write itself opened it.
    let open = open_prompts(&app).await;
    let safety: Vec<&Value> = open.iter().filter(|p| p["kind"] == "safety").collect();
    assert_eq!(safety.len(), 1, "{open:?}");
    let p = safety[0];
    assert_eq!(p["urgency"], "urgent");
    assert!(p["explanation"].as_str().unwrap().contains("item 9"), "{p}");
    assert!(!p["evidence"]["points"].as_array().unwrap().is_empty());
    let id = p["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/prompts/{id}/resolve");
    let owner = &app.world.owner;

    // Bad input: nothing changes.
    let (s, b) = app.api("POST", &path, Some(owner), Some(json!({"response": "discussed", "note": "talked"}))).await;
    assert_eq!(s, 422, "{b}");
    assert!(b["error"].as_str().unwrap().contains("action"), "{b}");
    let (s, _) =
        app.api("POST", &path, Some(owner), Some(json!({"response": "deferred", "defer_until": "2026-04-01", "action": "x"}))).await;
    assert_eq!(s, 422);
    let (s, _) = app.api("POST", &path, Some(owner), Some(json!({"response": "not_appropriate", "note": "no", "action": "x"}))).await;
    assert_eq!(s, 422);
    let (s, _) = app.api("POST", &path, Some(owner), Some(json!({"response": "celebrated", "action": "x"}))).await;
    assert_eq!(s, 422);
    let (s, _) = app.api("POST", &path, Some(owner), Some(json!({"response": "discussed", "note": "ok", "action": "   "}))).await;
    assert_eq!(s, 422);
    // Another practice and another clinician: the same 404 as a missing prompt.
    let body = json!({"response": "discussed", "note": "n", "action": "a"});
    assert_eq!(app.api("POST", &path, Some(&app.world.b_clinician), Some(body.clone())).await.0, 404);
    assert_eq!(app.api("POST", &path, Some(&app.world.b_admin), Some(body.clone())).await.0, 404);
    assert_eq!(app.api("POST", &path, Some(&app.world.other), Some(body.clone())).await.0, 404);
    assert_eq!(open_prompts(&app).await.iter().filter(|p| p["kind"] == "safety").count(), 1);

    let (s, b) = app
        .api(
            "POST",
            &path,
            Some(owner),
            Some(json!({"response": "discussed", "note": "Talked through the answer; passive thoughts, no plan.", "action": "Reviewed the safety plan together and agreed a call on Friday."})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "resolved");
    assert_eq!(b["response"], "discussed");
    // Final: resolving again is a conflict.
    assert_eq!(app.api("POST", &path, Some(owner), Some(body)).await.0, 409);
    let actions = audit_actions(&app).await;
    for a in ["response.create", "prompt.open", "prompt.resolve"] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }
    // The timeline shows the prompt and its outcome with the action taken.
    let (s, tl) = app.api("GET", &format!("/api/v1/clients/{}/timeline", app.world.client), Some(owner), None).await;
    assert_eq!(s, 200);
    let resolved = tl.as_array().unwrap().iter().find(|i| i["kind"] == "prompt_resolved").unwrap();
    assert!(resolved["detail"].as_str().unwrap().contains("Reviewed the safety plan"), "{resolved}");
    assert_eq!(resolved["prompt_kind"], "safety");
}
both_engines!(safety_prompt_lifecycle);

/// A check-in answering yes to "thoughts of harming yourself" opens a safety prompt too.
async fn checkin_yes_opens_safety_prompt(app: TestApp) {
    let c = app.world.client;
    let (s, b) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{c}/responses"),
            Some(&app.world.owner),
            Some(json!({"instrument": "checkin", "answers": [3, 4, 5, 5, 4, 1], "completed_at": "2026-03-01T20:00:00Z"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let open = open_prompts(&app).await;
    assert!(open.iter().any(|p| p["kind"] == "safety" && p["key"].as_str().unwrap().starts_with("safety:checkin:")), "{open:?}");
}
both_engines!(checkin_yes_opens_safety_prompt);

/// Six attended sessions over eight weeks, still at caseness, no reliable improvement: the
/// evaluator opens one no-progress prompt with its timing context, whatever the concurrency.
async fn no_progress_prompt_once_under_concurrency(app: TestApp) {
    let c = app.world.client;
    let owner = &app.world.owner;
    for week in 0..9 {
        let day = 1 + week * 7; // 2026-01-01 onwards, weekly
        let date = time::Date::from_ordinal_date(2026, day as u16).unwrap();
        let at = format!("{}T10:00:00Z", concord_domain::values::format_date(date));
        let (s, b) = app
            .api(
                "POST",
                &format!("/api/v1/clients/{c}/sessions"),
                Some(owner),
                Some(json!({"starts_at": at, "duration_minutes": 50, "attendance": "attended"})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        if week % 2 == 0 {
            post_phq9(&app, 0, 14 - (week % 3), &at).await;
        }
    }
    // Eight evaluations at once: at most one prompt per key.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = app.store.clone();
        let ctx = app.ctx();
        let client = app.world.client;
        let practice = app.world.practice_a;
        tasks.push(tokio::spawn(async move { concord_store::prompts::evaluate_client(&store, &ctx, practice, client).await }));
    }
    for t in tasks {
        // A concurrent loser may see a busy database on SQLite; the unique key is what matters.
        let _ = t.await.unwrap();
    }
    evaluate(&app).await;
    let open = open_prompts(&app).await;
    let np: Vec<&Value> = open.iter().filter(|p| p["kind"] == "no_progress").collect();
    assert_eq!(np.len(), 1, "{open:?}");
    assert_eq!(np[0]["timing"]["attended_sessions"], 9);
    let mut keys: Vec<&str> = open.iter().map(|p| p["key"].as_str().unwrap()).collect();
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate prompt keys: {open:?}");

    // Deferring: a past date is refused; a future one sets it aside.
    let id = np[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/prompts/{id}/resolve");
    let (s, b) = app.api("POST", &path, Some(owner), Some(json!({"response": "deferred", "defer_until": "2026-02-01"}))).await;
    assert_eq!(s, 422, "{b}");
    assert!(b["error"].as_str().unwrap().contains("future"), "{b}");
    let (s, b) = app.api("POST", &path, Some(owner), Some(json!({"response": "deferred"}))).await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = app
        .api("POST", &path, Some(owner), Some(json!({"response": "deferred", "defer_until": "2026-03-20", "note": "After her exams"})))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "deferred");
    // An action is only for safety prompts.
    let (s, _) = app.api("POST", &path, Some(owner), Some(json!({"response": "discussed", "note": "x", "action": "y"}))).await;
    assert_eq!(s, 422);
    // The sweep before the date leaves it deferred; after the date, the condition still
    // holds, so it reopens, once.
    let r = concord_store::prompts::sweep(&app.store, &app.ctx()).await.unwrap();
    assert_eq!(r.reopened, 0);
    app.clock.advance(19 * 86_400);
    let r = concord_store::prompts::sweep(&app.store, &app.ctx()).await.unwrap();
    assert_eq!(r.reopened, 1, "{r:?}");
    let r = concord_store::prompts::sweep(&app.store, &app.ctx()).await.unwrap();
    assert_eq!((r.reopened, r.opened), (0, 0), "the sweep is idempotent: {r:?}");
    let open = open_prompts(&app).await;
    assert_eq!(open.iter().filter(|p| p["kind"] == "no_progress").count(), 1);
    // The client declines: their reasons are kept.
    let (s, b) = app
        .api(
            "POST",
            &path,
            Some(owner),
            Some(json!({"response": "client_declined", "note": "I want to give the sleep plan a proper go first."})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, tl) = app.api("GET", &format!("/api/v1/clients/{c}/timeline"), Some(owner), None).await;
    let kinds: Vec<&str> = tl.as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    for k in ["prompt_opened", "prompt_deferred", "prompt_reopened", "prompt_resolved"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(tl.to_string().contains("sleep plan a proper go"));
}
both_engines!(no_progress_prompt_once_under_concurrency);

/// The sweep opens an overdue-measure prompt once, and is idempotent.
async fn sweep_opens_overdue_once(app: TestApp) {
    let c = app.world.client;
    let access = concord_store::clients::record_access(&app.store, &app.ctx(), &app.world.owner.user.actor(), c).await.unwrap();
    concord_store::measures::set_schedule(
        &app.store,
        &app.ctx(),
        &access,
        &concord_domain::measures::InstrumentId::parse("gad7").unwrap(),
        concord_domain::measures::schedule::Frequency::Weekly,
    )
    .await
    .unwrap();
    app.clock.advance(20 * 86_400);
    let first = concord_store::prompts::sweep(&app.store, &app.ctx()).await.unwrap();
    assert!(first.opened >= 1, "{first:?}");
    let second = concord_store::prompts::sweep(&app.store, &app.ctx()).await.unwrap();
    assert_eq!(second.opened, 0, "{second:?}");
    let open = open_prompts(&app).await;
    assert_eq!(open.iter().filter(|p| p["kind"] == "overdue_measure").count(), 1, "{open:?}");
}
both_engines!(sweep_opens_overdue_once);

/// Notes: draft → signed (immutable, on the database too) → addenda; process notes stay out
/// of the record and the timeline.
async fn signed_notes_are_immutable(app: TestApp) {
    let c = app.world.client;
    let owner = &app.world.owner;
    let (s, b) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{c}/notes"),
            Some(owner),
            Some(json!({
                "body": "Reviewed the week. Sleep still poor.",
                "medication_conversation": {
                    "raised_by": "client", "hopes": "Sleep through the night", "concerns": "Weight gain",
                    "information_given": "Typical time to effect and common side effects", "referral_offered": true,
                    "referred_to": "Dr Amara Lee (GP)", "client_response": "Wants to think about it", "plan": "Revisit next session",
                    "follow_up_date": "2026-03-16"
                }
            })),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .api(
            "PATCH",
            &format!("/api/v1/notes/{id}"),
            Some(owner),
            Some(json!({"body": "Reviewed the week. Sleep still poor; mood a little better."})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app.api("POST", &format!("/api/v1/notes/{id}/sign"), Some(owner), None).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("signed")), "{b}");
    // Editing a signed note: 409, unchanged.
    let (s, b) = app.api("PATCH", &format!("/api/v1/notes/{id}"), Some(owner), Some(json!({"body": "rewritten"}))).await;
    assert_eq!(s, 409, "{b}");
    assert_eq!(app.api("POST", &format!("/api/v1/notes/{id}/sign"), Some(owner), None).await.0, 409);
    // And the database itself refuses, on both engines.
    let direct = sqlx::query("UPDATE notes SET body_ct = $1 WHERE id = $2").bind(vec![0u8; 4]).bind(&id).execute(app.store.pool()).await;
    assert!(direct.is_err(), "the database accepted an update of a signed note");
    let (s, b) = app
        .api("POST", &format!("/api/v1/notes/{id}/addenda"), Some(owner), Some(json!({"body": "Correction: the GP is Dr Amara Li."})))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, n) = app.api("GET", &format!("/api/v1/notes/{id}"), Some(owner), None).await;
    assert_eq!(s, 200);
    assert_eq!(n["body"], "Reviewed the week. Sleep still poor; mood a little better.");
    assert_eq!(n["addenda"][0]["body"], "Correction: the GP is Dr Amara Li.");
    assert_eq!(n["medication_conversation"]["referred_to"], "Dr Amara Lee (GP)");
    // Bad input.
    let notes = format!("/api/v1/clients/{c}/notes");
    assert_eq!(app.api("POST", &notes, Some(owner), Some(json!({"body": "  "}))).await.0, 422);
    assert_eq!(app.api("POST", &notes, Some(owner), Some(json!({"body": "x", "medication_conversation": {}}))).await.0, 422);
    assert_eq!(app.api("POST", &notes, Some(owner), Some(json!({"body": "x", "medication_conversation": {"mood": 1}}))).await.0, 422);
    assert_eq!(app.api("POST", &notes, Some(owner), Some(json!({"body": "x", "session_id": "not-an-id"}))).await.0, 422);
    let missing_session = concord_domain::ids::SessionId::new_at(1, [2; 10]);
    assert_eq!(app.api("POST", &notes, Some(owner), Some(json!({"body": "x", "session_id": missing_session.to_string()}))).await.0, 422);
    // Addenda go on signed notes only.
    let (_, draft) = app.api("POST", &notes, Some(owner), Some(json!({"body": "Process: my own reactions.", "kind": "process"}))).await;
    let draft = draft["id"].as_str().unwrap();
    assert_eq!(app.api("POST", &format!("/api/v1/notes/{draft}/addenda"), Some(owner), Some(json!({"body": "x"}))).await.0, 409);
    // Process notes are not in the record (default list) nor in the timeline.
    let (_, list) = app.api("GET", &notes, Some(owner), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, all) = app.api("GET", &format!("{notes}?kind=all"), Some(owner), None).await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, tl) = app.api("GET", &format!("/api/v1/clients/{c}/timeline"), Some(owner), None).await;
    assert!(!tl.to_string().contains("my own reactions"));
    let items = tl.as_array().unwrap();
    assert!(items.iter().any(|i| i["kind"] == "referral_offered" && i["summary"].as_str().unwrap().contains("Dr Amara Lee")), "{tl}");
    assert!(items.iter().any(|i| i["kind"] == "addendum"), "{tl}");
    // Outsiders: 404 on every note route.
    for who in [&app.world.other, &app.world.b_clinician] {
        assert_eq!(app.api("GET", &format!("/api/v1/notes/{id}"), Some(who), None).await.0, 404);
        assert_eq!(app.api("PATCH", &format!("/api/v1/notes/{draft}"), Some(who), Some(json!({"body": "x"}))).await.0, 404);
        assert_eq!(app.api("POST", &format!("/api/v1/notes/{draft}/sign"), Some(who), None).await.0, 404);
    }
    // The body is not stored in plaintext.
    let row: (Vec<u8>,) = sqlx::query_as("SELECT body_ct FROM notes WHERE id = $1").bind(&id).fetch_one(app.store.pool()).await.unwrap();
    assert!(!String::from_utf8_lossy(&row.0).contains("Sleep still poor"));
}
both_engines!(signed_notes_are_immutable);

/// Safety plans: versioned, validated, 404 for outsiders.
async fn safety_plan_versions(app: TestApp) {
    let c = app.world.client;
    let owner = &app.world.owner;
    let path = format!("/api/v1/clients/{c}/safety-plan");
    let (s, b) = app.api("GET", &path, Some(owner), None).await;
    assert_eq!((s, b["version"].clone()), (200, Value::Null));
    assert!(!b["crisis_lines"].as_array().unwrap().is_empty());
    let (s, b) = app
        .api("PUT", &path, Some(owner), Some(json!({"warning_signs": ["Not sleeping", " "], "reasons_for_living": ["My sister"]})))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["version"], 1);
    assert_eq!(b["warning_signs"], json!(["Not sleeping"]));
    let (_, b) = app.api("PUT", &path, Some(owner), Some(json!({"warning_signs": ["Not sleeping", "Skipping meals"]}))).await;
    assert_eq!(b["version"], 2);
    assert_eq!(app.api("PUT", &path, Some(owner), Some(json!({}))).await.0, 422);
    assert_eq!(app.api("PUT", &path, Some(owner), Some(json!({"feelings": ["x"]}))).await.0, 422);
    assert_eq!(app.api("PUT", &path, Some(owner), Some(json!({"warning_signs": ["x".repeat(600)]}))).await.0, 422);
    let (_, b) = app.api("GET", &path, Some(owner), None).await;
    assert_eq!(b["version"], 2);
    assert_eq!(b["warning_signs"][1], "Skipping meals");
    for who in [&app.world.other, &app.world.b_clinician] {
        assert_eq!(app.api("GET", &path, Some(who), None).await.0, 404);
        assert_eq!(app.api("PUT", &path, Some(who), Some(json!({"warning_signs": ["x"]}))).await.0, 404);
    }
}
both_engines!(safety_plan_versions);

/// The list filter is validated; prompts of another practice's client are not reachable.
async fn prompt_list_bad_input(app: TestApp) {
    let c = app.world.client;
    let (s, _) = app.api("GET", &format!("/api/v1/clients/{c}/prompts?status=closed"), Some(&app.world.owner), None).await;
    assert_eq!(s, 422);
    let (s, _) = app.api("GET", &format!("/api/v1/clients/{}/prompts", app.world.b_client), Some(&app.world.owner), None).await;
    assert_eq!(s, 404);
    let missing = concord_domain::ids::PromptId::new_at(1, [3; 10]);
    let (s, _) = app
        .api(
            "POST",
            &format!("/api/v1/prompts/{missing}/resolve"),
            Some(&app.world.owner),
            Some(json!({"response": "discussed", "note": "x"})),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .api("POST", "/api/v1/prompts/not-an-id/resolve", Some(&app.world.owner), Some(json!({"response": "discussed", "note": "x"})))
        .await;
    assert_eq!(s, 404);
}
both_engines!(prompt_list_bad_input);

/// The pages refuse what the API refuses: a safety prompt without an action (422, the prompt
/// still open) and an edit of a signed note (409, unchanged).
async fn pages_refuse_bad_input(app: TestApp) {
    let c = app.world.client;
    let owner = &app.world.owner;
    post_phq9(&app, 1, 10, "2026-03-01T11:00:00Z").await;
    let pid = open_prompts(&app).await.into_iter().find(|p| p["kind"] == "safety").unwrap()["id"].as_str().unwrap().to_owned();
    let r = app
        .page(
            "POST",
            &format!("/clients/{c}/prompts/{pid}/resolve"),
            Some(&owner.cookie),
            Some(&[("response", "discussed"), ("note", "x"), ("action", "")]),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("documented action"));
    assert!(open_prompts(&app).await.iter().any(|p| p["id"] == pid.as_str()));
    let r = app.page("GET", &format!("/clients/{c}/prompts"), Some(&owner.cookie), None).await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Safety concern"), "the prompts page leads with the safety panel");
    assert!(html.contains("988"), "and the crisis lines");

    let (_, b) = app.api("POST", &format!("/api/v1/clients/{c}/notes"), Some(owner), Some(json!({"body": "Signed body"}))).await;
    let nid = b["id"].as_str().unwrap().to_owned();
    assert_eq!(app.api("POST", &format!("/api/v1/notes/{nid}/sign"), Some(owner), None).await.0, 200);
    let r = app.page("POST", &format!("/clients/{c}/notes/{nid}/edit"), Some(&owner.cookie), Some(&[("body", "Rewritten")])).await;
    assert_eq!(r.status(), 409);
    let (_, n) = app.api("GET", &format!("/api/v1/notes/{nid}"), Some(owner), None).await;
    assert_eq!(n["body"], "Signed body");
    // The safety plan page saves a version from one-entry-per-line text, and refuses an empty plan.
    let r = app.page("POST", &format!("/clients/{c}/safety-plan"), Some(&owner.cookie), Some(&[("warning_signs", "  ")])).await;
    assert_eq!(r.status(), 422);
    let r = app
        .page(
            "POST",
            &format!("/clients/{c}/safety-plan"),
            Some(&owner.cookie),
            Some(&[("warning_signs", "Not sleeping\nSkipping meals"), ("reasons_for_living", "<script>alert(1)</script>")]),
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, plan) = app.api("GET", &format!("/api/v1/clients/{c}/safety-plan"), Some(owner), None).await;
    assert_eq!(plan["warning_signs"], json!(["Not sleeping", "Skipping meals"]));
    // Free text is escaped on the printable page.
    let (s, html) = app.get_html(&format!("/clients/{c}/safety-plan/print"), owner).await;
    assert_eq!(s, 200);
    assert!(!html.contains("<script>alert(1)</script>") && html.contains("alert(1)"));
}
both_engines!(pages_refuse_bad_input);

/// Concurrent writes that raise the same safety concern (the same PHQ-9 completion sent eight
/// times at once, as a flaky connection might) open exactly one prompt; so do concurrent
/// evaluator passes over the writes that follow.
async fn no_duplicate_prompts_under_concurrent_writes(app: TestApp) {
    let c = app.world.client;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let http = app.http.clone();
        let url = format!("{}/api/v1/clients/{c}/responses", app.base);
        let token = app.world.owner.token.clone();
        let body = json!({"instrument": "phq9", "answers": phq9(2, 10), "completed_at": "2026-03-01T08:00:00Z", "idempotency_key": format!("k{i}")});
        tasks.push(tokio::spawn(async move { http.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16() }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert!(codes.iter().all(|s| *s == 201), "{codes:?}");
    let mut passes = Vec::new();
    for _ in 0..4 {
        let (store, ctx) = (app.store.clone(), app.ctx());
        passes.push(tokio::spawn(async move { concord_store::prompts::evaluate_pending(&store, &ctx, 10).await }));
    }
    for p in passes {
        let _ = p.await.unwrap();
    }
    evaluate(&app).await;
    let open = open_prompts(&app).await;
    let safety: Vec<&Value> = open.iter().filter(|p| p["kind"] == "safety").collect();
    assert_eq!(safety.len(), 1, "{open:?}");
    let total: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM prompts WHERE client_id = $1 AND kind = 'safety'")
        .bind(c.to_string())
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(total.0, 1);
}
both_engines!(no_duplicate_prompts_under_concurrent_writes);
