//! Shared decision making through the API (issue 5): the decision record, options, criteria,
//! ratings, the weighted comparison, SURE, dossiers and their immutability, bad input, and
//! outsiders. Runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::TestApp;
use serde_json::{Value, json};

async fn new_decision(app: &TestApp, question: &str) -> String {
    let w = &app.world;
    let (s, v) =
        app.api("POST", &format!("/api/v1/clients/{}/decisions", w.client), Some(&w.owner), Some(json!({"question": question}))).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (s, v) = app.api("GET", path, Some(&app.world.owner), None).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

async fn decision_contract(app: TestApp) {
    let w = &app.world;
    let id = new_decision(&app, "Should I try medication for my low mood?").await;
    let d = get(&app, &format!("/api/v1/decisions/{id}")).await;
    assert_eq!(d["question"], "Should I try medication for my low mood?");
    assert_eq!(d["status"], "deliberating");
    assert_eq!(d["client_id"], w.client.to_string());
    // The two options Concord offers by default.
    let options = d["options"].as_array().unwrap();
    assert_eq!(options.len(), 2, "{d}");
    assert_eq!(options[0]["offered"], "medication_evaluation_referral");
    assert_eq!(options[1]["offered"], "therapy_with_lifestyle_strategies");
    let (med, therapy) = (options[0]["id"].as_str().unwrap().to_owned(), options[1]["id"].as_str().unwrap().to_owned());

    // The client's own option, with IPDAS entries.
    let (s, v) = app
        .api(
            "POST",
            &format!("/api/v1/decisions/{id}/options"),
            Some(&w.owner),
            Some(json!({"name": "Join a running group", "benefits": [{"text": "Company and exercise", "sources": ["NICE NG222"], "reviewed_on": "2026-01-10"}], "harms": [{"text": "Takes two evenings a week"}]})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let own = v["id"].as_str().unwrap().to_owned();

    // Criteria and their importance.
    let mut crit = Vec::new();
    for (name, importance) in [("feel like myself", 9), ("no weight gain", 4), ("time to work", 6)] {
        let (s, v) = app
            .api("POST", &format!("/api/v1/decisions/{id}/criteria"), Some(&w.owner), Some(json!({"name": name, "importance": importance})))
            .await;
        assert_eq!(s, 201, "{v}");
        crit.push(v["id"].as_str().unwrap().to_owned());
    }
    let (s, v) =
        app.api("PATCH", &format!("/api/v1/decisions/{id}/criteria/{}", crit[1]), Some(&w.owner), Some(json!({"importance": 5}))).await;
    assert_eq!((s, v["importance"].as_i64()), (200, Some(5)), "{v}");

    // Ratings: the medication referral fits "feel like myself" best, therapy the rest.
    for (opt, c, fit) in [
        (&med, &crit[0], 8),
        (&med, &crit[1], 3),
        (&med, &crit[2], 6),
        (&therapy, &crit[0], 6),
        (&therapy, &crit[1], 9),
        (&therapy, &crit[2], 7),
        (&own, &crit[0], 5),
        (&own, &crit[1], 8),
        (&own, &crit[2], 4),
    ] {
        let (s, v) = app
            .api(
                "PUT",
                &format!("/api/v1/decisions/{id}/ratings"),
                Some(&w.owner),
                Some(json!({"option_id": opt, "criterion_id": c, "fit": fit})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    // Setting the same rating again replaces it.
    let (s, _) = app
        .api(
            "PUT",
            &format!("/api/v1/decisions/{id}/ratings"),
            Some(&w.owner),
            Some(json!({"option_id": med, "criterion_id": crit[0], "fit": 8})),
        )
        .await;
    assert_eq!(s, 200);

    let cmp = get(&app, &format!("/api/v1/decisions/{id}/comparison")).await;
    let opts = cmp["options"].as_array().unwrap();
    assert_eq!(opts.len(), 3, "{cmp}");
    // 9*8+5*3+6*6 = 123; 9*6+5*9+6*7 = 141; 9*5+5*8+6*4 = 109 → therapy, medication, own.
    assert_eq!(opts[0]["id"], therapy.as_str(), "{cmp}");
    assert_eq!(opts[1]["id"], med.as_str());
    assert_eq!(opts[2]["id"], own.as_str());
    let scores: Vec<f64> = opts.iter().map(|o| o["score"].as_f64().unwrap()).collect();
    assert!(scores[0] > scores[1] && scores[1] > scores[2], "{scores:?}");
    assert!(cmp["sensitivity"].is_array());
    let mirror = cmp["mirror"].as_str().unwrap();
    assert!(mirror.starts_with("Given the weights you chose"), "{mirror}");
    for phrase in concord_domain::decisions::DIRECTIVE_PHRASES {
        assert!(!cmp.to_string().to_lowercase().contains(phrase), "{phrase} in {cmp}");
    }
    // Raising "feel like myself" (where medication beats therapy) enough flips the order.
    let s0 = &cmp["sensitivity"][0];
    assert!(s0["criterion_id"].is_string() && s0["change"].as_u64().unwrap() >= 1, "{cmp}");

    // PATCH: role, the client's voice, the balance grid, the status.
    let (s, v) = app
        .api(
            "PATCH",
            &format!("/api/v1/decisions/{id}"),
            Some(&w.owner),
            Some(json!({
                "preferred_role": "share_the_decision",
                "statement": "I am a teacher and a father; I want to enjoy my work again.",
                "goals": ["Sleep through the night"],
                "personal_medicine": ["Walking the dog every morning"],
                "concerns": ["Weight gain"],
                "questions": ["How soon would I notice a difference?"],
                "balance": {"good_about_changing": ["More energy"], "not_so_good_about_staying_the_same": ["Tired all the time"]}
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["preferred_role"], "share_the_decision");
    assert_eq!(v["questions"], json!(["How soon would I notice a difference?"]));
    assert_eq!(v["balance"]["good_about_changing"], json!(["More energy"]));
    let (s, v) = app
        .api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"status": "deferred", "revisit_on": "2026-04-01"})))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("deferred")), "{v}");
    assert_eq!(v["revisit_on"], "2026-04-01");
    assert_eq!(v["revisit_due"], false);
    // Deferred → decided needs a reopen first: a clear 422.
    let (s, v) =
        app.api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"status": "decided", "what": "Referral"}))).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = app.api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"status": "deliberating"}))).await;
    assert_eq!(s, 200);
    let (s, v) = app
        .api(
            "PATCH",
            &format!("/api/v1/decisions/{id}"),
            Some(&w.owner),
            Some(json!({"status": "decided", "what": "I will ask my GP for a medication evaluation", "on": "2026-03-01"})),
        )
        .await;
    assert_eq!((s, v["status"].as_str(), v["decided_on"].as_str()), (200, Some("decided"), Some("2026-03-01")), "{v}");

    // SURE.
    let (s, v) =
        app.api("POST", &format!("/api/v1/decisions/{id}/sure"), Some(&w.owner), Some(json!({"answers": [true, false, true, true]}))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["score"], 3);
    assert_eq!(v["conflict"], true);
    assert_eq!(v["missing"], json!(["knowledge"]));
    let (s, v) =
        app.api("POST", &format!("/api/v1/decisions/{id}/sure"), Some(&w.owner), Some(json!({"answers": [true, true, true, true]}))).await;
    assert_eq!((s, v["score"].as_i64(), v["conflict"].as_bool()), (200, Some(4), Some(false)), "{v}");
    assert_eq!(v["missing"], json!([]));
    let d = get(&app, &format!("/api/v1/decisions/{id}")).await;
    assert_eq!(d["sure"]["score"], 4);

    // Listing.
    let list = get(&app, &format!("/api/v1/clients/{}/decisions", w.client)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}
