//! Measurement-based care through the API: responses and scoring, outcomes, portal links,
//! instruments and imports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{Person, TestApp};
use concord_domain::clock::Clock;
use serde_json::json;

fn phq9(total_pattern: [i32; 9]) -> serde_json::Value {
    json!(total_pattern)
}

async fn respond(app: &TestApp, instrument: &str, answers: serde_json::Value, at: &str) -> (u16, serde_json::Value) {
    let w = &app.world;
    app.api(
        "POST",
        &format!("/api/v1/clients/{}/responses", w.client),
        Some(&w.owner),
        Some(json!({"instrument": instrument, "answers": answers, "completed_at": at})),
    )
    .await
}

async fn responses_outcomes_and_contract(app: TestApp) {
    let w = &app.world;
    let (s, v) = respond(&app, "phq9", phq9([2, 2, 2, 2, 2, 2, 2, 2, 2]), "2026-01-05T10:00:00Z").await;
    assert_eq!(s, 201, "{v}");
    for k in ["id", "total", "band", "flags"] {
        assert!(v.get(k).is_some(), "201 body has {k}: {v}");
    }
    assert_eq!((v["total"].as_i64(), v["band"].as_str()), (Some(18), Some("moderately_severe")));
    assert_eq!(v["flags"], json!(["safety"]));
    respond(&app, "phq9", phq9([2, 2, 1, 1, 1, 1, 2, 2, 0]), "2026-01-26T10:00:00Z").await;
    respond(&app, "phq9", phq9([1, 1, 1, 1, 1, 1, 2, 1, 0]), "2026-02-16T10:00:00Z").await;
    for (answers, at) in [
        ([2, 2, 2, 2, 2, 1, 1], "2026-01-05T10:05:00Z"),
        ([2, 2, 2, 1, 1, 1, 1], "2026-01-26T10:05:00Z"),
        ([1, 1, 1, 1, 1, 1, 0], "2026-02-16T10:05:00Z"),
    ] {
        let (s, _) = respond(&app, "gad7", json!(answers), at).await;
        assert_eq!(s, 201);
    }
    let (s, list) = app.api("GET", &format!("/api/v1/clients/{}/responses?instrument=phq9", w.client), Some(&w.owner), None).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["total"], 18);
    assert!(list[0]["score"]["convention"]["caseness"]["source"].is_string(), "the convention travels with each result");
    let (s, o) = app.api("GET", &format!("/api/v1/clients/{}/outcomes", w.client), Some(&w.owner), None).await;
    assert_eq!(s, 200);
    // PHQ-9 18 → 9 (−9, reliable), GAD-7 12 → 6 (−6, reliable); both below caseness at the end.
    assert_eq!(o["episode"]["classification"], "reliable_recovery", "{o}");
    assert_eq!(o["episode"]["reliable_recovery"], true);
    let phq = o["measures"].as_array().unwrap().iter().find(|m| m["instrument"] == "phq9").unwrap();
    assert_eq!(phq["change"]["change_since_intake"], -9);
    assert_eq!(phq["reliable_change_threshold"], 6);
}
both_engines!(responses_outcomes_and_contract);

async fn bad_responses_are_clear_4xx(app: TestApp) {
    for (instrument, answers, at, want) in [
        ("phq9", json!([1, 2]), "2026-01-05T10:00:00Z", "expects"),
        ("phq9", json!([1, 1, 1, 1, 1, 1, 1, 1, 7]), "2026-01-05T10:00:00Z", "answer 9"),
        ("nosuch", json!([1]), "2026-01-05T10:00:00Z", "unknown instrument"),
        ("phq9", json!([1, 1, 1, 1, 1, 1, 1, 1, 1]), "2031-01-01T00:00:00Z", "future"),
        ("phq9", json!([1, 1, 1, 1, 1, 1, 1, 1, 1]), "last week", "RFC 3339"),
        ("phq9", json!(["one", 1]), "2026-01-05T10:00:00Z", ""),
    ] {
        let (s, v) = respond(&app, instrument, answers.clone(), at).await;
        assert!(s == 422 || s == 400, "{instrument} {answers} {at}: {s} {v}");
        assert!(v["error"].as_str().unwrap().contains(want), "{v}");
    }
    let (_, list) = app.api("GET", &format!("/api/v1/clients/{}/responses", app.world.client), Some(&app.world.owner), None).await;
    assert_eq!(list, json!([]), "nothing partial was stored");
}
both_engines!(bad_responses_are_clear_4xx);

