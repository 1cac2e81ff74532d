//! The JSON API as scripts use it: contracts, validation, bad input, search and encryption.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::TestApp;
use serde_json::json;

async fn client_lifecycle(app: TestApp) {
    let w = &app.world;
    let (s, body) =
        app.api("POST", "/api/v1/clients", Some(&w.owner), Some(json!({"name": "Robin Ashdown", "date_of_birth": "1990-05-06"}))).await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1, "201 body is exactly {{\"id\"}}");

    let (s, c) = app.api("GET", &format!("/api/v1/clients/{id}"), Some(&w.owner), None).await;
    assert_eq!(s, 200);
    assert_eq!(c["name"], "Robin Ashdown");
    assert_eq!(c["date_of_birth"], "1990-05-06");
    assert_eq!(c["status"], "active");
    assert_eq!(c["care_team"][0]["user_id"], w.owner.user.id.to_string(), "the creating clinician joins the care team");

    let (s, c) =
        app.api("PATCH", &format!("/api/v1/clients/{id}"), Some(&w.owner), Some(json!({"name": "Robin Ash", "date_of_birth": null}))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["name"], "Robin Ash");
    assert!(c["date_of_birth"].is_null());

    for (when, att) in
        [("2026-02-01T10:00:00Z", "attended"), ("2026-02-08T10:00:00Z", "no_show"), ("2026-02-15T10:00:00+01:00", "cancelled")]
    {
        let (s, b) = app
            .api(
                "POST",
                &format!("/api/v1/clients/{id}/sessions"),
                Some(&w.owner),
                Some(json!({"starts_at": when, "duration_minutes": 50, "attendance": att})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        assert!(b["id"].is_string());
    }
    let (s, list) = app.api("GET", &format!("/api/v1/clients/{id}/sessions"), Some(&w.owner), None).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["starts_at"], "2026-02-15T09:00:00Z", "newest first, normalised to UTC");
    assert_eq!(list[2]["attendance"], "attended");

    let (_, all) = app.api("GET", "/api/v1/clients", Some(&w.owner), None).await;
    let mine = all.as_array().unwrap().iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert_eq!(mine["attended_sessions"], 1);

    // Archive: hidden from the default list, refuses new sessions, comes back on restore.
    let (s, _) = app.api("PATCH", &format!("/api/v1/clients/{id}"), Some(&w.owner), Some(json!({"status": "archived"}))).await;
    assert_eq!(s, 200);
    let (_, all) = app.api("GET", "/api/v1/clients", Some(&w.owner), None).await;
    assert!(!all.as_array().unwrap().iter().any(|c| c["id"] == id.as_str()));
    let (_, all) = app.api("GET", "/api/v1/clients?include_archived=true", Some(&w.owner), None).await;
    assert!(all.as_array().unwrap().iter().any(|c| c["id"] == id.as_str()));
    let (s, b) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{id}/sessions"),
            Some(&w.owner),
            Some(json!({"starts_at": "2026-02-22T10:00:00Z", "duration_minutes": 50, "attendance": "attended"})),
        )
        .await;
    assert_eq!(s, 409, "{b}");

    // Care team: only admins change it; a colleague added by the admin then sees the client.
    let member = json!({"user_id": w.other.user.id.to_string()});
    let (s, _) = app.api("POST", &format!("/api/v1/clients/{id}/care-team"), Some(&w.owner), Some(member.clone())).await;
    assert_eq!(s, 404, "clinicians cannot change care teams");
    let (s, team) = app.api("POST", &format!("/api/v1/clients/{id}/care-team"), Some(&w.admin), Some(member)).await;
    assert_eq!(s, 201);
    assert_eq!(team.as_array().unwrap().len(), 2);
    let (s, _) = app.api("GET", &format!("/api/v1/clients/{id}"), Some(&w.other), None).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .api(
            "POST",
            &format!("/api/v1/clients/{id}/care-team"),
            Some(&w.admin),
            Some(json!({"user_id": w.b_clinician.user.id.to_string()})),
        )
        .await;
    assert_eq!(s, 422, "staff of another practice cannot join");
    let (s, _) = app.api("DELETE", &format!("/api/v1/clients/{id}/care-team/{}", w.other.user.id), Some(&w.admin), None).await;
    assert_eq!(s, 204);
    let (s, _) = app.api("GET", &format!("/api/v1/clients/{id}"), Some(&w.other), None).await;
    assert_eq!(s, 404, "removal takes effect at once");
}
both_engines!(client_lifecycle);