both_engines!(decision_contract);

async fn bad_input_is_a_clear_4xx(app: TestApp) {
    let w = &app.world;
    let id = new_decision(&app, "Should I try medication?").await;
    let other = new_decision(&app, "Should I change my job?").await;
    let d = get(&app, &format!("/api/v1/decisions/{id}")).await;
    let opt = d["options"][0]["id"].as_str().unwrap().to_owned();
    let d2 = get(&app, &format!("/api/v1/decisions/{other}")).await;
    let other_opt = d2["options"][0]["id"].as_str().unwrap().to_owned();
    let (_, c) =
        app.api("POST", &format!("/api/v1/decisions/{id}/criteria"), Some(&w.owner), Some(json!({"name": "cost", "importance": 5}))).await;
    let crit = c["id"].as_str().unwrap().to_owned();
    let (_, c2) = app
        .api("POST", &format!("/api/v1/decisions/{other}/criteria"), Some(&w.owner), Some(json!({"name": "money", "importance": 5})))
        .await;
    let other_crit = c2["id"].as_str().unwrap().to_owned();

    let cases: Vec<(&str, String, Value)> = vec![
        ("POST", format!("/api/v1/clients/{}/decisions", w.client), json!({"question": ""})),
        ("POST", format!("/api/v1/clients/{}/decisions", w.client), json!({"question": "x".repeat(501)})),
        ("POST", format!("/api/v1/clients/{}/decisions", w.client), json!({})),
        ("POST", format!("/api/v1/decisions/{id}/criteria"), json!({"name": "sleep", "importance": 11})),
        ("POST", format!("/api/v1/decisions/{id}/criteria"), json!({"name": "sleep", "importance": -1})),
        ("POST", format!("/api/v1/decisions/{id}/criteria"), json!({"name": "sleep", "importance": 2.5})),
        ("POST", format!("/api/v1/decisions/{id}/criteria"), json!({"name": "", "importance": 2})),
        ("PATCH", format!("/api/v1/decisions/{id}/criteria/{crit}"), json!({"importance": 42})),
        ("PUT", format!("/api/v1/decisions/{id}/ratings"), json!({"option_id": opt, "criterion_id": crit, "fit": 11})),
        ("PUT", format!("/api/v1/decisions/{id}/ratings"), json!({"option_id": opt, "criterion_id": crit, "fit": -3})),
        // Another decision's option or criterion.
        ("PUT", format!("/api/v1/decisions/{id}/ratings"), json!({"option_id": other_opt, "criterion_id": crit, "fit": 5})),
        ("PUT", format!("/api/v1/decisions/{id}/ratings"), json!({"option_id": opt, "criterion_id": other_crit, "fit": 5})),
        ("PUT", format!("/api/v1/decisions/{id}/ratings"), json!({"option_id": "nope", "criterion_id": crit, "fit": 5})),
        ("POST", format!("/api/v1/decisions/{id}/sure"), json!({"answers": [true, false, true]})),
        ("POST", format!("/api/v1/decisions/{id}/sure"), json!({"answers": [true, false, true, true, true]})),
        ("POST", format!("/api/v1/decisions/{id}/sure"), json!({"answers": []})),
        ("POST", format!("/api/v1/decisions/{id}/sure"), json!({"answers": [1, 0, 1, 1]})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"status": "finished"})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"status": "deferred"})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"status": "deferred", "revisit_on": "2026-01-01"})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"status": "decided", "what": "x", "on": "2027-01-01"})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"preferred_role": "boss"})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"balance": {"sideways": ["x"]}})),
        ("PATCH", format!("/api/v1/decisions/{id}"), json!({"surprise": true})),
        ("POST", format!("/api/v1/decisions/{id}/options"), json!({"name": "x", "benefits": [{"text": "y", "reviewed_on": "soon"}]})),
    ];
    for (method, path, body) in cases {
        let (s, v) = app.api(method, &path, Some(&w.owner), Some(body.clone())).await;
        assert!((400..500).contains(&s) && s != 404, "{method} {path} {body}: {s} {v}");
        assert!(v["error"].is_string(), "{method} {path}: {v}");
    }
    // A criterion of another decision in the path is not found.
    let (s, _) =
        app.api("PATCH", &format!("/api/v1/decisions/{id}/criteria/{other_crit}"), Some(&w.owner), Some(json!({"importance": 3}))).await;
    assert_eq!(s, 404);
    // Nothing was written by the refused ratings.
    let d = get(&app, &format!("/api/v1/decisions/{id}")).await;
    assert_eq!(d["ratings"], json!([]), "{d}");
    assert_eq!(d["sure"], Value::Null);
}
both_engines!(bad_input_is_a_clear_4xx);

