//! The authorization matrix: every route in `routes::ROUTES` × {anonymous, clinician of the
//! practice not on the care team, staff of another practice, owner}. A route without an entry
//! in `request_for` fails this test, so no route ships untested.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{Person, TestApp, add_member, new_client};
use concord_web::routes::{Audience, ROUTES, RouteSpec};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    WrongClinician,
    OtherPractice,
    Owner,
}

enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(&'static str, String)>),
}

/// The request each route gets in the matrix: its concrete path and body. Every route must
/// have an entry; the ids are the world's client (or a fresh one where the call destroys it).
async fn request_for(app: &TestApp, r: &RouteSpec, role: Role) -> (String, Body) {
    let w = &app.world;
    let c = w.client.to_string();
    let sup = w.supervisor.user.id.to_string();
    let form = |pairs: &[(&'static str, &str)]| Body::Form(pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect());
    match (r.method, r.path) {
        ("GET", "/healthz")
        | ("GET", "/metrics")
        | ("GET", "/api/openapi.json")
        | ("GET", "/login")
        | ("GET", "/")
        | ("GET", "/caseload")
        | ("GET", "/clients/new")
        | ("GET", "/account")
        | ("GET", "/admin")
        | ("GET", "/admin/users")
        | ("GET", "/admin/clients")
        | ("GET", "/admin/audit")
        | ("GET", "/admin/break-glass")
        | ("GET", "/api/v1/me")
        | ("GET", "/api/v1/clients")
        | ("GET", "/login/second-factor")
        | ("GET", "/account/second-factor") => (r.path.to_owned(), Body::None),
        ("GET", "/admin/instruments") => (r.path.into(), Body::None),
        ("POST", "/admin/instruments") => {
            let registry = concord_domain::measures::Registry::shipped().unwrap();
            let mut def: serde_json::Value = serde_json::from_str(&registry.get("readiness").unwrap().to_json().unwrap()).unwrap();
            def["id"] = json!(format!("ruler_{}", uuid::Uuid::new_v4().simple()));
            (r.path.into(), Body::Form(vec![("format", "concord".into()), ("definition", def.to_string())]))
        }
        ("GET", "/static/{file}") => ("/static/app.css".into(), Body::None),
        ("POST", "/login") => ("/login".into(), form(&[("email", "nobody@a.test"), ("password", "wrong")])),
        ("POST", "/login/second-factor") => (r.path.into(), form(&[("code", "000000")])),
        ("POST", "/account/second-factor") => (r.path.into(), form(&[("code", "000000")])),
        ("POST", "/logout") => (r.path.into(), Body::None),
        ("POST", "/clients") => (r.path.into(), form(&[("name", "Matrix Person"), ("date_of_birth", "")])),
        ("GET", "/clients/{id}") | ("GET", "/clients/{id}/edit") => (r.path.replace("{id}", &c), Body::None),
        ("POST", "/clients/{id}/edit") => (r.path.replace("{id}", &c), form(&[("name", "Casey Client"), ("date_of_birth", "1990-01-01")])),
        ("POST", "/clients/{id}/archive") | ("POST", "/clients/{id}/restore") => (r.path.replace("{id}", &c), Body::None),
        ("POST", "/clients/{id}/sessions") => (
            r.path.replace("{id}", &c),
            form(&[("date", "2026-03-01"), ("time", "10:00"), ("duration_minutes", "50"), ("attendance", "attended")]),
        ),
        ("GET", "/clients/{id}/measures/new") => (format!("/clients/{c}/measures/new?instrument=phq9"), Body::None),
        ("POST", "/clients/{id}/measures/new") => {
            let mut f: Vec<(&'static str, String)> =
                vec![("completed_date", "2026-03-01".into()), ("completed_time", "09:30".into()), ("source", "paper".into())];
            for k in ["item_q1", "item_q2", "item_q3", "item_q4", "item_q5", "item_q6", "item_q7", "item_q8", "item_q9"] {
                f.push((k, "1".into()));
            }
            (format!("/clients/{c}/measures/new?instrument=phq9"), Body::Form(f))
        }
        ("POST", "/clients/{id}/schedules") => (r.path.replace("{id}", &c), form(&[("instrument", "gad7"), ("frequency", "weekly")])),
        ("POST", "/clients/{id}/schedules/{schedule_id}/remove") => {
            let access = concord_store::clients::record_access(&app.store, &app.ctx(), &w.owner.user.actor(), w.client).await.unwrap();
            let id = concord_domain::measures::InstrumentId::parse("wsas").unwrap();
            let sid = concord_store::measures::set_schedule(
                &app.store,
                &app.ctx(),
                &access,
                &id,
                concord_domain::measures::schedule::Frequency::Weekly,
            )
            .await
            .unwrap();
            (r.path.replace("{id}", &c).replace("{schedule_id}", &sid.to_string()), Body::None)
        }
        ("POST", "/clients/{id}/portal-links") => (r.path.replace("{id}", &c), form(&[("days", "7"), ("pin", "")])),
        ("POST", "/clients/{id}/portal-links/{link_id}/revoke") => {
            let access = concord_store::clients::record_access(&app.store, &app.ctx(), &w.owner.user.actor(), w.client).await.unwrap();
            let expires = app.ctx().ts() + 86_400;
            let (lid, _) = concord_store::measures::create_portal_link(&app.store, &app.ctx(), &access, expires, None).await.unwrap();
            (r.path.replace("{id}", &c).replace("{link_id}", &lid.to_string()), Body::None)
        }
        ("GET", "/clients/{id}/transcripts") => (r.path.replace("{id}", &c), Body::None),
        ("GET", "/clients/{id}/sessions/{session_id}/transcript") | ("GET", "/api/v1/clients/{id}/sessions/{session_id}/transcript") => {
            let sid = session_with_transcript(app).await;
            (r.path.replace("{id}", &c).replace("{session_id}", &sid), Body::None)
        }
        ("POST", "/clients/{id}/sessions/{session_id}/transcript") => {
            let sid = session_with_transcript(app).await;
            (r.path.replace("{id}", &c).replace("{session_id}", &sid), form(&[("text", TRANSCRIPT), ("format", "text")]))
        }
        ("POST", "/api/v1/clients/{id}/sessions/{session_id}/transcript") => {
            let sid = session_with_transcript(app).await;
            (r.path.replace("{id}", &c).replace("{session_id}", &sid), Body::Json(json!({"text": TRANSCRIPT})))
        }
        ("POST", "/clients/{id}/sessions/{session_id}/transcript/discard-text") => {
            let sid = session_with_transcript(app).await;
            (r.path.replace("{id}", &c).replace("{session_id}", &sid), form(&[("confirm", "yes")]))
        }
        ("POST", "/api/v1/clients/{id}/responses") => (
            r.path.replace("{id}", &c),
            Body::Json(json!({"instrument": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 0], "completed_at": "2026-03-01T10:00:00Z"})),
        ),
        ("GET", "/api/v1/clients/{id}/responses") | ("GET", "/api/v1/clients/{id}/outcomes") => (r.path.replace("{id}", &c), Body::None),
        ("POST", "/api/v1/clients/{id}/portal-link") => (r.path.replace("{id}", &c), Body::Json(json!({"expires_in_days": 7}))),
        // ---- issue 4: prompts, safety plans, notes, timeline ----
        ("GET", "/api/v1/clients/{id}/prompts")
        | ("GET", "/api/v1/clients/{id}/safety-plan")
        | ("GET", "/api/v1/clients/{id}/notes")
        | ("GET", "/api/v1/clients/{id}/timeline") => (r.path.replace("{id}", &c), Body::None),
        ("PUT", "/api/v1/clients/{id}/safety-plan") => (r.path.replace("{id}", &c), Body::Json(json!({"warning_signs": ["Matrix sign"]}))),
        ("POST", "/api/v1/clients/{id}/notes") => (r.path.replace("{id}", &c), Body::Json(json!({"body": "Matrix note"}))),
        ("POST", "/api/v1/prompts/{id}/resolve") => {
            let pid = safety_prompt(app).await;
            (r.path.replace("{id}", &pid), Body::Json(json!({"response": "discussed", "note": "Matrix", "action": "Matrix action"})))
        }
        ("GET", "/api/v1/notes/{id}") | ("POST", "/api/v1/notes/{id}/sign") => (r.path.replace("{id}", &draft_note(app).await), Body::None),
        ("PATCH", "/api/v1/notes/{id}") => (r.path.replace("{id}", &draft_note(app).await), Body::Json(json!({"body": "Matrix edit"}))),
        ("POST", "/api/v1/notes/{id}/addenda") => {
            let id = draft_note(app).await;
            let (s, _) = app.api("POST", &format!("/api/v1/notes/{id}/sign"), Some(&w.owner), None).await;
            assert_eq!(s, 200);
            (r.path.replace("{id}", &id), Body::Json(json!({"body": "Matrix addendum"})))
        }
        ("GET", "/clients/{id}/prompts")
        | ("GET", "/clients/{id}/safety-plan")
        | ("GET", "/clients/{id}/safety-plan/print")
        | ("GET", "/clients/{id}/notes")
        | ("GET", "/clients/{id}/timeline") => (r.path.replace("{id}", &c), Body::None),
        ("POST", "/clients/{id}/prompts/{prompt_id}/resolve") => {
            let pid = safety_prompt(app).await;
            (
                r.path.replace("{id}", &c).replace("{prompt_id}", &pid),
                form(&[("response", "discussed"), ("note", "Matrix"), ("action", "Matrix action")]),
            )
        }
        ("POST", "/clients/{id}/safety-plan") => (r.path.replace("{id}", &c), form(&[("warning_signs", "Matrix sign")])),
        ("POST", "/clients/{id}/notes") => (r.path.replace("{id}", &c), form(&[("body", "Matrix note"), ("kind", "progress")])),
        ("GET", "/clients/{id}/notes/{note_id}") | ("POST", "/clients/{id}/notes/{note_id}/sign") => {
            (r.path.replace("{id}", &c).replace("{note_id}", &draft_note(app).await), Body::None)
        }
        ("POST", "/clients/{id}/notes/{note_id}/edit") => {
            (r.path.replace("{id}", &c).replace("{note_id}", &draft_note(app).await), form(&[("body", "Matrix edit")]))
        }
        ("POST", "/clients/{id}/notes/{note_id}/addenda") => {
            let id = draft_note(app).await;
            let (s, _) = app.api("POST", &format!("/api/v1/notes/{id}/sign"), Some(&w.owner), None).await;
            assert_eq!(s, 200);
            (r.path.replace("{id}", &c).replace("{note_id}", &id), form(&[("body", "Matrix addendum")]))
        }
        ("GET", "/admin/guide") | ("GET", "/portal/safety-plan") => (r.path.into(), Body::None),
        ("POST", "/admin/guide") => {
            (r.path.into(), form(&[("situation", "normalising"), ("title", "Matrix entry"), ("body", "A matrix phrasing")]))
        }
        ("POST", "/admin/guide/thresholds") => (
            r.path.into(),
            form(&[
                ("min_attended_sessions", "6"),
                ("min_weeks", "8"),
                ("impairment_above", "20"),
                ("impairment_consecutive", "3"),
                ("alliance_min_baseline", "3"),
                ("alliance_drop_percent", "15"),
            ]),
        ),
        ("GET", "/api/v1/instruments") => (r.path.into(), Body::None),
        ("GET", "/api/v1/instruments/{instrument}") => (r.path.replace("{instrument}", "phq9"), Body::None),
        ("POST", "/api/v1/instruments") => {
            let registry = concord_domain::measures::Registry::shipped().unwrap();
            let mut def: serde_json::Value = serde_json::from_str(&registry.get("readiness").unwrap().to_json().unwrap()).unwrap();
            def["id"] = json!(format!("ruler_{}", uuid::Uuid::new_v4().simple()));
            (r.path.into(), Body::Json(json!({"format": "concord", "definition": def})))
        }
        ("GET", "/clients/{id}/break-glass") => (r.path.replace("{id}", &c), Body::None),
        ("POST", "/clients/{id}/break-glass") => {
            (r.path.replace("{id}", &c), form(&[("reason", "Matrix test emergency access"), ("minutes", "60")]))
        }
        ("POST", "/account/tokens") => (r.path.into(), form(&[("label", "matrix")])),
        ("POST", "/account/password") => {
            (r.path.into(), form(&[("current_password", common::PASSWORD), ("new_password", common::PASSWORD)]))
        }
        ("POST", "/admin/users/{user_id}/disable") | ("POST", "/admin/users/{user_id}/enable") => {
            let email = concord_domain::values::Email::parse(&format!("staff-{}@a.test", uuid::Uuid::new_v4().simple())).unwrap();
            let name = concord_domain::values::PersonName::parse("Temp Staff").unwrap();
            let new = concord_store::accounts::NewUser {
                practice_id: w.practice_a,
                email: &email,
                name: &name,
                role: concord_domain::values::Role::Clinician,
                password_hash: "x".into(),
            };
            let id = concord_store::accounts::create_user(&app.store, &app.ctx(), None, new).await.unwrap();
            (r.path.replace("{user_id}", &id.to_string()), Body::None)
        }
        ("POST", "/account/tokens/{token_id}/revoke") => {
            // The owner's own spare token; anyone else's attempt must not find it.
            let (id, _) = concord_store::accounts::create_token(&app.store, &app.ctx(), &app.world.owner.user, "spare").await.unwrap();
            (r.path.replace("{token_id}", &id.to_string()), Body::None)
        }
        ("POST", "/admin/users") => {
            let email = format!("new-{}@a.test", uuid::Uuid::new_v4().simple());
            Body::Form(vec![
                ("name", "New Person".into()),
                ("email", email),
                ("role", "clinician".into()),
                ("password", "a long enough password".into()),
            ])
            .with_path(r.path)
        }
        ("GET", "/admin/clients/{id}/care-team") => (r.path.replace("{id}", &c), Body::None),
        ("POST", "/admin/clients/{id}/care-team") => (r.path.replace("{id}", &c), form(&[("user_id", &sup)])),
        ("POST", "/admin/clients/{id}/care-team/{user_id}/remove") => {
            add_member(&app.store, &app.clock, &app.world.admin, w.client, &w.supervisor).await;
            (r.path.replace("{id}", &c).replace("{user_id}", &sup), Body::None)
        }
        ("POST", "/admin/clients/{id}/erase") => {
            let victim =
                if role == Role::Owner { new_client(&app.store, &app.clock, &app.world.owner, "To Be Erased").await } else { w.client };
            (r.path.replace("{id}", &victim.to_string()), form(&[("confirm", "ERASE")]))
        }
        ("POST", "/api/v1/clients") => (r.path.into(), Body::Json(json!({"name": "Api Person"}))),
        ("GET", "/api/v1/clients/{id}") | ("GET", "/api/v1/clients/{id}/sessions") | ("GET", "/api/v1/clients/{id}/care-team") => {
            (r.path.replace("{id}", &c), Body::None)
        }
        ("PATCH", "/api/v1/clients/{id}") => (r.path.replace("{id}", &c), Body::Json(json!({"date_of_birth": "1990-02-03"}))),
        ("POST", "/api/v1/clients/{id}/sessions") => (
            r.path.replace("{id}", &c),
            Body::Json(json!({"starts_at": "2026-03-01T10:00:00Z", "duration_minutes": 50, "attendance": "attended"})),
        ),
        ("POST", "/api/v1/clients/{id}/care-team") => (r.path.replace("{id}", &c), Body::Json(json!({"user_id": sup}))),
        ("DELETE", "/api/v1/clients/{id}/care-team/{user_id}") => {
            add_member(&app.store, &app.clock, &app.world.admin, w.client, &w.supervisor).await;
            (r.path.replace("{id}", &c).replace("{user_id}", &sup), Body::None)
        }
        ("GET", "/portal/{secret}") | ("POST", "/portal/{secret}") => {
            let secret = portal_link(app, w.client, &w.owner).await;
            let body = if r.method == "POST" { form(&[("pin", "")]) } else { Body::None };
            (r.path.replace("{secret}", &secret), body)
        }
        ("GET", "/portal") | ("POST", "/portal/logout") => (r.path.into(), Body::None),
        ("GET", "/portal/forms/{instrument}") => {
            schedule_checkin(app).await;
            (r.path.replace("{instrument}", "checkin"), Body::None)
        }
        ("POST", "/portal/forms/{instrument}") => {
            schedule_checkin(app).await;
            (
                r.path.replace("{instrument}", "checkin"),
                form(&[
                    ("item_mood", "6"),
                    ("item_sleep", "5"),
                    ("item_energy", "5"),
                    ("item_work_study", "6"),
                    ("item_relationships", "7"),
                    ("item_harm_thoughts", "0"),
                    ("item_note", ""),
                ]),
            )
        }
        // Shared decision making (issue 5).
        ("GET", "/library") => (r.path.into(), Body::None),
        ("POST", "/library") | ("POST", "/library/{entry_id}") => {
            // Each practice edits its own library: the entry belongs to the caller's practice.
            let by = if role == Role::OtherPractice { &w.b_clinician } else { &w.owner };
            let entries = concord_store::library::list(&app.store, &app.ctx(), &by.user.actor()).await.unwrap();
            let path = r.path.replace("{entry_id}", &entries[0].id.to_string());
            let kind = entries[0].kind.as_str();
            (path, form(&[("kind", kind), ("title", "Matrix entry"), ("sources", "NICE NG222"), ("what_it_is", "Described.")]))
        }
        ("GET", "/clients/{id}/decisions") | ("POST", "/clients/{id}/dossiers") | ("GET", "/clients/{id}/dossier/print") => {
            (r.path.replace("{id}", &c), Body::None)
        }
        ("POST", "/clients/{id}/decisions") => (r.path.replace("{id}", &c), form(&[("question", "Should I try medication?")])),
        ("POST", "/clients/{id}/decisions/{decision_id}") => {
            let d = decision_of(app).await;
            (
                r.path.replace("{id}", &c).replace("{decision_id}", &d.0),
                form(&[("action", "add_criterion"), ("name", "cost"), ("importance", "4")]),
            )
        }
        ("GET", "/clients/{id}/dossiers/{dossier_id}") => {
            let access = concord_store::clients::record_access(&app.store, &app.ctx(), &w.owner.user.actor(), w.client).await.unwrap();
            let n = concord_store::decisions::list_dossiers(&app.store, &app.ctx(), &access).await.unwrap().len() as i64;
            let m =
                concord_store::decisions::create_dossier(&app.store, &app.ctx(), &access, None, n + 1, b"%PDF-1.7 matrix").await.unwrap();
            (r.path.replace("{id}", &c).replace("{dossier_id}", &m.id.to_string()), Body::None)
        }
        ("POST", "/api/v1/clients/{id}/decisions") => {
            (r.path.replace("{id}", &c), Body::Json(json!({"question": "Should I try medication?"})))
        }
        ("GET", "/api/v1/clients/{id}/decisions")
        | ("GET", "/api/v1/clients/{id}/dossiers")
        | ("POST", "/api/v1/clients/{id}/dossiers") => (r.path.replace("{id}", &c), Body::None),
        ("GET", "/api/v1/decisions/{id}") | ("GET", "/api/v1/decisions/{id}/comparison") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0), Body::None)
        }
        ("PATCH", "/api/v1/decisions/{id}") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0), Body::Json(json!({"statement": "I want to feel like myself again."})))
        }
        ("POST", "/api/v1/decisions/{id}/options") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0), Body::Json(json!({"name": "Try running twice a week"})))
        }
        ("POST", "/api/v1/decisions/{id}/criteria") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0), Body::Json(json!({"name": "sleep", "importance": 7})))
        }
        ("PATCH", "/api/v1/decisions/{id}/criteria/{criterion_id}") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0).replace("{criterion_id}", &d.2), Body::Json(json!({"importance": 3})))
        }
        ("PUT", "/api/v1/decisions/{id}/ratings") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0), Body::Json(json!({"option_id": d.1, "criterion_id": d.2, "fit": 6})))
        }
        ("POST", "/api/v1/decisions/{id}/sure") => {
            let d = decision_of(app).await;
            (r.path.replace("{id}", &d.0), Body::Json(json!({"answers": [true, false, true, true]})))
        }
        ("GET", "/api/v1/dossiers/{id}.pdf") => {
            let access = concord_store::clients::record_access(&app.store, &app.ctx(), &w.owner.user.actor(), w.client).await.unwrap();
            let n = concord_store::decisions::list_dossiers(&app.store, &app.ctx(), &access).await.unwrap().len() as i64;
            let m =
                concord_store::decisions::create_dossier(&app.store, &app.ctx(), &access, None, n + 1, b"%PDF-1.7 matrix").await.unwrap();
            (r.path.replace("{id}", &m.id.to_string()), Body::None)
        }
        ("GET", "/portal/decision") | ("POST", "/portal/decision") => {
            // Both the world's clients have a decision (a portal session may be either's).
            for (client, by) in [(w.client, &w.owner), (w.b_client, &w.b_clinician)] {
                let access = concord_store::clients::record_access(&app.store, &app.ctx(), &by.user.actor(), client).await.unwrap();
                let q = concord_domain::decisions::DecisionQuestion::parse("Should I try medication?").unwrap();
                concord_store::decisions::create_decision(&app.store, &app.ctx(), &access, q).await.unwrap();
            }
            let body = if r.method == "POST" {
                form(&[("action", "sure"), ("certainty", "yes"), ("knowledge", "no"), ("values_clarity", "yes"), ("support", "yes")])
            } else {
                Body::None
            };
            (r.path.into(), body)
        }
        (m, p) => panic!("the authorization matrix has no entry for {m} {p}: add one to request_for"),
    }
}