async fn portal_links_and_instruments(app: TestApp) {
    let w = &app.world;
    let (s, v) = app.api("POST", &format!("/api/v1/clients/{}/portal-link", w.client), Some(&w.owner), None).await;
    assert_eq!(s, 201, "{v}");
    assert!(v["url"].as_str().unwrap().contains("/portal/"));
    assert!(v["expires_at"].as_str().unwrap().starts_with("2026-04-01"), "30 days by default: {v}");
    let (s, _) =
        app.api("POST", &format!("/api/v1/clients/{}/portal-link", w.client), Some(&w.owner), Some(json!({"expires_in_days": 500}))).await;
    assert_eq!(s, 422);
    let (s, _) = app.api("POST", &format!("/api/v1/clients/{}/portal-link", w.client), Some(&w.owner), Some(json!({"pin": "12"}))).await;
    assert_eq!(s, 422);
    let (s, v) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{}/portal-link", w.client),
            Some(&w.owner),
            Some(json!({"pin": "4821", "expires_in_days": 7})),
        )
        .await;
    assert_eq!((s, v["pin_required"].as_bool()), (201, Some(true)));
    // The secret is stored only hashed.
    let secret = v["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let n: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT COUNT(*) AS n FROM portal_links WHERE secret_hash = $1")
            .bind(&secret)
            .fetch_one(app.store.pool())
            .await
            .unwrap(),
        "n",
    )
    .unwrap();
    assert_eq!(n, 0);

    let (s, list) = app.api("GET", "/api/v1/instruments", Some(&w.owner), None).await;
    assert_eq!(s, 200);
    let phq = list.as_array().unwrap().iter().find(|i| i["id"] == "phq9").unwrap();
    assert_eq!(phq["loinc"]["panel"], "44249-1");
    assert_eq!(phq["caseness"], 10);
    assert!(list.as_array().unwrap().iter().any(|i| i["id"] == "session_feedback" && i["origin"] == "practice_own"));
    let (s, def) = app.api("GET", "/api/v1/instruments/gad7", Some(&w.owner), None).await;
    assert_eq!(s, 200);
    assert_eq!(def["items"].as_array().unwrap().len(), 8, "seven scored items and the difficulty item");
    assert_eq!(app.api("GET", "/api/v1/instruments/nosuch", Some(&w.owner), None).await.0, 404);

    // Imports: admins only; invalid definitions rejected with a precise message.
    let items: Vec<serde_json::Value> = [1, 2]
        .iter()
        .map(|n| {
            json!({"linkId": format!("q{n}"), "text": format!("Question {n}"), "type": "choice", "answerOption": [
                {"valueCoding": {"code": "a", "display": "Never"}, "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 0}]},
                {"valueCoding": {"code": "b", "display": "Often"}, "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 2}]}]})
        })
        .collect();
    let fhir = json!({"resourceType": "Questionnaire", "status": "active", "name": "StressCheck", "title": "Stress check", "item": items});
    let (s, _) = app.api("POST", "/api/v1/instruments", Some(&w.owner), Some(json!({"format": "fhir", "definition": fhir}))).await;
    assert_eq!(s, 404, "clinicians cannot import");
    let (s, v) = app
        .api("POST", "/api/v1/instruments", Some(&w.admin), Some(json!({"format": "fhir", "definition": fhir, "id": "stress_check"})))
        .await;
    assert_eq!(s, 201, "{v}");
    let (_, list) = app.api("GET", "/api/v1/instruments", Some(&w.owner), None).await;
    assert!(list.as_array().unwrap().iter().any(|i| i["id"] == "stress_check"));
    let (_, b_list) = app.api("GET", "/api/v1/instruments", Some(&w.b_clinician), None).await;
    assert!(!b_list.as_array().unwrap().iter().any(|i| i["id"] == "stress_check"), "imports stay in their practice");
    let mut broken = fhir.clone();
    broken["item"][1]["answerOption"][1]["extension"] = json!([]);
    let (s, v) =
        app.api("POST", "/api/v1/instruments", Some(&w.admin), Some(json!({"format": "fhir", "definition": broken, "id": "broken"}))).await;
    assert_eq!(s, 422);
    assert!(v["error"].as_str().unwrap().contains("q2"), "the message names the item: {v}");
    let (s, v) =
        app.api("POST", "/api/v1/instruments", Some(&w.admin), Some(json!({"format": "fhir", "definition": fhir, "id": "phq9"}))).await;
    assert!(s == 409 || s == 422, "a shipped id cannot be replaced: {s} {v}");
    let (s, v) = respond(&app, "stress_check", json!([2, 0]), "2026-01-05T10:00:00Z").await;
    assert_eq!((s, v["total"].as_i64()), (201, Some(2)), "{v}");
}
both_engines!(portal_links_and_instruments);

async fn paper_forms_record_page_and_caseload(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let (s, html) = app.get_html(&format!("/clients/{c}/measures/new?instrument=phq9"), &w.owner).await;
    assert_eq!(s, 200);
    assert!(html.contains("Little interest or pleasure in doing things") && html.contains("Pfizer"), "PHQ-9 wording and attribution");
    assert_eq!(app.get_html(&format!("/clients/{c}/measures/new?instrument=nosuch"), &w.owner).await.0, 404);
    let mut form: Vec<(&str, &str)> = vec![("completed_date", "2026-02-01"), ("completed_time", "09:30"), ("source", "paper")];
    let items = ["item_q1", "item_q2", "item_q3", "item_q4", "item_q5", "item_q6", "item_q7", "item_q8", "item_q9"];
    for k in items {
        form.push((k, "2"));
    }
    let mut bad = form.clone();
    bad[0] = ("completed_date", "not a date");
    let r = app.page("POST", &format!("/clients/{c}/measures/new?instrument=phq9"), Some(&w.owner.cookie), Some(&bad)).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("value=\"2\" checked"), "answers are kept on error");
    let r = app.page("POST", &format!("/clients/{c}/measures/new?instrument=phq9"), Some(&w.owner.cookie), Some(&form)).await;
    assert_eq!(r.status(), 303);
    for k in items {
        form.retain(|(f, _)| *f != k);
        form.push((k, "1"));
    }
    form[0] = ("completed_date", "2026-02-22");
    let r = app.page("POST", &format!("/clients/{c}/measures/new?instrument=phq9"), Some(&w.owner.cookie), Some(&form)).await;
    assert_eq!(r.status(), 303);
    let (_, html) = app.get_html(&format!("/clients/{c}"), &w.owner).await;
    assert!(html.contains("9 (Mild) on 2026-02-22"), "latest score and band");
    assert!(html.contains("9 lower than at intake: reliable improvement"));
    assert!(html.contains("<svg") && html.contains("role=\"img\""), "a chart with its text alternative");
    let (_, caseload) = app.get_html("/caseload", &w.owner).await;
    assert!(caseload.contains("PHQ-9 9 (mild); 9 lower than at intake: reliable improvement"), "caseload shows latest, band and change");
    assert!(caseload.contains("spark-"), "and a sparkline");
    // Schedules and the overdue list.
    let r = app
        .page("POST", &format!("/clients/{c}/schedules"), Some(&w.owner.cookie), Some(&[("instrument", "gad7"), ("frequency", "once")]))
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .page("POST", &format!("/clients/{c}/schedules"), Some(&w.owner.cookie), Some(&[("instrument", "gad7"), ("frequency", "hourly")]))
        .await;
    assert_eq!(r.status(), 422);
    app.clock.advance(8 * 86_400);
    let owner = app.fresh(&w.owner).await;
    let (_, caseload) = app.get_html("/caseload", &owner).await;
    assert!(caseload.contains("Overdue measures") && caseload.contains("GAD-7, overdue since"), "overdue list on the caseload");
    let (_, other) = app.get_html("/caseload", &app.fresh(&w.other).await).await;
    assert!(!other.contains("Overdue measures") && !other.contains("PHQ-9 9"), "another clinician sees none of it");
    // Portal links from the record page: shown once, revocable.
    let r = app.page("POST", &format!("/clients/{c}/portal-links"), Some(&owner.cookie), Some(&[("days", "14"), ("pin", "12")])).await;
    assert_eq!(r.status(), 422, "a bad PIN is refused");
    let r = app.page("POST", &format!("/clients/{c}/portal-links"), Some(&owner.cookie), Some(&[("days", "14"), ("pin", "2468")])).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("/portal/") && html.contains("shown only now"));
    let (_, again) = app.get_html(&format!("/clients/{c}"), &owner).await;
    assert!(!again.contains("/portal/") || !again.contains("shown only now"), "the address is not shown again");
    assert!(again.contains("Active, with PIN"));
}
both_engines!(paper_forms_record_page_and_caseload);

async fn long_records_are_summarised_with_links_to_all(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    for d in 0..25 {
        let at = format!("2025-{:02}-{:02}T10:00:00Z", 1 + d / 28, 1 + d % 28);
        let (s, v) = app
            .api(
                "POST",
                &format!("/api/v1/clients/{c}/sessions"),
                Some(&w.owner),
                Some(json!({"starts_at": at, "duration_minutes": 50, "attendance": "attended"})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    for d in 0..130 {
        let at = format!("2025-{:02}-{:02}T09:00:00Z", 2 + d / 28, 1 + d % 28);
        let level = if d == 60 { 3 } else { i32::from(d % 2 == 0) };
        let (s, v) = respond(&app, "phq9", phq9([level; 9]), &at).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, html) = app.get_html(&format!("/clients/{c}"), &w.owner).await;
    assert_eq!(s, 200);
    assert_eq!(html.matches("/transcript\">Transcript</a>").count(), 20, "the latest twenty sessions");
    assert!(html.contains("Showing the latest 20 of 25 sessions") && html.contains("?sessions=all"));
    assert!(html.contains("Of 130 scores, the chart and the table show"), "a long series is summarised, and says so");
    assert!(html.contains("?scores=all"), "with a link to every score");
    assert!(html.contains("<td>27</td>"), "the peak is kept");
    let (_, all) = app.get_html(&format!("/clients/{c}?sessions=all&scores=all"), &w.owner).await;
    assert_eq!(all.matches("/transcript\">Transcript</a>").count(), 25, "every session");
    assert!(!all.contains("Showing the latest") && !all.contains("Of 130 scores"), "every score");
}
both_engines!(long_records_are_summarised_with_links_to_all);

async fn admin_imports_instruments_from_the_page(app: TestApp) {
    let w = &app.world;
    let (s, html) = app.get_html("/admin/instruments", &w.admin).await;
    assert_eq!(s, 200);
    assert!(html.contains("phq9") && html.contains("Practice&#39;s own form") || html.contains("Practice's own form"));
    let r = app
        .page(
            "POST",
            "/admin/instruments",
            Some(&w.admin.cookie),
            Some(&[("format", "concord"), ("definition", "{\"format\": \"concord.instrument/1\", \"id\": \"x\"}")]),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("class=\"error\""), "the validator's message is shown");
    let registry = concord_domain::measures::Registry::shipped().unwrap();
    let mut def: serde_json::Value = serde_json::from_str(&registry.get("readiness").unwrap().to_json().unwrap()).unwrap();
    def["id"] = json!("motivation_ruler");
    def["name"] = json!("Motivation ruler");
    let r = app
        .page("POST", "/admin/instruments", Some(&w.admin.cookie), Some(&[("format", "concord"), ("definition", &def.to_string())]))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Imported Motivation ruler") && html.contains("Imported by the practice"));
}
both_engines!(admin_imports_instruments_from_the_page);

/// The caseload and record page keep what they derive from scores in memory (`view_cache`),
/// keyed on the client's data version: a write through the API, a write by another server on the
/// same database, and a write straight through the store (as the CLI makes) each show at once,
/// and a page served from memory is still audited.
async fn cached_views_follow_every_write(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    respond(&app, "phq9", phq9([2, 2, 2, 2, 2, 2, 2, 2, 0]), "2026-01-05T10:00:00Z").await;
    respond(&app, "phq9", phq9([2, 2, 2, 2, 2, 1, 1, 1, 0]), "2026-01-26T10:00:00Z").await;
    let (record, caseload) = (app.get_html(&format!("/clients/{c}"), &w.owner).await.1, app.get_html("/caseload", &w.owner).await.1);
    assert!(record.contains("13 (Moderate) on 2026-01-26"), "record page drawn");
    assert!(caseload.contains("PHQ-9 13 (moderate)"), "caseload drawn");

    // Served again from memory (scores and sessions), and audited all the same: (entries, of
    // which served from memory).
    let audited = |app: &TestApp, action: &'static str| {
        let store = app.store.clone();
        let practice = w.practice_a.to_string();
        let client = c.to_string();
        async move {
            let f = concord_store::audit::AuditFilter {
                client_id: Some(client),
                action: Some(action.into()),
                limit: 1000,
                ..Default::default()
            };
            let entries = concord_store::audit::list(store.pool(), &practice, &f).await.unwrap();
            (entries.len(), entries.iter().filter(|e| e.detail.ends_with("cached")).count())
        }
    };
    let (scores, sessions) = (audited(&app, "response.list").await, audited(&app, "session.list").await);
    let again = app.get_html(&format!("/clients/{c}"), &w.owner).await.1;
    assert!(again.contains("13 (Moderate) on 2026-01-26"));
    assert_eq!(audited(&app, "response.list").await, (scores.0 + 1, scores.1 + 1), "scores served from memory are audited like any read");
    assert_eq!(audited(&app, "session.list").await, (sessions.0 + 1, sessions.1 + 1), "and so are sessions");

    // A write through the API shows at once.
    respond(&app, "phq9", phq9([1, 1, 1, 1, 1, 1, 1, 1, 0]), "2026-02-16T10:00:00Z").await;
    assert!(app.get_html(&format!("/clients/{c}"), &w.owner).await.1.contains("8 (Mild) on 2026-02-16"), "record page after an API write");
    assert!(app.get_html("/caseload", &w.owner).await.1.contains("PHQ-9 8 (mild)"), "caseload after an API write");

    // A write through another server over the same database (PostgreSQL deployments run several).
    let second = app.restart().await;
    let r = app
        .http
        .post(format!("{second}/api/v1/clients/{c}/responses"))
        .bearer_auth(&w.owner.token)
        .json(&json!({"instrument": "phq9", "answers": [0, 0, 0, 1, 1, 1, 1, 1, 0], "completed_at": "2026-03-01T10:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        app.get_html(&format!("/clients/{c}"), &w.owner).await.1.contains("5 (Mild) on 2026-03-01"),
        "record page after another server's write"
    );
    assert!(app.get_html("/caseload", &w.owner).await.1.contains("PHQ-9 5 (mild)"), "caseload after another server's write");

    // A write straight through the store, on its own connection pool, as the CLI makes it.
    let cli = concord_store::Store::open(&app.url, concord_store::crypto::PracticeKey::from_bytes(app.key_bytes)).await.unwrap();
    let access = concord_store::clients::record_access(&cli, &app.ctx(), &w.owner.user.actor(), c).await.unwrap();
    let registry = concord_store::measures::practice_registry(&cli, &app.ctx(), w.practice_a).await.unwrap();
    let answers: concord_domain::measures::score::Answers = serde_json::from_value(json!([0, 0, 0, 0, 0, 0, 0, 1, 0])).unwrap();
    let input = concord_store::measures::NewResponse::scored(
        registry.get("phq9").unwrap(),
        answers,
        app.clock.now().unix_timestamp() - 3600,
        concord_store::measures::ResponseSource::Clinician,
    )
    .unwrap();
    concord_store::measures::record_response(&cli, &app.ctx(), &access, input).await.unwrap();
    assert!(
        app.get_html(&format!("/clients/{c}"), &w.owner).await.1.contains("1 (Minimal) on 2026-03-02"),
        "record page after a CLI write"
    );
    assert!(app.get_html("/caseload", &w.owner).await.1.contains("PHQ-9 1 (minimal)"), "caseload after a CLI write");

    // Sessions are drawn on the charts, so a new session changes the version too.
    let v0 = concord_store::clients::get_client(&cli, &app.ctx(), &access).await.unwrap().data_version;
    let starts = time::macros::datetime!(2026-02-20 10:00 UTC);
    let minutes = concord_domain::values::DurationMinutes::new(50).unwrap();
    concord_store::clients::add_session(&cli, &app.ctx(), &access, starts, minutes, concord_domain::values::Attendance::Attended)
        .await
        .unwrap();
    let v1 = concord_store::clients::get_client(&cli, &app.ctx(), &access).await.unwrap().data_version;
    assert!(v1 > v0, "a session bumps the data version ({v0} → {v1})");
    let page = app.get_html(&format!("/clients/{c}"), &w.owner).await.1;
    assert!(page.contains("2026-02-20 10:00"), "the record page lists a session another process added");

    // The cache never crosses care teams: another clinician gets the same 404 as before.
    let (s, _) = app.get_html(&format!("/clients/{c}"), &app.fresh(&w.other).await).await;
    assert_eq!(s, 404);
    let (_, other) = app.get_html("/caseload", &app.fresh(&w.other).await).await;
    assert!(!other.contains("PHQ-9 1"), "another clinician's caseload shows none of it");
}
both_engines!(cached_views_follow_every_write);

/// The caseload keeps each client's row (name, sessions, overdue measures, prompts wanting
/// attention) in memory, keyed on the client's versions and valid until the next session start
/// or overdue time: every change shows at once, whoever makes it, and so does the clock.
async fn caseload_rows_follow_every_change(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let caseload = |who: Person, path: &'static str| {
        let app = &app;
        async move { app.get_html(path, &who).await.1.split_whitespace().collect::<Vec<_>>().join(" ") }
    };
    assert!(caseload(w.owner.clone(), "/caseload").await.contains("Casey Client"));
    let cached = || {
        let store = app.store.clone();
        let practice = w.practice_a.to_string();
        async move {
            let f = concord_store::audit::AuditFilter { action: Some("caseload.list".into()), limit: 1000, ..Default::default() };
            concord_store::audit::list(store.pool(), &practice, &f).await.unwrap().iter().filter(|e| e.detail.ends_with("cached")).count()
        }
    };
    let before = cached().await;
    assert!(caseload(w.owner.clone(), "/caseload").await.contains("Casey Client"));
    assert_eq!(cached().await, before + 1, "served from memory, and audited as such");

    // Changes made straight through the store, on its own pool, as the CLI makes them.
    let cli = concord_store::Store::open(&app.url, concord_store::crypto::PracticeKey::from_bytes(app.key_bytes)).await.unwrap();
    let access = concord_store::clients::record_access(&cli, &app.ctx(), &w.owner.user.actor(), c).await.unwrap();
    let renamed = concord_domain::values::ClientName::parse("Casey Renamed").unwrap();
    let changes = concord_store::clients::ClientChanges { name: Some(&renamed), ..Default::default() };
    concord_store::clients::update_client(&cli, &app.ctx(), &access, changes).await.unwrap();
    let page = caseload(w.owner.clone(), "/caseload").await;
    assert!(page.contains("Casey Renamed") && !page.contains("Casey Client"), "a new name shows");

    let gad7 = concord_domain::measures::InstrumentId::parse("gad7").unwrap();
    let once = concord_domain::measures::schedule::Frequency::Once;
    concord_store::measures::set_schedule(&cli, &app.ctx(), &access, &gad7, once).await.unwrap();
    assert!(!caseload(w.owner.clone(), "/caseload").await.contains("Overdue measures"), "asked for, not yet overdue");
    app.clock.advance(8 * 86_400);
    let owner = app.fresh(&w.owner).await;
    assert!(caseload(owner.clone(), "/caseload").await.contains("GAD-7, overdue since"), "overdue once the clock passes its time");

    // A session booked for tomorrow is the next one, and the last once its start has passed.
    let starts = time::macros::datetime!(2026-03-11 10:00 UTC);
    let minutes = concord_domain::values::DurationMinutes::new(50).unwrap();
    concord_store::clients::add_session(&cli, &app.ctx(), &access, starts, minutes, concord_domain::values::Attendance::Scheduled)
        .await
        .unwrap();
    assert!(caseload(owner.clone(), "/caseload").await.contains(r#"<td class="when">—</td> <td class="when">2026-03-11 10:00</td>"#));
    app.clock.advance(2 * 86_400);
    let owner = app.fresh(&w.owner).await;
    assert!(caseload(owner.clone(), "/caseload").await.contains(r#"<td class="when">2026-03-11 10:00</td> <td class="when">—</td>"#));

    // A safety flag opens a prompt that wants attention; resolving it clears it.
    let at = app.clock.now() - time::Duration::hours(1);
    let at = at.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (s, v) = respond(&app, "phq9", phq9([1, 1, 1, 1, 1, 1, 1, 1, 2]), &at).await;
    assert_eq!(s, 201, "{v}");
    assert!(caseload(owner.clone(), "/caseload").await.contains("Needs attention"), "a safety prompt shows");
    let (_, open) = app.api("GET", &format!("/api/v1/clients/{c}/prompts"), Some(&w.owner), None).await;
    let id = open.as_array().unwrap().iter().find(|p| p["kind"] == "safety").unwrap()["id"].as_str().unwrap().to_owned();
    let resolve = json!({"response": "discussed", "note": "Talked it through.", "action": "Reviewed the safety plan."});
    assert_eq!(app.api("POST", &format!("/api/v1/prompts/{id}/resolve"), Some(&w.owner), Some(resolve)).await.0, 200);
    assert!(!caseload(owner.clone(), "/caseload").await.contains("Needs attention"), "a resolved prompt leaves the list");

    // Nobody else's caseload shows the row, cached or not.
    for who in [&w.other, &w.b_clinician] {
        let page = caseload(app.fresh(who).await, "/caseload").await;
        assert!(!page.contains("Casey Renamed") && !page.contains("GAD-7"), "{page}");
    }

    // Archived: off the caseload, and listed again when asked for archived clients too.
    let archive =
        concord_store::clients::ClientChanges { status: Some(concord_store::clients::ClientStatus::Archived), ..Default::default() };
    concord_store::clients::update_client(&cli, &app.ctx(), &access, archive).await.unwrap();
    let page = caseload(owner.clone(), "/caseload").await;
    assert!(!page.contains("Casey Renamed") && !page.contains("Overdue measures"), "an archived client leaves the caseload");
    let page = caseload(owner.clone(), "/caseload?archived=1").await;
    assert!(page.contains("Casey Renamed") && page.contains("Archived"), "and comes back with archived clients");
}
both_engines!(caseload_rows_follow_every_change);

/// The record page keeps a client's schedules, portal links and open prompts in memory, keyed
/// on the client's three versions and valid until the next due or overdue time: each change
/// shows at once, whoever makes it, and so does the clock; a panel served from memory is
/// audited as the reads it replaces.
async fn record_panel_follows_every_change(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let record = |who: Person| {
        let app = &app;
        async move { app.get_html(&format!("/clients/{c}"), &who).await.1.split_whitespace().collect::<Vec<_>>().join(" ") }
    };
    // (entries, of which served from memory) of one read action on this client.
    let audited = |action: &'static str| {
        let store = app.store.clone();
        let practice = w.practice_a.to_string();
        async move {
            let f = concord_store::audit::AuditFilter {
                client_id: Some(c.to_string()),
                action: Some(action.into()),
                limit: 1000,
                ..Default::default()
            };
            let entries = concord_store::audit::list(store.pool(), &practice, &f).await.unwrap();
            (entries.len(), entries.iter().filter(|e| e.detail.ends_with("cached")).count())
        }
    };
    assert!(record(w.owner.clone()).await.contains("No measures scheduled."));
    let before = [audited("schedule.list").await, audited("portal_link.list").await, audited("prompt.list").await];
    assert!(record(w.owner.clone()).await.contains("No measures scheduled."));
    let after = [audited("schedule.list").await, audited("portal_link.list").await, audited("prompt.list").await];
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(*a, (b.0 + 1, b.1 + 1), "served from memory, and each read audited as such");
    }

    // Changes made straight through the store, on its own pool, as the CLI makes them.
    let cli = concord_store::Store::open(&app.url, concord_store::crypto::PracticeKey::from_bytes(app.key_bytes)).await.unwrap();
    let access = concord_store::clients::record_access(&cli, &app.ctx(), &w.owner.user.actor(), c).await.unwrap();
    let gad7 = concord_domain::measures::InstrumentId::parse("gad7").unwrap();
    let weekly = concord_domain::measures::schedule::Frequency::Weekly;
    let schedule = concord_store::measures::set_schedule(&cli, &app.ctx(), &access, &gad7, weekly).await.unwrap();
    let page = record(w.owner.clone()).await;
    assert!(page.contains("GAD-7, weekly — due since"), "a new schedule shows: {page}");
    respond(&app, "gad7", json!([1, 1, 1, 1, 1, 1, 1]), &app.clock.now().format(&time::format_description::well_known::Rfc3339).unwrap())
        .await;
    assert!(record(w.owner.clone()).await.contains("GAD-7, weekly — next due"), "a response moves the due date");
    assert!(record(w.owner.clone()).await.contains("GAD-7, weekly — next due"), "and is served from memory until then");
    app.clock.advance(7 * 86_400 + 60);
    let owner = app.fresh(&w.owner).await;
    assert!(record(owner.clone()).await.contains("GAD-7, weekly — due since"), "due again once the clock passes its time");
    app.clock.advance(7 * 86_400);
    let owner = app.fresh(&owner).await;
    assert!(
        record(owner.clone()).await.contains(r#"GAD-7, weekly — <strong class="overdue">overdue</strong>, due since"#),
        "and overdue after its grace"
    );
    concord_store::measures::remove_schedule(&cli, &app.ctx(), &access, schedule).await.unwrap();
    assert!(record(owner.clone()).await.contains("No measures scheduled."), "a stopped schedule leaves");

    // Every session: due within a day of a booked session, kept until that session's start
    // passes (nothing else in the rows says when that is).
    let phq = concord_domain::measures::InstrumentId::parse("phq9").unwrap();
    let every = concord_domain::measures::schedule::Frequency::EverySession;
    let schedule = concord_store::measures::set_schedule(&cli, &app.ctx(), &access, &phq, every).await.unwrap();
    let starts = app.clock.now() + time::Duration::hours(3);
    let minutes = concord_domain::values::DurationMinutes::new(50).unwrap();
    concord_store::clients::add_session(&cli, &app.ctx(), &access, starts, minutes, concord_domain::values::Attendance::Scheduled)
        .await
        .unwrap();
    assert!(record(owner.clone()).await.contains("PHQ-9, every session — due since"), "due before the booked session");
    let kept = audited("schedule.list").await;
    assert!(record(owner.clone()).await.contains("PHQ-9, every session — due since"));
    assert_eq!(audited("schedule.list").await, (kept.0 + 1, kept.1 + 1), "kept until the session's start");
    app.clock.advance(4 * 3600);
    let owner = app.fresh(&owner).await;
    let page = record(owner.clone()).await;
    assert!(page.contains("PHQ-9, every session — complete"), "its start passed unattended: nothing due: {page}");
    concord_store::measures::remove_schedule(&cli, &app.ctx(), &access, schedule).await.unwrap();

    // A portal link: created, opened by the client, revoked.
    let expires = app.clock.now().unix_timestamp() + 7 * 86_400;
    let (link, secret) = concord_store::measures::create_portal_link(&cli, &app.ctx(), &access, expires, None).await.unwrap();
    assert!(record(owner.clone()).await.contains(": Active"), "a new link shows");
    assert!(!record(owner.clone()).await.contains("last opened"));
    let opened = app.page("GET", &format!("/portal/{secret}"), None, None).await;
    assert!(opened.status().is_success() || opened.status().is_redirection(), "{}", opened.status());
    assert!(record(owner.clone()).await.contains("Active, last opened"), "the client opening it shows");
    concord_store::measures::revoke_portal_link(&cli, &app.ctx(), &access, link).await.unwrap();
    assert!(record(owner.clone()).await.contains(": Revoked"), "a revoked link shows as revoked");

    // A link with a PIN can be locked by wrong PINs, which no version follows: never kept.
    let (_, pinned) = concord_store::measures::create_portal_link(&cli, &app.ctx(), &access, expires, Some("4821")).await.unwrap();
    assert!(record(owner.clone()).await.contains("Active, with PIN"));
    for _ in 0..5 {
        app.page("POST", &format!("/portal/{pinned}"), None, Some(&[("pin", "0000")])).await;
    }
    assert!(record(owner.clone()).await.contains("Locked (wrong PINs)"), "a link locked by wrong PINs shows at once");

    // A safety flag opens a prompt; resolving it clears it.
    let at = (app.clock.now() - time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(respond(&app, "phq9", phq9([1, 1, 1, 1, 1, 1, 1, 1, 2]), &at).await.0, 201);
    assert!(record(owner.clone()).await.contains("Safety concern:"), "a safety prompt shows");
    let (_, open) = app.api("GET", &format!("/api/v1/clients/{c}/prompts"), Some(&w.owner), None).await;
    let id = open.as_array().unwrap().iter().find(|p| p["kind"] == "safety").unwrap()["id"].as_str().unwrap().to_owned();
    let resolve = json!({"response": "discussed", "note": "Talked it through.", "action": "Reviewed the safety plan."});
    assert_eq!(app.api("POST", &format!("/api/v1/prompts/{id}/resolve"), Some(&w.owner), Some(resolve)).await.0, 200);
    assert!(!record(owner.clone()).await.contains("Safety concern:"), "a resolved prompt leaves");

    // The kept panel never crosses care teams or practices.
    for who in [&w.other, &w.b_clinician] {
        let (s, page) = app.get_html(&format!("/clients/{c}"), &app.fresh(who).await).await;
        assert_eq!(s, 404, "{page}");
        assert!(!page.contains("Revoked") && !page.contains("with PIN"));
    }
}
both_engines!(record_panel_follows_every_change);

/// Concurrent first requests for a caseload read it once (single-flight): the others wait for
/// the first and are served what it kept, audited as cached reads. Without it, a cold server
/// under load made every waiting request repeat the whole read.
async fn concurrent_cold_caseloads_read_once(app: TestApp) {
    let w = &app.world;
    respond(&app, "phq9", phq9([2, 2, 2, 2, 2, 2, 2, 2, 0]), "2026-01-05T10:00:00Z").await;
    respond(&app, "phq9", phq9([1, 1, 1, 1, 1, 1, 1, 1, 0]), "2026-01-26T10:00:00Z").await;
    let reads = |action: &'static str| {
        let store = app.store.clone();
        let practice = w.practice_a.to_string();
        async move {
            let f = concord_store::audit::AuditFilter { action: Some(action.into()), limit: 1000, ..Default::default() };
            let entries = concord_store::audit::list(store.pool(), &practice, &f).await.unwrap();
            let cached = entries.iter().filter(|e| e.detail.ends_with("cached")).count();
            (entries.len() - cached, cached)
        }
    };
    let (rows_before, scores_before) = (reads("caseload.list").await, reads("caseload.scores").await);
    // A server that has kept nothing yet.
    let cold = app.restart().await;
    let mut pages = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (http, url, cookie) = (app.http.clone(), format!("{cold}/caseload"), w.owner.cookie.clone());
        pages.spawn(async move {
            let r = http.get(url).header("cookie", cookie).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        });
    }
    while let Some(page) = pages.join_next().await {
        let (status, html) = page.unwrap();
        assert_eq!(status, 200);
        assert!(html.contains("Casey Client") && html.contains("PHQ-9 8 (mild)"), "every page is whole");
    }
    let (rows, scores) = (reads("caseload.list").await, reads("caseload.scores").await);
    assert_eq!((rows.0 - rows_before.0, rows.1 - rows_before.1), (1, 11), "the rows were read once, eleven served from memory");
    assert_eq!((scores.0 - scores_before.0, scores.1 - scores_before.1), (1, 11), "the scores were read once, eleven from memory");
}
both_engines!(concurrent_cold_caseloads_read_once);