async fn bad_input_is_a_clear_4xx(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let raw = |method: &'static str, path: String, body: &'static str, ctype: &'static str| {
        let app = &app;
        async move {
            let resp = app
                .http
                .request(method.parse().unwrap(), format!("{}{path}", app.base))
                .bearer_auth(&app.world.owner.token)
                .header("content-type", ctype)
                .body(body)
                .send()
                .await
                .unwrap();
            let s = resp.status().as_u16();
            let v: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
            (s, v)
        }
    };
    let cases: Vec<(u16, (u16, serde_json::Value))> = vec![
        (400, raw("POST", "/api/v1/clients".into(), "{not json", "application/json").await),
        (400, raw("POST", "/api/v1/clients".into(), "", "application/json").await),
        (400, raw("POST", "/api/v1/clients".into(), "{\"name\": \"x\"}", "text/plain").await),
        (422, raw("POST", "/api/v1/clients".into(), "{\"name\": 42}", "application/json").await),
        (422, raw("POST", "/api/v1/clients".into(), "{\"nom\": \"x\"}", "application/json").await),
        (422, raw("POST", "/api/v1/clients".into(), "{\"name\": \"   \"}", "application/json").await),
        (422, raw("POST", "/api/v1/clients".into(), "{\"name\": \"x\", \"date_of_birth\": \"31/12/1990\"}", "application/json").await),
        (422, raw("POST", "/api/v1/clients".into(), "{\"name\": \"x\", \"date_of_birth\": \"2999-01-01\"}", "application/json").await),
        (422, raw("PATCH", format!("/api/v1/clients/{c}"), "{}", "application/json").await),
        (422, raw("PATCH", format!("/api/v1/clients/{c}"), "{\"status\": \"deleted\"}", "application/json").await),
        (
            422,
            raw(
                "POST",
                format!("/api/v1/clients/{c}/sessions"),
                "{\"starts_at\": \"yesterday\", \"duration_minutes\": 50, \"attendance\": \"attended\"}",
                "application/json",
            )
            .await,
        ),
        (
            422,
            raw(
                "POST",
                format!("/api/v1/clients/{c}/sessions"),
                "{\"starts_at\": \"2026-01-01T10:00:00Z\", \"duration_minutes\": 0, \"attendance\": \"attended\"}",
                "application/json",
            )
            .await,
        ),
        (
            422,
            raw(
                "POST",
                format!("/api/v1/clients/{c}/sessions"),
                "{\"starts_at\": \"2026-01-01T10:00:00Z\", \"duration_minutes\": 50, \"attendance\": \"maybe\"}",
                "application/json",
            )
            .await,
        ),
        (
            422,
            raw(
                "POST",
                format!("/api/v1/clients/{c}/sessions"),
                "{\"starts_at\": \"2026-01-01T10:00:00Z\", \"duration_minutes\": 99999999999999999999, \"attendance\": \"attended\"}",
                "application/json",
            )
            .await,
        ),
        (404, raw("GET", "/api/v1/clients/..%2F..%2Fetc%2Fpasswd".into(), "", "application/json").await),
        (404, raw("GET", "/api/v1/nope".into(), "", "application/json").await),
    ];
    for (i, (want, (got, body))) in cases.iter().enumerate() {
        assert_eq!(got, want, "case {i}: {body}");
        assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()), "case {i} has a message: {body}");
    }
    // Oversized bodies are refused before parsing.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(200_000));
    let resp = app
        .http
        .post(format!("{}/api/v1/clients", app.base))
        .bearer_auth(&w.owner.token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    // Nothing partial was written: the owner still has exactly one client.
    let (_, list) = app.api("GET", "/api/v1/clients", Some(&w.owner), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // Unknown, malformed and revoked tokens.
    for token in ["", "Bearer", "concord_nope", "x".repeat(5000).as_str()] {
        let r =
            app.http.get(format!("{}/api/v1/clients", app.base)).header("authorization", format!("Bearer {token}")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let tokens = concord_store::accounts::list_tokens(&app.store, w.owner.user.id).await.unwrap();
    concord_store::accounts::revoke_token(&app.store, &app.ctx(), &w.owner.user, tokens[0].id).await.unwrap();
    let (s, b) = app.api("GET", "/api/v1/clients", Some(&w.owner), None).await;
    assert_eq!((s, b), (401, json!({"error": "authentication required"})), "a revoked token is refused at once");
    let refused = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter { action: Some("token.refused".into()), limit: 10, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(refused.len(), 1, "the attempt with a revoked token is audited");
}
both_engines!(bad_input_is_a_clear_4xx);

async fn search_by_name(app: TestApp) {
    let w = &app.world;
    for name in ["Maria López-Ortiz", "Mario Rossi", "Ann Marsh"] {
        let (s, _) = app.api("POST", "/api/v1/clients", Some(&w.owner), Some(json!({"name": name}))).await;
        assert_eq!(s, 201);
    }
    // Another clinician's client never shows, even when the name matches.
    app.api("POST", "/api/v1/clients", Some(&w.other), Some(json!({"name": "Maria Hidden"}))).await;
    let names = |v: serde_json::Value| v.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let (_, v) = app.api("GET", "/api/v1/clients?q=mar", Some(&w.owner), None).await;
    assert_eq!(names(v), ["Ann Marsh", "Maria López-Ortiz", "Mario Rossi"]);
    let (_, v) = app.api("GET", "/api/v1/clients?q=MARIA%20ort", Some(&w.owner), None).await;
    assert_eq!(names(v), ["Maria López-Ortiz"]);
    let (_, v) = app.api("GET", "/api/v1/clients?q=l%C3%B3pez", Some(&w.owner), None).await;
    assert_eq!(names(v), ["Maria López-Ortiz"]);
    let (_, v) = app.api("GET", "/api/v1/clients?q=zzz", Some(&w.owner), None).await;
    assert!(names(v).is_empty());
    let (s, _) = app.api("GET", "/api/v1/clients?q=x&sort=name;DROP%20TABLE%20clients", Some(&w.owner), None).await;
    assert_eq!(s, 400, "unknown query parameters are refused, never spliced");
    // SQL metacharacters in a search are just text.
    let (s, v) = app.api("GET", "/api/v1/clients?q=%27%20OR%201%3D1%20--", Some(&w.owner), None).await;
    assert_eq!(s, 200);
    assert!(names(v).is_empty());
}
both_engines!(search_by_name);

/// Client names and dates of birth are ciphertext in the database; erasure destroys the key.
async fn encrypted_at_rest_and_erasure(app: TestApp) {
    let w = &app.world;
    let (_, b) =
        app.api("POST", "/api/v1/clients", Some(&w.owner), Some(json!({"name": "Quentin Zephyrine", "date_of_birth": "1977-07-07"}))).await;
    let id = b["id"].as_str().unwrap().to_owned();
    let mut conn = app.store.pool().acquire().await.unwrap();
    use sqlx::Row;
    let row = sqlx::query("SELECT name_ct, date_of_birth_ct FROM clients WHERE id = $1").bind(&id).fetch_one(&mut *conn).await.unwrap();
    let name_ct: Vec<u8> = row.try_get("name_ct").unwrap();
    let dob_ct: Vec<u8> = row.try_get("date_of_birth_ct").unwrap();
    assert!(!String::from_utf8_lossy(&name_ct).contains("Zephyrine"));
    assert!(!String::from_utf8_lossy(&dob_ct).contains("1977"));
    let tokens = sqlx::query("SELECT token FROM client_name_index WHERE client_id = $1").bind(&id).fetch_all(&mut *conn).await.unwrap();
    assert!(!tokens.is_empty());
    for t in tokens {
        let t: String = t.try_get("token").unwrap();
        assert!(!t.contains("zeph") && t.len() == 32, "blind index entries are HMACs: {t}");
    }
    drop(conn);
    // Erase through the admin page.
    let r = app.page("POST", &format!("/admin/clients/{id}/erase"), Some(&w.admin.cookie), Some(&[("confirm", "nope")])).await;
    assert_eq!(r.status(), 422, "erasure needs the confirmation word");
    let r = app.page("POST", &format!("/admin/clients/{id}/erase"), Some(&w.admin.cookie), Some(&[("confirm", "ERASE")])).await;
    assert_eq!(r.status(), 303);
    let (s, _) = app.api("GET", &format!("/api/v1/clients/{id}"), Some(&w.owner), None).await;
    assert_eq!(s, 404);
    for table in ["clients", "client_keys", "client_name_index", "client_sessions", "care_team"] {
        let col = if table == "clients" { "id" } else { "client_id" };
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table} WHERE {col} = $1")))
            .bind(&id)
            .fetch_one(app.store.pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(n, 0, "{table} still holds the erased client");
    }
    let entries = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter { action: Some("client.erase".into()), limit: 10, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 1);
}
both_engines!(encrypted_at_rest_and_erasure);

async fn every_client_read_and_write_is_audited(app: TestApp) {
    let w = &app.world;
    let c = w.client.to_string();
    let count = |action: &'static str| {
        let app = &app;
        async move {
            concord_store::audit::list(
                app.store.pool(),
                &app.world.practice_a.to_string(),
                &concord_store::audit::AuditFilter {
                    action: Some(action.into()),
                    client_id: Some(app.world.client.to_string()),
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .len()
        }
    };
    let reads = count("client.read").await;
    app.api("GET", &format!("/api/v1/clients/{c}"), Some(&w.owner), None).await;
    app.get_html(&format!("/clients/{c}"), &w.owner).await;
    assert_eq!(count("client.read").await, reads + 2);
    app.api(
        "POST",
        &format!("/api/v1/clients/{c}/sessions"),
        Some(&w.owner),
        Some(json!({"starts_at": "2026-01-01T10:00:00Z", "duration_minutes": 50, "attendance": "attended"})),
    )
    .await;
    assert_eq!(count("session.create").await, 1);
    let entries = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter { action: Some("session.create".into()), limit: 5, ..Default::default() },
    )
    .await
    .unwrap();
    let e = &entries[0];
    assert_eq!(e.actor_id.as_deref(), Some(w.owner.user.id.to_string().as_str()));
    assert_eq!(e.client_id.as_deref(), Some(c.as_str()));
    assert!(!e.request_id.is_empty() && e.request_id != "-", "the request id is recorded");
    // A denied read writes no client.read entry for the outsider.
    app.api("GET", &format!("/api/v1/clients/{c}"), Some(&w.b_clinician), None).await;
    let all = concord_store::audit::list(
        app.store.pool(),
        &w.practice_b.to_string(),
        &concord_store::audit::AuditFilter { action: Some("client.read".into()), limit: 100, ..Default::default() },
    )
    .await
    .unwrap();
    assert!(all.iter().all(|e| e.client_id.as_deref() != Some(c.as_str())));
    // Every token use is itself audited.
    let uses = |app: &TestApp| {
        let f = concord_store::audit::AuditFilter {
            action: Some("token.use".into()),
            actor_id: Some(app.world.owner.user.id.to_string()),
            limit: 1000,
            ..Default::default()
        };
        let pool = app.store.pool().clone();
        let practice = app.world.practice_a.to_string();
        async move { concord_store::audit::list(&pool, &practice, &f).await.unwrap().len() }
    };
    let before = uses(&app).await;
    for _ in 0..3 {
        app.api("GET", "/api/v1/me", Some(&w.owner), None).await;
    }
    assert_eq!(uses(&app).await, before + 3);
    assert!(concord_store::audit::verify(app.store.pool()).await.unwrap().first_break.is_none());
    // The admin page pages backwards through the chain.
    let (s, html) = app.get_html("/admin/audit", &w.admin).await;
    assert_eq!(s, 200);
    assert!(html.contains("intact"));
    let first_page = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter { limit: 3, ..Default::default() },
    )
    .await
    .unwrap();
    let next = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter { limit: 3, before_seq: Some(first_page[2].seq), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(next[0].seq, first_page[2].seq - 1);
}
both_engines!(every_client_read_and_write_is_audited);

async fn openapi_and_health(app: TestApp) {
    let (s, doc) = app.api("GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for r in concord_web::routes::ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        assert!(doc["paths"][r.path][r.method.to_lowercase()].is_object(), "{} {} missing from OpenAPI", r.method, r.path);
    }
    let (s, h) = app.api("GET", "/healthz", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(h["status"], "ok");
}
both_engines!(openapi_and_health);