/// A fresh portal link (no PIN) for `client`, made by a clinician on its care team.
async fn portal_link(app: &TestApp, client: concord_domain::ids::ClientId, by: &Person) -> String {
    let ctx = app.ctx();
    let access = concord_store::clients::record_access(&app.store, &ctx, &by.user.actor(), client).await.unwrap();
    let expires = ctx.ts() + 30 * 86_400;
    concord_store::measures::create_portal_link(&app.store, &ctx, &access, expires, None).await.unwrap().1
}

/// A portal session cookie for `client` (opened from a fresh link).
async fn portal_cookie(app: &TestApp, client: concord_domain::ids::ClientId, by: &Person) -> String {
    let secret = portal_link(app, client, by).await;
    let ctx = app.ctx();
    let access = concord_store::measures::open_portal(&app.store, &ctx, &secret, None).await.unwrap();
    let (session, _) = concord_store::measures::create_portal_session(&app.store, &ctx, &access).await.unwrap();
    format!("concord_portal={session}")
}

/// The daily check-in is assigned to both the world's clients (the portal takes only
/// assigned questionnaires).
async fn schedule_checkin(app: &TestApp) {
    let w = &app.world;
    let checkin = concord_domain::measures::InstrumentId::parse("checkin").unwrap();
    for (client, by) in [(w.client, &w.owner), (w.b_client, &w.b_clinician)] {
        let ctx = app.ctx();
        let access = concord_store::clients::record_access(&app.store, &ctx, &by.user.actor(), client).await.unwrap();
        concord_store::measures::set_schedule(&app.store, &ctx, &access, &checkin, concord_domain::measures::schedule::Frequency::Daily)
            .await
            .unwrap();
    }
}

