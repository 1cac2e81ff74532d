//! Measurement-based care through the API: responses and scoring, outcomes, portal links,
//! instruments and imports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::TestApp;
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