async fn outsiders_get_the_same_404(app: TestApp) {
    let w = &app.world;
    let id = new_decision(&app, "Should I try medication?").await;
    let (s, dossier) = app.api("POST", &format!("/api/v1/clients/{}/dossiers", w.client), Some(&w.owner), None).await;
    assert_eq!(s, 201, "{dossier}");
    let did = dossier["id"].as_str().unwrap().to_owned();
    let missing = concord_domain::ids::DecisionId::new_at(1, [1; 10]);
    let (_, expected) = app.api("GET", &format!("/api/v1/decisions/{missing}"), Some(&w.owner), None).await;
    assert_eq!(expected, json!({"error": "not found"}));
    for who in [&w.other, &w.b_clinician, &w.b_admin, &w.admin] {
        for (method, path, body) in [
            ("GET", format!("/api/v1/decisions/{id}"), None),
            ("GET", format!("/api/v1/decisions/{id}/comparison"), None),
            ("PATCH", format!("/api/v1/decisions/{id}"), Some(json!({"statement": "hijack"}))),
            ("POST", format!("/api/v1/decisions/{id}/sure"), Some(json!({"answers": [true, true, true, true]}))),
            ("POST", format!("/api/v1/decisions/{id}/criteria"), Some(json!({"name": "x", "importance": 1}))),
            ("GET", format!("/api/v1/dossiers/{did}.pdf"), None),
            ("POST", format!("/api/v1/clients/{}/dossiers", w.client), None),
        ] {
            let (s, v) = app.api(method, &path, Some(who), body).await;
            assert_eq!((s, &v), (404, &expected), "{method} {path} as {}", who.user.email);
        }
    }
    // The owner's record is untouched.
    let d = get(&app, &format!("/api/v1/decisions/{id}")).await;
    assert_eq!(d["statement"], Value::Null);
    assert_eq!(d["criteria"], json!([]));
}
both_engines!(outsiders_get_the_same_404);