const TRANSCRIPT: &str = "T: What brings you here today?\nC: I want to stop drinking so much.\nT: Drinking has started to worry you.\n";

/// A session of the world's client with a coded transcript, made by the owner.
async fn session_with_transcript(app: &TestApp) -> String {
    let w = &app.world;
    let (s, b) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{}/sessions", w.client),
            Some(&w.owner),
            Some(json!({"starts_at": "2026-02-01T10:00:00Z", "duration_minutes": 50, "attendance": "attended"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let sid = b["id"].as_str().unwrap().to_owned();
    let (s, b) = app
        .api("POST", &format!("/api/v1/clients/{}/sessions/{sid}/transcript", w.client), Some(&w.owner), Some(json!({"text": TRANSCRIPT})))
        .await;
    assert_eq!(s, 201, "{b}");
    sid
}

/// A fresh open safety prompt of the world's client (a PHQ-9 with item 9 above 0).
async fn safety_prompt(app: &TestApp) -> String {
    let w = &app.world;
    let at = time::OffsetDateTime::from_unix_timestamp(1_767_225_600 + i64::from(rand_u16())).unwrap();
    let answers = json!([1, 1, 1, 1, 1, 1, 1, 1, 2]);
    let body = json!({"instrument": "phq9", "answers": answers, "completed_at": concord_domain::values::format_rfc3339(at)});
    let (s, b) = app.api("POST", &format!("/api/v1/clients/{}/responses", w.client), Some(&w.owner), Some(body)).await;
    assert_eq!(s, 201, "{b}");
    let (s, list) = app.api("GET", &format!("/api/v1/clients/{}/prompts?status=open", w.client), Some(&w.owner), None).await;
    assert_eq!(s, 200);
    let at_ts = at.unix_timestamp();
    list.as_array().unwrap().iter().find(|p| p["key"] == format!("safety:phq9:{at_ts}")).unwrap()["id"].as_str().unwrap().to_owned()
}

fn rand_u16() -> u16 {
    let b = uuid::Uuid::new_v4();
    u16::from_le_bytes([b.as_bytes()[0], b.as_bytes()[1]])
}

/// A fresh draft note of the world's client.
async fn draft_note(app: &TestApp) -> String {
    let w = &app.world;
    let (s, b) =
        app.api("POST", &format!("/api/v1/clients/{}/notes", w.client), Some(&w.owner), Some(json!({"body": "Matrix draft"}))).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().unwrap().to_owned()
}

/// A decision of the world's client (made by the owner) with one criterion: (decision id,
/// its first option's id, the criterion's id).
async fn decision_of(app: &TestApp) -> (String, String, String) {
    let w = &app.world;
    let access = concord_store::clients::record_access(&app.store, &app.ctx(), &w.owner.user.actor(), w.client).await.unwrap();
    let q = concord_domain::decisions::DecisionQuestion::parse("Should I try medication for my low mood?").unwrap();
    let id = concord_store::decisions::create_decision(&app.store, &app.ctx(), &access, q).await.unwrap();
    let name = concord_domain::decisions::CriterionName::parse("feel like myself").unwrap();
    let importance = concord_domain::decisions::Importance::new(8).unwrap();
    let cid = concord_store::decisions::add_criterion(&app.store, &app.ctx(), &access, id, &name, importance).await.unwrap();
    let d = concord_store::decisions::get_decision(&app.store, &app.ctx(), &access, id).await.unwrap();
    (id.to_string(), d.options[0].0.to_string(), cid.to_string())
}

trait WithPath {
    fn with_path(self, p: &str) -> (String, Body);
}
impl WithPath for Body {
    fn with_path(self, p: &str) -> (String, Body) {
        (p.to_owned(), self)
    }
}

/// Who plays each role for a route: the owner is the care-team clinician for client routes
/// and the practice admin for admin routes; "another practice" is that practice's admin for
/// admin routes (the strongest outsider) and its clinician otherwise.
fn person_for(app: &TestApp, a: Audience, role: Role) -> Option<&Person> {
    let w = &app.world;
    let admin_route = matches!(a, Audience::Admin | Audience::AdminClient | Audience::ApiAdminClient | Audience::ApiAdmin);
    match role {
        Role::Anonymous => None,
        Role::WrongClinician => Some(&w.other),
        Role::OtherPractice => Some(if admin_route { &w.b_admin } else { &w.b_clinician }),
        Role::Owner => Some(match a {
            Audience::Admin | Audience::AdminClient | Audience::ApiAdminClient | Audience::ApiAdmin => &w.admin,
            Audience::BreakGlass => &w.other,
            _ => &w.owner,
        }),
    }
}

#[derive(Debug)]
enum Expect {
    Allowed,
    /// 404 (the same answer as a missing record).
    NotFound,
    /// The portal's own 401 page ("open the link your therapist sent you").
    PortalSignIn,
    /// 401 for the API, a redirect to /login for pages.
    SignIn,
}

fn expectation(r: &RouteSpec, role: Role) -> Expect {
    use Audience::*;
    use Expect::*;
    match (r.audience, role) {
        (_, Role::Owner) => Allowed,
        (Public, _) => Allowed,
        // Portal routes: no session and staff credentials get the same answer; a portal
        // session of another client works, but only ever for that client (checked below).
        (Portal, Role::Anonymous | Role::WrongClinician) => PortalSignIn,
        (Portal, Role::OtherPractice) => Allowed,
        (_, Role::Anonymous) => SignIn,
        // Someone else's token id is as unknown as a missing one.
        (Staff, _) if r.path.contains("{token_id}") => NotFound,
        // The emergency-access form is shown, and a request answered, alike for every id.
        (PartialSession | Staff | BreakGlass | Api, _) => Allowed,
        // Another practice's admin sees their own practice's admin pages (the leak check
        // below proves nothing of this practice shows).
        (Admin, Role::OtherPractice) if r.path.contains('{') => NotFound,
        (Admin | ApiAdmin, Role::OtherPractice) => Allowed,
        (StaffClient | Admin | AdminClient | ApiClient | ApiClientResource | ApiAdminClient | ApiAdmin, _) => NotFound,
    }
}

async fn call(app: &TestApp, r: &RouteSpec, role: Role) -> (u16, String, String) {
    let audience = r.audience;
    let who = person_for(app, audience, role);
    let (path, body) = request_for(app, r, role).await;
    let mut rb = app.http.request(r.method.parse().unwrap(), format!("{}{path}", app.base));
    let api = path.starts_with("/api/");
    if audience == Audience::Portal {
        let w = &app.world;
        rb = match role {
            Role::Anonymous => rb,
            // The care-team clinician's own staff cookie and API token are not a portal session.
            Role::WrongClinician => rb.header("cookie", &w.owner.cookie).bearer_auth(&w.owner.token),
            // A portal session of another client (of another practice).
            Role::OtherPractice => rb.header("cookie", portal_cookie(app, w.b_client, &w.b_clinician).await),
            Role::Owner => rb.header("cookie", portal_cookie(app, w.client, &w.owner).await),
        };
    } else if let Some(p) = who {
        rb = if api { rb.bearer_auth(&p.token) } else { rb.header("cookie", &p.cookie) };
    }
    rb = match body {
        Body::None => rb,
        Body::Json(v) => rb.json(&v),
        Body::Form(f) => rb.form(&f),
    };
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = resp.text().await.unwrap_or_default();
    (status, location, text)
}

async fn authorization_matrix(app: TestApp) {
    let mut failures = Vec::new();
    let mut checked = 0;
    // Logging out revokes the session used: run it last.
    // Logging out revokes the session used, and a break-glass grant changes what the wrong
    // clinician may see: run those last.
    let mut routes: Vec<&RouteSpec> = ROUTES.iter().collect();
    routes.sort_by_key(|r| (r.path == "/logout", r.method == "POST" && r.path.ends_with("/break-glass")));
    for r in routes {
        for role in [Role::Anonymous, Role::WrongClinician, Role::OtherPractice, Role::Owner] {
            if r.path == "/logout" && role != Role::Anonymous && role != Role::Owner {
                continue; // signing out someone else's session is not a thing; see the auth tests
            }
            let (status, location, body) = call(&app, r, role).await;
            let expect = expectation(r, role);
            let ok = match expect {
                // The matrix sends a wrong password and a wrong code on purpose: 401 and 422 are
                // those routes' answers to an allowed caller.
                Expect::Allowed => {
                    status < 400
                        || (r.method == "POST" && r.path == "/login" && status == 401)
                        || (r.method == "POST" && r.path == "/account/second-factor" && status == 422)
                }
                Expect::NotFound => status == 404,
                Expect::PortalSignIn => status == 401 && body.contains("open the link your therapist sent you"),
                Expect::SignIn => {
                    if r.path.starts_with("/api/") {
                        status == 401
                    } else {
                        status == 303 && location == "/login"
                    }
                }
            };
            // Whatever the answer, no client name of this practice may leak to an outsider.
            let leaked = !matches!(role, Role::Owner) && body.contains("Casey Client") && !matches!(r.audience, Audience::BreakGlass);
            // A portal session reaches its own client only: another client's session never
            // sees this client's (first) name, and does see its own.
            let leaked = leaked || (r.audience == Audience::Portal && role != Role::Owner && body.contains("Casey"));
            let ok = ok
                && !(r.method == "GET" && r.path == "/portal" && role == Role::OtherPractice && !body.contains("Hello, Bailey"))
                && !(r.method == "GET" && r.path == "/portal" && role == Role::Owner && !body.contains("Hello, Casey"));
            if !ok || leaked || status >= 500 {
                failures.push(format!(
                    "{} {} as {role:?}: expected {expect:?}, got {status} {location}{}",
                    r.method,
                    r.path,
                    if leaked { " (LEAKED NAME)" } else { "" }
                ));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
    eprintln!("authorization matrix: {checked} checks passed");
}
both_engines!(authorization_matrix);

/// A missing client and another practice's client answer identically.
async fn not_found_equals_forbidden(app: TestApp) {
    let w = &app.world;
    let missing = concord_domain::ids::ClientId::new_at(1, [1; 10]);
    for path in [format!("/api/v1/clients/{}", w.b_client), format!("/api/v1/clients/{missing}"), "/api/v1/clients/not-an-id".to_owned()] {
        let (s, body) = app.api("GET", &path, Some(&w.owner), None).await;
        assert_eq!((s, body), (404, json!({"error": "not found"})), "{path}");
    }
    let a = app.page("GET", &format!("/clients/{}", w.b_client), Some(&w.owner.cookie), None).await;
    let b = app.page("GET", &format!("/clients/{missing}"), Some(&w.owner.cookie), None).await;
    assert_eq!(a.status(), 404);
    assert_eq!(b.status(), 404);
    // Identical apart from the id the caller sent (echoed in the emergency-access link).
    let (ta, tb) = (a.text().await.unwrap(), b.text().await.unwrap());
    assert_eq!(ta.replace(&w.b_client.to_string(), "ID"), tb.replace(&missing.to_string(), "ID"));
    // And the same for a client of the practice outside the caller's care team.
    let c = app.page("GET", &format!("/clients/{}", w.client), Some(&w.other.cookie), None).await;
    let d = app.page("GET", &format!("/clients/{missing}"), Some(&w.other.cookie), None).await;
    assert_eq!((c.status(), d.status()), (reqwest::StatusCode::NOT_FOUND, reqwest::StatusCode::NOT_FOUND));
    let (tc, td) = (c.text().await.unwrap(), d.text().await.unwrap());
    assert_eq!(tc.replace(&w.client.to_string(), "ID"), td.replace(&missing.to_string(), "ID"));
    assert!(tc.contains("request emergency access"));
}
both_engines!(not_found_equals_forbidden);
