//! MI transcript feedback in the web app and API: upload, coded view, filters, discarding the
//! text, trends, encryption at rest and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::TestApp;
use serde_json::json;
use sqlx::Row;

const TRANSCRIPT: &str = "T: What would you like to talk about today, Zanzibarine?\n\
C: My drinking. I really want to cut down, it is hurting my kids.\n\
T: You are worried about what drinking is doing to your family.\n\
C: Yes. But honestly I don't think I can stop completely.\n\
T: How would you like things to be in a year?\n\
C: Sober on weekdays at least. I want to be there for them.\n";

async fn new_session(app: &TestApp, when: &str) -> String {
    let w = &app.world;
    let (s, b) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{}/sessions", w.client),
            Some(&w.owner),
            Some(json!({"starts_at": when, "duration_minutes": 50, "attendance": "attended"})),
        )
        .await;
    assert_eq!(s, 201);
    b["id"].as_str().unwrap().to_owned()
}

async fn upload_view_filter_discard(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let sid = new_session(&app, "2026-02-01T10:00:00Z").await;
    let base = format!("/clients/{c}/sessions/{sid}/transcript");
    let (s, html) = app.get_html(&base, &w.owner).await;
    assert_eq!(s, 200);
    assert!(html.contains("Add a transcript"));
    // A malformed transcript: a clear 422 naming the line, nothing stored.
    let r = app.page("POST", &base, Some(&w.owner.cookie), Some(&[("text", "T: hello\nQ: who is this?\n"), ("format", "auto")])).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("line 2"));
    let r = app.page("POST", &base, Some(&w.owner.cookie), Some(&[("text", TRANSCRIPT), ("format", "auto")])).await;
    assert_eq!(r.status(), 303);
    let (_, html) = app.get_html(&base, &w.owner).await;
    assert!(html.contains("Reflections to questions") && html.contains("MITI 4.2.1"));
    assert!(html.contains("Zanzibarine"), "the text is shown while kept");
    assert_eq!(html.matches("class=\"utt ").count(), 6);
    let (_, only_client) = app.get_html(&format!("{base}?show=client"), &w.owner).await;
    assert_eq!(only_client.matches("class=\"utt client").count(), 3);
    assert_eq!(only_client.matches("class=\"utt therapist").count(), 0);
    let (s, _) = app.get_html(&format!("{base}?show=%3Cscript%3E"), &w.owner).await;
    assert_eq!(s, 200, "an unknown filter shows everything");
    // Encrypted at rest.
    let row =
        sqlx::query("SELECT codes, text_ct FROM transcripts WHERE session_id = $1").bind(&sid).fetch_one(app.store.pool()).await.unwrap();
    let codes: String = row.try_get("codes").unwrap();
    let ct: Vec<u8> = row.try_get("text_ct").unwrap();
    assert!(!codes.contains("Zanzibarine") && !codes.contains("drinking"), "codes hold no text");
    assert!(!String::from_utf8_lossy(&ct).contains("Zanzibarine"));
    // Discard needs confirming, then keeps codes only.
    let r = app.page("POST", &format!("{base}/discard-text"), Some(&w.owner.cookie), Some(&[("x", "y")])).await;
    assert_eq!(r.status(), 422);
    let r = app.page("POST", &format!("{base}/discard-text"), Some(&w.owner.cookie), Some(&[("confirm", "yes")])).await;
    assert_eq!(r.status(), 303);
    let (_, html) = app.get_html(&base, &w.owner).await;
    assert!(!html.contains("Zanzibarine") && html.contains("was discarded"));
    assert_eq!(html.matches("class=\"utt ").count(), 6, "codes remain");
    let row = sqlx::query("SELECT text_ct FROM transcripts WHERE session_id = $1").bind(&sid).fetch_one(app.store.pool()).await.unwrap();
    assert!(row.try_get::<Option<Vec<u8>>, _>("text_ct").unwrap().is_none());
    // Trends across sessions.
    let sid2 = new_session(&app, "2026-02-08T10:00:00Z").await;
    let (s, _) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{c}/sessions/{sid2}/transcript"),
            Some(&w.owner),
            Some(json!({"text": TRANSCRIPT, "keep_text": false})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, html) = app.get_html(&format!("/clients/{c}/transcripts"), &w.owner).await;
    assert_eq!(s, 200);
    assert_eq!(html.matches("/transcript\">").count(), 2, "one row per coded session");
    // Every access audited.
    let entries = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter { client_id: Some(c.to_string()), limit: 1000, ..Default::default() },
    )
    .await
    .unwrap();
    for action in ["transcript.create", "transcript.read", "transcript.discard_text", "transcript.list"] {
        assert!(entries.iter().any(|e| e.action == action), "{action} audited");
    }
}
both_engines!(upload_view_filter_discard);

