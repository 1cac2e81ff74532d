//! Sign-in, sessions, second factor, throttling, CSRF, headers, escaping and break-glass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{PASSWORD, TestApp};
use concord_domain::clock::Clock;

fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("concord_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

async fn login(app: &TestApp, base: &str, email: &str, password: &str) -> reqwest::Response {
    app.http.post(format!("{base}/login")).form(&[("email", email), ("password", password)]).send().await.unwrap()
}

async fn login_and_logout(app: TestApp) {
    let r = login(&app, &app.base, "owner@a.test", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/caseload");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain HTTP without a TLS proxy: no Secure flag");
    let cookie = session_cookie(&r).unwrap();
    let page = app.page("GET", "/caseload", Some(&cookie), None).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Casey Client"));
    let out = app.page("POST", "/logout", Some(&cookie), None).await;
    assert_eq!(out.status(), 303);
    let page = app.page("GET", "/caseload", Some(&cookie), None).await;
    assert_eq!(
        (page.status().as_u16(), page.headers()["location"].to_str().unwrap()),
        (303, "/login"),
        "a signed-out session is dead server-side"
    );
}
both_engines!(login_and_logout);

async fn unknown_user_and_wrong_password_look_the_same(app: TestApp) {
    let a = login(&app, &app.base, "nobody@a.test", PASSWORD).await;
    let b = login(&app, &app.base, "owner@a.test", "wrong password entirely").await;
    assert_eq!(a.status(), 401);
    assert_eq!(b.status(), 401);
    let (ta, tb) = (a.text().await.unwrap(), b.text().await.unwrap());
    assert_eq!(ta.replace("nobody@a.test", "E"), tb.replace("owner@a.test", "E"), "same page for both");
    let failures = concord_store::audit::list(
        app.store.pool(),
        &app.world.practice_a.to_string(),
        &concord_store::audit::AuditFilter { action: Some("login.failure".into()), limit: 10, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(failures.len(), 1, "a failed login of a known account is audited in its practice");
    let system = concord_store::audit::list(
        app.store.pool(),
        "system",
        &concord_store::audit::AuditFilter { action: Some("login.failure".into()), limit: 10, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(system.len(), 1, "an unknown account's failure goes to the system chain");
}
both_engines!(unknown_user_and_wrong_password_look_the_same);

async fn throttling_survives_restart(app: TestApp) {
    for _ in 0..5 {
        let r = login(&app, &app.base, "owner@a.test", "not the password").await;
        assert_eq!(r.status(), 401);
    }
    let r = login(&app, &app.base, "owner@a.test", PASSWORD).await;
    assert_eq!(r.status(), 429, "locked after 5 failures, even with the right password");
    let restarted = app.restart().await;
    let r = login(&app, &restarted, "owner@a.test", PASSWORD).await;
    assert_eq!(r.status(), 429, "the lock is in the database, not in memory");
    assert!(r.text().await.unwrap().contains("Try again in"));
    app.clock.advance(16 * 60);
    let r = login(&app, &restarted, "owner@a.test", PASSWORD).await;
    assert_eq!(r.status(), 303, "unlocked after the lockout");
}
both_engines!(throttling_survives_restart);

async fn idle_and_absolute_timeouts(app: TestApp) {
    let cookie = session_cookie(&login(&app, &app.base, "owner@a.test", PASSWORD).await).unwrap();
    // Active every 10 minutes: the idle timeout never fires...
    for _ in 0..6 {
        app.clock.advance(10 * 60);
        assert_eq!(app.page("GET", "/caseload", Some(&cookie), None).await.status(), 200);
    }
    // ...but 16 idle minutes end the session.
    app.clock.advance(16 * 60);
    assert_eq!(app.page("GET", "/caseload", Some(&cookie), None).await.status(), 303);
    // The absolute limit ends even an active session.
    let cookie = session_cookie(&login(&app, &app.base, "owner@a.test", PASSWORD).await).unwrap();
    for _ in 0..(12 * 6) {
        app.clock.advance(10 * 60);
        app.page("GET", "/caseload", Some(&cookie), None).await;
    }
    assert_eq!(app.page("GET", "/caseload", Some(&cookie), None).await.status(), 303);
}
both_engines!(idle_and_absolute_timeouts);

fn totp_code(secret_b32: &str, at: i64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_b32.to_owned()).to_bytes().unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret).unwrap().generate(at as u64)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s.find(start).unwrap() + start.len();
    &s[i..i + s[i..].find(end).unwrap()]
}

async fn admin_must_enrol_then_use_second_factor(app: TestApp) {
    let r = login(&app, &app.base, "admin@a.test", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/account/second-factor", "an admin without a second factor must enrol first");
    let cookie = session_cookie(&r).unwrap();
    // Nothing else is reachable before enrolment.
    let r = app.page("GET", "/admin/audit", Some(&cookie), None).await;
    assert_eq!(r.headers()["location"], "/account/second-factor");
    let (_, page) = (200, app.page("GET", "/account/second-factor", Some(&cookie), None).await.text().await.unwrap());
    let secret = between(&page, "<code class=\"secret\">", "</code>").to_owned();
    let again = app.page("GET", "/account/second-factor", Some(&cookie), None).await.text().await.unwrap();
    assert_eq!(between(&again, "<code class=\"secret\">", "</code>"), secret, "a reload keeps the secret already scanned");
    let r = app.page("POST", "/account/second-factor", Some(&cookie), Some(&[("code", "123456")])).await;
    assert_eq!(r.status(), 422);
    let code = totp_code(&secret, app.clock.now().unix_timestamp());
    let r = app.page("POST", "/account/second-factor", Some(&cookie), Some(&[("code", &code)])).await;
    assert_eq!(r.status(), 200);
    let full = session_cookie(&r).unwrap();
    let body = r.text().await.unwrap();
    let recovery: Vec<String> = body.split("<li><code>").skip(1).map(|s| s.split("</code>").next().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(app.page("GET", "/admin/audit", Some(&full), None).await.status(), 200);
    assert_eq!(app.page("GET", "/caseload", Some(&cookie), None).await.status(), 303, "the pre-enrolment session id was replaced");

    // Next sign-in: password, then the code.
    app.clock.advance(120);
    let r = login(&app, &app.base, "admin@a.test", PASSWORD).await;
    assert_eq!(r.headers()["location"], "/login/second-factor");
    let partial = session_cookie(&r).unwrap();
    assert_eq!(app.page("GET", "/admin", Some(&partial), None).await.headers()["location"], "/login/second-factor");
    let r = app.page("POST", "/login/second-factor", Some(&partial), Some(&[("code", "000000")])).await;
    assert_eq!(r.status(), 401);
    let code = totp_code(&secret, app.clock.now().unix_timestamp());
    let r = app.page("POST", "/login/second-factor", Some(&partial), Some(&[("code", &code)])).await;
    assert_eq!(r.headers()["location"], "/caseload");
    // A recovery code works once.
    for expect in [303, 401] {
        let r = login(&app, &app.base, "admin@a.test", PASSWORD).await;
        let partial = session_cookie(&r).unwrap();
        let r = app.page("POST", "/login/second-factor", Some(&partial), Some(&[("code", &recovery[0])])).await;
        assert_eq!(r.status().as_u16(), expect);
    }
}
both_engines!(admin_must_enrol_then_use_second_factor);

async fn csrf_and_security_headers(app: TestApp) {
    let w = &app.world;
    let cross = app
        .http
        .post(format!("{}/clients", app.base))
        .header("cookie", &w.owner.cookie)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("name", "Forged Client")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403, "a cross-site form post is refused");
    let same = app
        .http
        .post(format!("{}/clients", app.base))
        .header("cookie", &w.owner.cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("name", "Real Client")])
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 303);
    let (_, list) = app.api("GET", "/api/v1/clients", Some(&w.owner), None).await;
    assert!(!list.to_string().contains("Forged Client"));
    let r = app.page("GET", "/login", None, None).await;
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.get("x-request-id").is_some());
}
both_engines!(csrf_and_security_headers);

async fn secure_cookies_behind_tls(app: TestApp) {
    let config = concord_web::AppConfig { secure_cookies: true, ..app.config.clone() };
    let store = concord_store::Store::open(&app.url, concord_store::crypto::PracticeKey::from_bytes(app.key_bytes)).await.unwrap();
    let base = common::serve(store, app.clock.clone(), config).await;
    let r = login(&app, &base, "owner@a.test", PASSWORD).await;
    let set = r.headers()["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("__Host-concord_session=") && set.contains("; Secure"), "{set}");
    assert!(r.headers().get("strict-transport-security").is_some());
}
both_engines!(secure_cookies_behind_tls);

async fn free_text_is_escaped(app: TestApp) {
    let w = &app.world;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (s, b) = app.api("POST", "/api/v1/clients", Some(&w.owner), Some(serde_json::json!({"name": evil}))).await;
    assert_eq!(s, 201);
    let id = b["id"].as_str().unwrap();
    for path in ["/caseload".to_owned(), format!("/clients/{id}"), format!("/clients/{id}/edit")] {
        let (s, html) = app.get_html(&path, &w.owner).await;
        assert_eq!(s, 200);
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "{path} renders raw markup");
        assert!(
            html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;") || html.contains("&lt;script"),
            "{path} shows the escaped text"
        );
    }
}
both_engines!(free_text_is_escaped);

async fn break_glass_is_time_limited_audited_and_reported(app: TestApp) {
    let w = &app.world;
    let c = w.client;
    let r = app.page("GET", &format!("/clients/{c}"), Some(&w.other.cookie), None).await;
    assert_eq!(r.status(), 404, "outside the care team: the same 404 as a missing record");
    assert!(r.text().await.unwrap().contains(&format!("/clients/{c}/break-glass")), "which offers emergency access");
    let r = app
        .page("POST", &format!("/clients/{c}/break-glass"), Some(&w.other.cookie), Some(&[("reason", "short"), ("minutes", "60")]))
        .await;
    assert_eq!(r.status(), 422, "a reason is required");
    let r = app
        .page(
            "POST",
            &format!("/clients/{c}/break-glass"),
            Some(&w.other.cookie),
            Some(&[("reason", "Client in crisis, owner unreachable"), ("minutes", "60")]),
        )
        .await;
    assert_eq!(r.status(), 303);
    let (s, html) = app.get_html(&format!("/clients/{c}"), &w.other).await;
    assert_eq!(s, 200);
    assert!(html.contains("emergency (break-glass) access"));
    let (_, admin_html) = app.get_html("/admin/break-glass", &w.admin).await;
    assert!(
        admin_html.contains("Client in crisis, owner unreachable") && admin_html.contains("Otto Other") && admin_html.contains("Active")
    );
    let reads = concord_store::audit::list(
        app.store.pool(),
        &w.practice_a.to_string(),
        &concord_store::audit::AuditFilter {
            actor_id: Some(w.other.user.id.to_string()),
            action: Some("client.read".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(reads.iter().all(|e| e.detail.contains("basis=break_glass")));
    // Another practice's request is answered alike, grants nothing, and is recorded.
    let r = app
        .page(
            "POST",
            &format!("/clients/{c}/break-glass"),
            Some(&w.b_clinician.cookie),
            Some(&[("reason", "Trying from another practice"), ("minutes", "60")]),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.page("GET", &format!("/clients/{c}"), Some(&w.b_clinician.cookie), None).await.status(), 404);
    assert_eq!(app.api("GET", &format!("/api/v1/clients/{c}"), Some(&w.b_clinician), None).await.0, 404);
    let refused = concord_store::audit::list(
        app.store.pool(),
        &w.practice_b.to_string(),
        &concord_store::audit::AuditFilter { action: Some("break_glass.refused".into()), limit: 10, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(refused.len(), 1);
    // An hour later it has expired.
    app.clock.advance(61 * 60);
    let other_cookie = {
        let u = &w.other.user;
        let secret = concord_store::accounts::create_session(
            &app.store,
            &app.ctx(),
            u,
            concord_store::accounts::SessionStage::Full,
            time::Duration::hours(12),
        )
        .await
        .unwrap();
        format!("concord_session={secret}")
    };
    let r = app.page("GET", &format!("/api/v1/clients/{c}"), None, None).await;
    assert_eq!(r.status(), 401);
    let r = app.page("GET", &format!("/clients/{c}"), Some(&other_cookie), None).await;
    assert_eq!(r.status(), 404, "expired: the record is closed again");
}
both_engines!(break_glass_is_time_limited_audited_and_reported);

async fn disabling_an_account_cuts_it_off_everywhere(app: TestApp) {
    let w = &app.world;
    let path = format!("/admin/users/{}/disable", w.owner.user.id);
    assert_eq!(app.page("POST", &path, Some(&w.other.cookie), None).await.status(), 404, "clinicians cannot");
    assert_eq!(app.page("POST", &path, Some(&w.b_admin.cookie), None).await.status(), 404, "another practice cannot");
    assert_eq!(app.page("POST", &path, Some(&w.admin.cookie), None).await.status(), 303);
    assert_eq!(app.page("GET", "/caseload", Some(&w.owner.cookie), None).await.status(), 303, "sessions revoked");
    assert_eq!(app.api("GET", "/api/v1/clients", Some(&w.owner), None).await.0, 401, "tokens refused");
    let r = login(&app, &app.base, "owner@a.test", PASSWORD).await;
    assert_eq!(r.status(), 401, "a disabled account signs in like an unknown one");
    let r = app.page("POST", &format!("/admin/users/{}/disable", w.admin.user.id), Some(&w.admin.cookie), None).await;
    assert_eq!(r.status(), 422, "an admin cannot lock themselves out");
    assert_eq!(app.page("POST", &format!("/admin/users/{}/enable", w.owner.user.id), Some(&w.admin.cookie), None).await.status(), 303);
    assert_eq!(login(&app, &app.base, "owner@a.test", PASSWORD).await.status(), 303);
    assert_eq!(app.api("GET", "/api/v1/clients", Some(&w.owner), None).await.0, 200);
}
both_engines!(disabling_an_account_cuts_it_off_everywhere);

async fn changing_password(app: TestApp) {
    let first = session_cookie(&login(&app, &app.base, "owner@a.test", PASSWORD).await).unwrap();
    let second = session_cookie(&login(&app, &app.base, "owner@a.test", PASSWORD).await).unwrap();
    let form = |cur: &'static str, new: &'static str| vec![("current_password", cur), ("new_password", new)];
    let r = app.page("POST", "/account/password", Some(&first), Some(&form("wrong password here", "a brand new password"))).await;
    assert_eq!(r.status(), 422);
    let r = app.page("POST", "/account/password", Some(&first), Some(&form(PASSWORD, "short"))).await;
    assert_eq!(r.status(), 422);
    let r = app.page("POST", "/account/password", Some(&first), Some(&form(PASSWORD, "a brand new password"))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.page("GET", "/caseload", Some(&first), None).await.status(), 200, "the current session stays");
    assert_eq!(app.page("GET", "/caseload", Some(&second), None).await.status(), 303, "other sessions are signed out");
    assert_eq!(login(&app, &app.base, "owner@a.test", PASSWORD).await.status(), 401);
    assert_eq!(login(&app, &app.base, "owner@a.test", "a brand new password").await.status(), 303);
}
both_engines!(changing_password);