async fn pdf_bytes(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let resp = app.http.get(format!("{}{path}", app.base)).bearer_auth(&app.world.owner.token).send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (status, ct, resp.bytes().await.unwrap().to_vec())
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: .ci/run installs it");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn pdfinfo_pages(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdfinfo").arg(&path).output().expect("pdfinfo (poppler-utils)");
    assert!(out.status.success(), "pdfinfo: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap()
}

/// Squashes whitespace so words wrapped across lines still match.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn dossier_pdf_and_snapshots(app: TestApp) {
    let w = &app.world;
    // A client with no data at all still gets a dossier that says what is missing.
    let (s, v) = app.api("POST", &format!("/api/v1/clients/{}/dossiers", w.client), Some(&w.owner), None).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["version"], 1);
    let first = v["id"].as_str().unwrap().to_owned();
    let (s, ct, empty_pdf) = pdf_bytes(&app, &format!("/api/v1/dossiers/{first}.pdf")).await;
    assert_eq!((s, ct.as_str()), (200, "application/pdf"));
    assert!(empty_pdf.starts_with(b"%PDF-"));
    let text = squash(&pdftotext(&empty_pdf));
    assert!(text.contains("Not yet recorded"), "{text}");
    assert!(text.contains("a personal statement"), "{text}");

    // Fill in the worksheet and some scores.
    let id = new_decision(&app, "Should I try medication for my low mood?").await;
    let (s, v) = app
        .api(
            "PATCH",
            &format!("/api/v1/decisions/{id}"),
            Some(&w.owner),
            Some(json!({
                "statement": "I am a nurse who loves hiking; I want my energy back.",
                "goals": ["Get back to hiking at weekends"],
                "personal_medicine": ["Morning walks"],
                "concerns": ["Feeling numb"],
                "questions": ["What side effects should I call you about?", "How long until I notice a change?"],
                "status": "deferred",
                "revisit_on": "2026-04-15"
            })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    for (day, answers) in [("2026-01-05", [2, 2, 2, 2, 2, 2, 2, 1, 1]), ("2026-02-02", [2, 1, 2, 1, 1, 1, 1, 1, 0])] {
        let (s, v) = app
            .api(
                "POST",
                &format!("/api/v1/clients/{}/responses", w.client),
                Some(&w.owner),
                Some(json!({"instrument": "phq9", "answers": answers, "completed_at": format!("{day}T10:00:00Z")})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = app.api("POST", &format!("/api/v1/clients/{}/dossiers", w.client), Some(&w.owner), None).await;
    assert_eq!((s, v["version"].as_i64()), (201, Some(2)), "{v}");
    let second = v["id"].as_str().unwrap().to_owned();
    let (s, _, pdf) = pdf_bytes(&app, &format!("/api/v1/dossiers/{second}.pdf")).await;
    assert_eq!(s, 200);
    let text = squash(&pdftotext(&pdf));
    for needle in [
        "I am a nurse who loves hiking; I want my energy back.",
        "What side effects should I call you about?",
        "How long until I notice a change?",
        "Should I try medication for my low mood?",
        "to be revisited on 2026-04-15",
        "Get back to hiking at weekends",
        "Morning walks",
        "PHQ-9",
    ] {
        assert!(text.contains(needle), "dossier text lacks {needle:?}:\n{text}");
    }
    assert!(text.contains("Please note"), "the PHQ-9 item 9 answer is highlighted as a risk: {text}");
    assert!(pdfinfo_pages(&pdf) <= 2, "one page, at most two");

    // Snapshots are immutable: later changes never alter an earlier version's bytes.
    let (s, _) =
        app.api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"statement": "Something else entirely."}))).await;
    assert_eq!(s, 200);
    let (s, v) = app.api("POST", &format!("/api/v1/clients/{}/dossiers", w.client), Some(&w.owner), None).await;
    assert_eq!((s, v["version"].as_i64()), (201, Some(3)), "{v}");
    let (_, _, again) = pdf_bytes(&app, &format!("/api/v1/dossiers/{second}.pdf")).await;
    assert_eq!(again, pdf, "version 2 is returned exactly as it was generated");
    let (_, _, first_again) = pdf_bytes(&app, &format!("/api/v1/dossiers/{first}.pdf")).await;
    assert_eq!(first_again, empty_pdf);
    let list = get(&app, &format!("/api/v1/clients/{}/dossiers", w.client)).await;
    let versions: Vec<i64> = list.as_array().unwrap().iter().map(|d| d["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![3, 2, 1]);
    // A path without .pdf, or a malformed id, is not found.
    let (s, _) = app.api("GET", &format!("/api/v1/dossiers/{second}"), Some(&w.owner), None).await;
    assert_eq!(s, 404);
    let (s, _) = app.api("GET", "/api/v1/dossiers/nope.pdf", Some(&w.owner), None).await;
    assert_eq!(s, 404);
    // The PDF is stored sealed: its text is not in the database in the clear.
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT pdf_ct FROM dossiers").fetch_all(app.store.pool()).await.unwrap();
    assert_eq!(rows.len(), 3);
    for (ct,) in rows {
        assert!(!ct.starts_with(b"%PDF"));
    }
}
both_engines!(dossier_pdf_and_snapshots);

async fn revisit_prompts(app: &TestApp) -> Vec<Value> {
    let (s, v) = app.api("GET", &format!("/api/v1/clients/{}/prompts?status=all", app.world.client), Some(&app.world.owner), None).await;
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().iter().filter(|p| p["kind"] == "decision_revisit").cloned().collect()
}

/// A deferred decision raises a due prompt on its revisit day (not before), once, through the
/// sweep; deferring again to a later day raises a new one.
async fn deferred_decision_raises_a_due_prompt(app: TestApp) {
    let w = &app.world;
    let id = new_decision(&app, "Should I try medication for my low mood?").await;
    let (s, v) = app
        .api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"status": "deferred", "revisit_on": "2026-03-10"})))
        .await;
    assert_eq!(s, 200, "{v}");
    let sweep = || async { concord_store::prompts::sweep(&app.store, &app.ctx()).await.unwrap() };
    sweep().await;
    assert!(revisit_prompts(&app).await.is_empty(), "nothing before the revisit day");

    // 2026-03-09 23:59:59 UTC: still the day before.
    app.clock.advance(7 * 86_400 + 14 * 3_600 + 59 * 60 + 59);
    sweep().await;
    assert!(revisit_prompts(&app).await.is_empty(), "nothing a second before the revisit day");
    app.clock.advance(1);
    let first = sweep().await;
    assert_eq!(first.opened, 1, "{first:?}");
    let p = revisit_prompts(&app).await;
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0]["status"].as_str(), p[0]["urgency"].as_str()), (Some("open"), Some("routine")), "{p:?}");
    assert!(p[0]["explanation"].as_str().unwrap().contains("2026-03-10"), "{p:?}");
    assert_eq!(sweep().await.opened, 0, "the sweep is idempotent");

    // The therapist documents the conversation; the prompt stays resolved.
    let pid = p[0]["id"].as_str().unwrap();
    let (s, v) = app
        .api(
            "POST",
            &format!("/api/v1/prompts/{pid}/resolve"),
            Some(&w.owner),
            Some(json!({"response": "discussed", "note": "Wants another month; will look again after the holidays."})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(sweep().await.opened, 0);

    // Reopened and deferred again: the new revisit day raises a new prompt.
    let (s, v) = app.api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"status": "deliberating"}))).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .api("PATCH", &format!("/api/v1/decisions/{id}"), Some(&w.owner), Some(json!({"status": "deferred", "revisit_on": "2026-04-01"})))
        .await;
    assert_eq!(s, 200, "{v}");
    app.clock.advance(22 * 86_400);
    assert_eq!(sweep().await.opened, 1);
    let p = revisit_prompts(&app).await;
    assert_eq!(p.iter().filter(|p| p["status"] == "open").count(), 1, "{p:?}");
    assert_eq!(p.len(), 2, "{p:?}");
}
both_engines!(deferred_decision_raises_a_due_prompt);