async fn api_contract(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let sid = new_session(&app, "2026-02-01T10:00:00Z").await;
    let path = format!("/api/v1/clients/{c}/sessions/{sid}/transcript");
    let (s, v) = app.api("POST", &path, Some(&w.owner), Some(json!({"text": TRANSCRIPT, "format": "text"}))).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["utterances"].as_array().unwrap().len(), 6);
    assert_eq!(v["utterances"][0]["speaker"], "therapist");
    assert!(v["utterances"][0]["text"].as_str().unwrap().contains("Zanzibarine"));
    assert!(v["summary"]["miti"].is_object());
    assert_eq!(v["text_kept"], true);
    let (s, got) = app.api("GET", &path, Some(&w.owner), None).await;
    assert_eq!(s, 200);
    assert_eq!(got["summary"], v["summary"]);
    // Replacing without the text.
    let (s, v) = app.api("POST", &path, Some(&w.owner), Some(json!({"text": TRANSCRIPT, "keep_text": false}))).await;
    assert_eq!(s, 201);
    assert_eq!(v["text_kept"], false);
    assert_eq!(v["utterances"][0]["text"], "");
    // Bad input.
    for (body, want) in [
        (json!({"text": ""}), 422),
        (json!({"text": "T: a\nZ: b"}), 422),
        (json!({"text": TRANSCRIPT, "format": "docx"}), 422),
        (json!({"text": TRANSCRIPT, "speaker": "x"}), 422),
    ] {
        let (s, b) = app.api("POST", &path, Some(&w.owner), Some(body.clone())).await;
        assert_eq!(s, want, "{body}: {b}");
        assert!(b["error"].is_string());
    }
    // Another client's session id, or a session of this client under another client: 404.
    let other = common::new_client(&app.store, &app.clock, &w.owner, "Second Client").await;
    let (s, _) = app
        .api("POST", &format!("/api/v1/clients/{other}/sessions/{sid}/transcript"), Some(&w.owner), Some(json!({"text": TRANSCRIPT})))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app.api("GET", &format!("/api/v1/clients/{c}/sessions/{sid}/transcript"), Some(&w.b_clinician), None).await;
    assert_eq!(s, 404);
    // Oversized: refused with 413 before coding.
    let big = format!("T: {}\n", "word ".repeat(2_000_000));
    let (s, _) = app.api("POST", &path, Some(&w.owner), Some(json!({"text": big}))).await;
    assert!(s == 413 || s == 422, "{s}");
}
both_engines!(api_contract);

async fn erasure_removes_transcripts(app: TestApp) {
    let w = &app.world;
    let sid = new_session(&app, "2026-02-01T10:00:00Z").await;
    app.api("POST", &format!("/api/v1/clients/{}/sessions/{sid}/transcript", w.client), Some(&w.owner), Some(json!({"text": TRANSCRIPT})))
        .await;
    let r = app.page("POST", &format!("/admin/clients/{}/erase", w.client), Some(&w.admin.cookie), Some(&[("confirm", "ERASE")])).await;
    assert_eq!(r.status(), 303);
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM transcripts").fetch_one(app.store.pool()).await.unwrap().try_get("n").unwrap();
    assert_eq!(n, 0);
}
both_engines!(erasure_removes_transcripts);