async fn form(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let r = app.page("POST", path, Some(cookie), Some(fields)).await;
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

/// The therapist's worksheet page: start, criteria, the client's voice and grid, SURE, status,
/// readiness rulers with their follow-ups; free text escaped; bad input a 4xx, nothing saved.
async fn worksheet_page(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let cookie = w.owner.cookie.as_str();
    let (s, html) = app.get_html(&format!("/clients/{c}/decisions"), &w.owner).await;
    assert_eq!(s, 200);
    assert!(html.contains("Start a decision"), "{html}");
    let (s, _) = form(&app, &format!("/clients/{c}/decisions"), cookie, &[("question", "Should I try <b>medication</b>?")]).await;
    assert_eq!(s, 303);
    let (_, v) = app.api("GET", &format!("/api/v1/clients/{c}/decisions"), Some(&w.owner), None).await;
    let did = v[0]["id"].as_str().unwrap().to_owned();
    let action = format!("/clients/{c}/decisions/{did}");

    let (s, _) =
        form(&app, &action, cookie, &[("action", "add_criterion"), ("name", "Sleep through the night"), ("importance", "8")]).await;
    assert_eq!(s, 303);
    let (s, _) = form(
        &app,
        &action,
        cookie,
        &[
            ("action", "save"),
            ("preferred_role", "share_the_decision"),
            ("statement", "I teach and I want my energy back."),
            ("goals", "Sleep six hours\n\nHike at weekends"),
            ("questions", "How soon would I notice a difference?"),
            ("suggested", "What side effects should I call you about?"),
            ("good_about_changing", "Maybe better sleep"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (s, _) = form(
        &app,
        &action,
        cookie,
        &[("action", "sure"), ("certainty", "no"), ("knowledge", "yes"), ("values_clarity", "yes"), ("support", "yes")],
    )
    .await;
    assert_eq!(s, 303);
    // Readiness rulers entered as a response show with their reflective follow-ups.
    let (s, v) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{c}/responses"),
            Some(&w.owner),
            Some(json!({"instrument": "readiness", "answers": [8, 4, 5], "completed_at": "2026-03-01T10:00:00Z"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let (s, html) = app.get_html(&format!("/clients/{c}/decisions"), &w.owner).await;
    assert_eq!(s, 200);
    assert!(!html.contains("<b>medication</b>"), "question not escaped");
    assert!(html.contains("Should I try &#60;b&#62;medication&#60;/b&#62;?"), "question escaped");
    for text in [
        "Sleep through the night",
        "I teach and I want my energy back.",
        "Hike at weekends",
        "What side effects should I call you about?",
        "Maybe better sleep",
        "Importance: 8 of 10.",
        "You put confidence at 4. What makes it a 4 rather than a 1?",
    ] {
        assert!(html.contains(text), "{text} missing");
    }
    let (_, d) = app.api("GET", &format!("/api/v1/decisions/{did}"), Some(&w.owner), None).await;
    assert_eq!(d["sure"]["score"], 3, "{d}");
    assert_eq!(d["preferred_role"], "share_the_decision", "{d}");
    assert_eq!(d["questions"].as_array().map(Vec::len), Some(2), "{d}");

    // Bad input: a clear 4xx and nothing changed.
    for bad in [
        vec![("action", "add_criterion"), ("name", "Cost"), ("importance", "11")],
        vec![("action", "sure"), ("certainty", "no")],
        vec![("action", "status"), ("status", "deferred"), ("revisit_on", "2026-01-01")],
        vec![("action", "teleport")],
    ] {
        let (s, _) = form(&app, &action, cookie, &bad).await;
        assert!((400..500).contains(&s), "{bad:?} answered {s}");
    }
    let (_, after) = app.api("GET", &format!("/api/v1/decisions/{did}"), Some(&w.owner), None).await;
    assert_eq!(after["criteria"], d["criteria"]);
    assert_eq!(after["status"], "deliberating");
    assert_eq!(after["sure"], d["sure"]);

    // Deferred from the page: the worksheet says when it comes back.
    let (s, _) = form(&app, &action, cookie, &[("action", "status"), ("status", "deferred"), ("revisit_on", "2026-04-01")]).await;
    assert_eq!(s, 303);
    let (_, html) = app.get_html(&format!("/clients/{c}/decisions"), &w.owner).await;
    assert!(html.contains("to be revisited on 2026-04-01"), "{html}");

    // The printable dossier page: the client's words (escaped) and where the decision stands.
    let (s, html) = app.get_html(&format!("/clients/{c}/dossier/print"), &w.owner).await;
    assert_eq!(s, 200);
    for text in
        ["I teach and I want my energy back.", "How soon would I notice a difference?", "to be revisited on 2026-04-01", "&#60;b&#62;"]
    {
        assert!(html.contains(text), "{text} missing from the printable dossier");
    }
    assert!(!html.contains("<b>medication</b>"));

    // Another clinician, and another practice, get the same 404 for the page and its forms.
    for who in [&w.other, &w.b_clinician] {
        let (s, _) = app.get_html(&format!("/clients/{c}/decisions"), who).await;
        assert_eq!(s, 404);
        let (s, _) = app.get_html(&format!("/clients/{c}/dossier/print"), who).await;
        assert_eq!(s, 404);
        let (s, _) = form(&app, &action, &who.cookie, &[("action", "add_criterion"), ("name", "Cost"), ("importance", "3")]).await;
        assert_eq!(s, 404);
    }
}
both_engines!(worksheet_page);

/// The library: the starter set (for clinician review, never a recommendation), a practice's
/// own entry, directive wording refused, and another practice never sees it.
async fn library_page(app: TestApp) {
    let w = &app.world;
    let (s, html) = app.get_html("/library", &w.owner).await;
    assert_eq!(s, 200);
    assert!(html.contains("for clinician review") || html.contains("For clinician review"), "{html}");
    assert!(html.contains("NIMH") && html.contains("NICE"), "starter sources");
    let entry = [
        ("kind", "non_drug_strategy"),
        ("title", "Walking group at the community centre"),
        ("what_it_is", "A weekly walk with others, about an hour."),
        ("sources", "Local leaflet, 2026"),
        ("reviewed_on", "2026-02-01"),
    ];
    let (s, _) = form(&app, "/library", &w.owner.cookie, &entry).await;
    assert_eq!(s, 303);
    let (_, html) = app.get_html("/library", &w.owner).await;
    assert!(html.contains("Walking group at the community centre"));
    let mut directive = entry.to_vec();
    directive[2] = ("what_it_is", "You should start this medication now.");
    directive[1] = ("title", "Directive entry");
    let (s, body) = form(&app, "/library", &w.owner.cookie, &directive).await;
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("reads as a recommendation"), "{body}");
    let (_, html) = app.get_html("/library", &w.owner).await;
    assert!(!html.contains("Directive entry"));
    let (s, html) = app.get_html("/library", &w.b_clinician).await;
    assert_eq!(s, 200);
    assert!(!html.contains("Walking group at the community centre"), "another practice's entry leaked");
}
both_engines!(library_page);

/// The portal worksheet: the client writes their statement, weights and SURE; the therapist
/// sees the same record; a stale decision id is refused; no other client's decision is reachable.
async fn portal_worksheet(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let did = new_decision(&app, "Should I try medication?").await;
    let (_, v) = app
        .api("POST", &format!("/api/v1/decisions/{did}/criteria"), Some(&w.owner), Some(json!({"name": "No weight gain", "importance": 4})))
        .await;
    let crit = v["id"].as_str().unwrap().to_owned();
    let ctx = app.ctx();
    let access = concord_store::clients::record_access(&app.store, &ctx, &w.owner.user.actor(), c).await.unwrap();
    let secret = concord_store::measures::create_portal_link(&app.store, &ctx, &access, ctx.ts() + 7 * 86_400, None).await.unwrap().1;
    let r = app.page("GET", &format!("/portal/{secret}"), None, None).await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let (s, html) = {
        let r = app.page("GET", "/portal/decision", Some(&cookie), None).await;
        (r.status().as_u16(), r.text().await.unwrap())
    };
    assert_eq!(s, 200);
    assert!(html.contains("Should I try medication?") && html.contains("No weight gain"), "{html}");
    let importance = format!("importance_{crit}");
    let (s, body) = form(
        &app,
        "/portal/decision",
        &cookie,
        &[
            ("action", "save"),
            ("decision_id", &did),
            ("statement", "I want to feel like myself again."),
            (&importance, "9"),
            ("not_so_good_about_staying_the_same", "Still exhausted"),
        ],
    )
    .await;
    assert_eq!(s, 303, "{body}");
    let (s, _) = form(
        &app,
        "/portal/decision",
        &cookie,
        &[
            ("action", "sure"),
            ("decision_id", &did),
            ("certainty", "yes"),
            ("knowledge", "yes"),
            ("values_clarity", "yes"),
            ("support", "yes"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (_, d) = app.api("GET", &format!("/api/v1/decisions/{did}"), Some(&w.owner), None).await;
    assert_eq!(d["statement"], "I want to feel like myself again.", "{d}");
    assert_eq!(d["criteria"][0]["importance"], 9, "{d}");
    assert_eq!(d["sure"]["score"], 4, "{d}");

    // A stale or foreign decision id is refused and nothing changes.
    app.clock.advance(60);
    let other = new_decision(&app, "Should I join a group?").await;
    let (s, _) = form(&app, "/portal/decision", &cookie, &[("action", "save"), ("decision_id", &did), ("statement", "Overwritten")]).await;
    assert_eq!(s, 409, "the worksheet now shows the newer decision");
    let (_, d) = app.api("GET", &format!("/api/v1/decisions/{did}"), Some(&w.owner), None).await;
    assert_eq!(d["statement"], "I want to feel like myself again.");
    let (_, o) = app.api("GET", &format!("/api/v1/decisions/{other}"), Some(&w.owner), None).await;
    assert!(o["statement"].is_null(), "{o}");
    // Bad input: a weight out of range is a 422 that names the criterion.
    let other_crit = {
        let (_, v) = app
            .api("POST", &format!("/api/v1/decisions/{other}/criteria"), Some(&w.owner), Some(json!({"name": "Cost", "importance": 2})))
            .await;
        v["id"].as_str().unwrap().to_owned()
    };
    let key = format!("importance_{other_crit}");
    let (s, body) = form(&app, "/portal/decision", &cookie, &[("action", "save"), ("decision_id", &other), (&key, "12")]).await;
    assert_eq!(s, 422);
    assert!(body.contains("Cost"), "{body}");
}
both_engines!(portal_worksheet);
