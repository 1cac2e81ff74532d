//! The client portal over HTTP: opening links (PIN, lockout, expiry, revocation, unknown
//! secrets and their rate limit), isolation between clients, staff credentials refused,
//! questionnaires (validation, unassigned instruments, the safety flag), trends, sign-out and
//! the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{Person, TestApp, new_client};
use concord_domain::ids::ClientId;
use concord_domain::measures::InstrumentId;
use concord_domain::measures::schedule::Frequency;
use concord_store::audit::{self, AuditFilter};
use concord_store::{clients, measures};
use concord_web::AppConfig;

const DAY: i64 = 86_400;

async fn link(app: &TestApp, client: ClientId, by: &Person, days: i64, pin: Option<&str>) -> String {
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &by.user.actor(), client).await.unwrap();
    measures::create_portal_link(&app.store, &ctx, &access, ctx.ts() + days * DAY, pin).await.unwrap().1
}

async fn schedule(app: &TestApp, client: ClientId, by: &Person, instrument: &str, frequency: Frequency) {
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &by.user.actor(), client).await.unwrap();
    measures::set_schedule(&app.store, &ctx, &access, &InstrumentId::parse(instrument).unwrap(), frequency).await.unwrap();
}

fn set_cookie(resp: &reqwest::Response) -> String {
    resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join("\n")
}

/// Opens a link without a PIN and returns the portal cookie (`name=value`).
async fn open(app: &TestApp, secret: &str) -> String {
    let resp = app.page("GET", &format!("/portal/{secret}"), None, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/portal");
    let c = set_cookie(&resp);
    c.split(';').next().unwrap().to_owned()
}

async fn text(resp: reqwest::Response) -> (u16, String) {
    let s = resp.status().as_u16();
    (s, resp.text().await.unwrap())
}

fn phq9(answers: [&'static str; 9]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = answers.iter().enumerate().map(|(i, a)| (format!("item_q{}", i + 1), (*a).to_owned())).collect();
    f.push(("item_difficulty".into(), "1".into()));
    f
}

async fn post_form(app: &TestApp, path: &str, cookie: &str, form: &[(String, String)]) -> (u16, String) {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    text(app.page("POST", path, Some(cookie), Some(&pairs)).await).await
}

async fn portal_audit(app: &TestApp, client: ClientId) -> Vec<audit::AuditEntry> {
    audit::list(
        app.store.pool(),
        &app.world.practice_a.to_string(),
        &AuditFilter { client_id: Some(client.to_string()), limit: 1000, ..Default::default() },
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|e| e.record_kind == "portal")
    .collect()
}

async fn open_without_pin(app: TestApp) {
    let w = &app.world;
    let secret = link(&app, w.client, &w.owner, 30, None).await;
    let resp = app.page("GET", &format!("/portal/{secret}"), None, None).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    let c = set_cookie(&resp);
    assert!(c.starts_with("concord_portal="), "{c}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/portal", "Max-Age=7200"] {
        assert!(c.contains(part), "{part} missing in {c}");
    }
    let cookie = c.split(';').next().unwrap().to_owned();
    let (s, body) = text(app.page("GET", "/portal", Some(&cookie), None).await).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("Hello, Casey"), "{body}");
    assert!(!body.contains("Casey Client"), "only the first name is shown");
    assert!(!body.contains("Olive Owner"), "no therapist data");
    assert!(!body.contains("/caseload"), "no staff navigation");
    assert!(body.contains("Your answers will appear here"));
    // No session, no page: a friendly 401.
    let (s, body) = text(app.page("GET", "/portal", None, None).await).await;
    assert_eq!(s, 401);
    assert!(body.contains("open the link your therapist sent you"));
}
both_engines!(open_without_pin);

async fn pin_and_lockout(app: TestApp) {
    let w = &app.world;
    let secret = link(&app, w.client, &w.owner, 30, Some("4821")).await;
    let path = format!("/portal/{secret}");
    let (s, body) = text(app.page("GET", &path, None, None).await).await;
    assert_eq!(s, 200);
    assert!(body.contains("name=\"pin\"") && body.contains("<label for=\"pin\">"), "{body}");
    for attempt in 1..=4 {
        let (s, body) = text(app.page("POST", &path, None, Some(&[("pin", "0000")])).await).await;
        assert_eq!(s, 401, "attempt {attempt}");
        assert!(body.contains("That PIN is not right") && body.contains("name=\"pin\""));
    }
    let (s, body) = text(app.page("POST", &path, None, Some(&[("pin", "0000")])).await).await;
    assert_eq!(s, 429, "the fifth wrong PIN locks the link");
    assert!(body.contains("try again in 1 hour"), "{body}");
    // The right PIN does not help while locked, not even after a restart.
    let base = app.restart().await;
    let resp = app.http.post(format!("{base}/portal/{secret}")).form(&[("pin", "4821")]).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    app.clock.advance(61 * 60);
    let resp = app.http.post(format!("{base}/portal/{secret}")).form(&[("pin", "4821")]).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert!(set_cookie(&resp).starts_with("concord_portal="));
    // An empty PIN asks again without counting as a guess.
    let (s, body) = text(app.page("POST", &path, None, Some(&[("pin", "")])).await).await;
    assert_eq!(s, 401);
    assert!(body.contains("Please enter your PIN"));
    let actions: Vec<String> = portal_audit(&app, w.client).await.into_iter().map(|e| e.action).collect();
    assert!(actions.iter().filter(|a| *a == "portal.pin_failed").count() == 5, "{actions:?}");
    assert!(actions.contains(&"portal.locked".to_owned()) && actions.contains(&"portal.open".to_owned()));
}
both_engines!(pin_and_lockout);

async fn dead_and_unknown_links(app: TestApp) {
    let w = &app.world;
    // Unknown.
    let (s, body) = text(app.page("GET", "/portal/not-a-real-secret", None, None).await).await;
    assert_eq!(s, 404);
    assert!(body.contains("This link is not valid"));
    // Revoked: the link and a session opened with it stop working at once.
    let secret = link(&app, w.client, &w.owner, 30, None).await;
    let cookie = open(&app, &secret).await;
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &w.owner.user.actor(), w.client).await.unwrap();
    let id = measures::list_portal_links(&app.store, &ctx, &access).await.unwrap()[0].id;
    measures::revoke_portal_link(&app.store, &ctx, &access, id).await.unwrap();
    let (s, body) = text(app.page("GET", &format!("/portal/{secret}"), None, None).await).await;
    assert_eq!(s, 410);
    assert!(body.contains("ask your therapist for a new link"), "{body}");
    let (s, _) = text(app.page("GET", "/portal", Some(&cookie), None).await).await;
    assert!(s == 401 || s == 410, "{s}");
    // Expired.
    let secret = link(&app, w.client, &w.owner, 1, None).await;
    app.clock.advance(2 * DAY);
    let (s, body) = text(app.page("GET", &format!("/portal/{secret}"), None, None).await).await;
    assert_eq!(s, 410);
    assert!(body.contains("This link has expired") && body.contains("ask your therapist for a new link"));
    // Archived client.
    let secret = link(&app, w.client, &w.owner, 30, None).await;
    let (s, _) =
        app.api("PATCH", &format!("/api/v1/clients/{}", w.client), Some(&w.owner), Some(serde_json::json!({"status": "archived"}))).await;
    assert_eq!(s, 200);
    let (s, body) = text(app.page("GET", &format!("/portal/{secret}"), None, None).await).await;
    assert_eq!(s, 410);
    assert!(body.contains("ask your therapist for a new link"));
    let refused = portal_audit(&app, w.client).await.into_iter().filter(|e| e.action == "portal.refused").count();
    assert_eq!(refused, 3);
}
both_engines!(dead_and_unknown_links);

async fn unknown_secrets_are_rate_limited(app: TestApp) {
    let w = &app.world;
    for i in 0..30 {
        let (s, _) = text(app.page("GET", &format!("/portal/guess-{i}"), None, None).await).await;
        assert_eq!(s, 404, "guess {i}");
    }
    let (s, body) = text(app.page("GET", "/portal/guess-31", None, None).await).await;
    assert_eq!(s, 429);
    assert!(body.contains("Please try again in 15 minutes"), "{body}");
    // While locked, even a real link from that address waits.
    let secret = link(&app, w.client, &w.owner, 30, None).await;
    let (s, _) = text(app.page("GET", &format!("/portal/{secret}"), None, None).await).await;
    assert_eq!(s, 429);
    app.clock.advance(16 * 60);
    let (s, _) = text(app.page("GET", &format!("/portal/{secret}"), None, None).await).await;
    assert_eq!(s, 303);
}
both_engines!(unknown_secrets_are_rate_limited);

async fn staff_credentials_do_not_open_the_portal(app: TestApp) {
    let w = &app.world;
    schedule(&app, w.client, &w.owner, "phq9", Frequency::Weekly).await;
    for p in [&w.owner, &w.admin, &w.supervisor] {
        for (method, path) in
            [("GET", "/portal"), ("GET", "/portal/forms/phq9"), ("POST", "/portal/forms/phq9"), ("POST", "/portal/logout")]
        {
            let form = phq9(["1"; 9]);
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut rb =
                app.http.request(method.parse().unwrap(), format!("{}{path}", app.base)).header("cookie", &p.cookie).bearer_auth(&p.token);
            if method == "POST" {
                rb = rb.form(&pairs);
            }
            let resp = rb.send().await.unwrap();
            let (s, body) = text(resp).await;
            assert_eq!(s, 401, "{method} {path}");
            assert!(body.contains("open the link your therapist sent you"));
            assert!(!body.contains("Casey"));
        }
    }
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &w.owner.user.actor(), w.client).await.unwrap();
    assert!(measures::list_responses(&app.store, &ctx, &access, None).await.unwrap().is_empty());
}
both_engines!(staff_credentials_do_not_open_the_portal);

async fn a_session_reaches_only_its_own_client(app: TestApp) {
    let w = &app.world;
    let dana = new_client(&app.store, &app.clock, &w.owner, "Dana Doe").await;
    for c in [w.client, dana] {
        schedule(&app, c, &w.owner, "phq9", Frequency::Weekly).await;
    }
    let casey = open(&app, &link(&app, w.client, &w.owner, 30, None).await).await;
    let dana_cookie = open(&app, &link(&app, dana, &w.owner, 30, None).await).await;
    let (s, body) = post_form(&app, "/portal/forms/phq9", &casey, &phq9(["3", "3", "3", "2", "2", "2", "1", "1", "0"])).await;
    assert_eq!(s, 200, "{body}");
    // Dana's page: her name, none of Casey's scores.
    let (s, body) = text(app.page("GET", "/portal", Some(&dana_cookie), None).await).await;
    assert_eq!(s, 200);
    assert!(body.contains("Hello, Dana"));
    for other in ["Casey", "Bailey", "Olive", "<svg"] {
        assert!(!body.contains(other), "{other} shown to Dana");
    }
    // Dana's answers are stored for Dana only.
    let (s, _) = post_form(&app, "/portal/forms/phq9", &dana_cookie, &phq9(["0"; 9])).await;
    assert_eq!(s, 200);
    let ctx = app.ctx();
    for (client, total) in [(w.client, 17), (dana, 0)] {
        let access = clients::record_access(&app.store, &ctx, &w.owner.user.actor(), client).await.unwrap();
        let list = measures::list_responses(&app.store, &ctx, &access, None).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].total, Some(total));
        assert_eq!(list[0].source, measures::ResponseSource::Portal);
    }
    let (_, body) = text(app.page("GET", "/portal", Some(&casey), None).await).await;
    assert!(body.contains("Hello, Casey") && !body.contains("Dana"));
    // Another practice's client cannot be reached either.
    let bailey = open(&app, &link(&app, w.b_client, &w.b_clinician, 30, None).await).await;
    let (_, body) = text(app.page("GET", "/portal", Some(&bailey), None).await).await;
    assert!(body.contains("Hello, Bailey") && !body.contains("Casey") && !body.contains("Dana"));
    let (s, body) = text(app.page("GET", "/portal/forms/phq9", Some(&bailey), None).await).await;
    assert_eq!(s, 409, "not assigned to Bailey: {body}");
}
both_engines!(a_session_reaches_only_its_own_client);

async fn safety_answers_show_crisis_resources(app: TestApp) {
    let w = &app.world;
    schedule(&app, w.client, &w.owner, "phq9", Frequency::Weekly).await;
    schedule(&app, w.client, &w.owner, "checkin", Frequency::Daily).await;
    let secret = link(&app, w.client, &w.owner, 30, None).await;
    let cookie = open(&app, &secret).await;
    let (s, body) = text(app.page("GET", "/portal/forms/phq9", Some(&cookie), None).await).await;
    assert_eq!(s, 200);
    assert!(body.contains("Thoughts that you would be better off dead") && body.contains("Pfizer"));
    let (s, body) = post_form(&app, "/portal/forms/phq9", &cookie, &phq9(["1", "1", "1", "1", "1", "1", "1", "1", "2"])).await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("If you are in danger now, call your local emergency number"));
    assert!(body.contains("Your therapist will see this response"));
    // The daily check-in's safety question too; a calm thank-you without it.
    let checkin = |harm: &'static str| {
        [
            ("item_mood", "4"),
            ("item_sleep", "5"),
            ("item_energy", "3"),
            ("item_work_study", "5"),
            ("item_relationships", "6"),
            ("item_harm_thoughts", harm),
            ("item_note", "A long day."),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<Vec<_>>()
    };
    let (s, body) = post_form(&app, "/portal/forms/checkin", &cookie, &checkin("1")).await;
    assert_eq!(s, 200);
    assert!(body.contains("If you are in danger now"));
    app.clock.advance(DAY);
    let cookie = open(&app, &secret).await; // portal sessions last two hours
    let (s, body) = post_form(&app, "/portal/forms/checkin", &cookie, &checkin("0")).await;
    assert_eq!(s, 200);
    assert!(body.contains("Thank you") && !body.contains("thoughts of harming yourself"));
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &w.owner.user.actor(), w.client).await.unwrap();
    let list = measures::list_responses(&app.store, &ctx, &access, None).await.unwrap();
    let flagged: Vec<(&str, bool)> = list.iter().map(|r| (r.instrument.as_str(), r.flags.iter().any(|f| f.as_str() == "safety"))).collect();
    assert_eq!(flagged.len(), 3);
    assert!(flagged.contains(&("phq9", true)) && flagged.contains(&("checkin", true)) && flagged.contains(&("checkin", false)));
    assert!(list.iter().all(|r| r.source == measures::ResponseSource::Portal));
    assert!(list.iter().any(|r| r.note.as_deref() == Some("A long day.")));
}
both_engines!(safety_answers_show_crisis_resources);

async fn forms_validate_and_refuse_unassigned(app: TestApp) {
    let w = &app.world;
    schedule(&app, w.client, &w.owner, "phq9", Frequency::Weekly).await;
    let cookie = open(&app, &link(&app, w.client, &w.owner, 30, None).await).await;
    // Not assigned, or not an instrument at all: refused, nothing stored.
    for path in ["/portal/forms/gad7", "/portal/forms/no-such-form"] {
        let (s, body) = text(app.page("GET", path, Some(&cookie), None).await).await;
        assert_eq!(s, 409, "{path}");
        assert!(body.contains("not asked you to complete"));
        let (s, _) = post_form(&app, path, &cookie, &[("item_q1".into(), "1".into())]).await;
        assert_eq!(s, 409);
    }
    // A complete, valid form is refused the same way, by the store as it stores: for an
    // instrument never assigned, and for one whose schedule ended after the form was opened.
    let gad7: Vec<(String, String)> = (1..=7).map(|i| (format!("item_q{i}"), "1".to_owned())).collect();
    let (s, body) = post_form(&app, "/portal/forms/gad7", &cookie, &gad7).await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("not asked you to complete"));
    let ctx = app.ctx();
    let access = clients::record_access(&app.store, &ctx, &w.owner.user.actor(), w.client).await.unwrap();
    let wsas = measures::set_schedule(&app.store, &ctx, &access, &InstrumentId::parse("wsas").unwrap(), Frequency::Once).await.unwrap();
    let (s, _) = text(app.page("GET", "/portal/forms/wsas", Some(&cookie), None).await).await;
    assert_eq!(s, 200);
    measures::remove_schedule(&app.store, &ctx, &access, wsas).await.unwrap();
    let wsas_form: Vec<(String, String)> =
        ["work", "home", "social", "private", "relationships"].iter().map(|i| (format!("item_{i}"), "2".to_owned())).collect();
    let (s, body) = post_form(&app, "/portal/forms/wsas", &cookie, &wsas_form).await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("not asked you to complete"));
    assert!(measures::list_responses(&app.store, &ctx, &access, None).await.unwrap().is_empty(), "nothing stored");
    // A missing answer: the form again, the answers kept, the item named.
    let mut form = phq9(["2", "1", "0", "1", "3", "0", "1", "0", "0"]);
    form.retain(|(k, _)| k != "item_q4");
    let (s, body) = post_form(&app, "/portal/forms/phq9", &cookie, &form).await;
    assert_eq!(s, 422);
    assert!(
        body.contains("Please answer &#34;Feeling tired or having little energy&#34;")
            || body.contains("Please answer &quot;Feeling tired"),
        "{body}"
    );
    assert!(body.contains("name=\"item_q5\" value=\"3\" checked"), "answers kept");
    // An answer out of range: named too.
    let (s, body) = post_form(&app, "/portal/forms/phq9", &cookie, &phq9(["7", "1", "0", "1", "3", "0", "1", "0", "0"])).await;
    assert_eq!(s, 422);
    assert!(body.contains("Little interest or pleasure in doing things"));
    // A double submission (same form key) is stored once.
    let mut form = phq9(["1"; 9]);
    form.push(("idempotency_key".into(), "k-123".into()));
    for _ in 0..2 {
        let (s, _) = post_form(&app, "/portal/forms/phq9", &cookie, &form).await;
        assert_eq!(s, 200);
    }
    assert_eq!(measures::list_responses(&app.store, &ctx, &access, None).await.unwrap().len(), 1);
}
both_engines!(forms_validate_and_refuse_unassigned);

async fn trends_due_list_logout_and_audit(app: TestApp) {
    let w = &app.world;
    schedule(&app, w.client, &w.owner, "phq9", Frequency::Weekly).await;
    schedule(&app, w.client, &w.owner, "checkin", Frequency::Daily).await;
    let secret = link(&app, w.client, &w.owner, 60, None).await;
    let cookie = open(&app, &secret).await;
    let (_, body) = text(app.page("GET", "/portal", Some(&cookie), None).await).await;
    assert!(body.contains("href=\"/portal/forms/phq9\"") && body.contains("href=\"/portal/forms/checkin\""), "{body}");
    let (s, _) = post_form(&app, "/portal/forms/phq9", &cookie, &phq9(["2", "2", "2", "2", "2", "2", "2", "2", "0"])).await;
    assert_eq!(s, 200);
    app.clock.advance(14 * DAY);
    let cookie = open(&app, &secret).await; // the first session has expired
    let (s, _) = post_form(&app, "/portal/forms/phq9", &cookie, &phq9(["1", "1", "1", "1", "1", "1", "1", "1", "1"])).await;
    assert_eq!(s, 200);
    let (s, body) = text(app.page("GET", "/portal", Some(&cookie), None).await).await;
    assert_eq!(s, 200);
    assert!(body.contains("Your last PHQ-9 score was 9 (mild), 7 points lower than when you started."), "{body}");
    assert!(body.contains("lower scores mean fewer difficulties"));
    assert!(body.contains("<svg") && body.contains("<table>"), "chart with its data table");
    assert!(!body.contains("href=\"/portal/forms/phq9\""), "PHQ-9 is done for this week");
    assert!(body.contains("href=\"/portal/forms/checkin\""));
    // Sign out: the cookie is cleared and the session is gone.
    let resp = app.page("POST", "/portal/logout", Some(&cookie), None).await;
    assert_eq!(resp.status(), 200);
    assert!(set_cookie(&resp).contains("Max-Age=0"));
    let (s, _) = text(app.page("GET", "/portal", Some(&cookie), None).await).await;
    assert_eq!(s, 401);
    // Every portal access is audited under the link, on the client's practice chain.
    let entries = portal_audit(&app, w.client).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for a in ["portal.open", "portal.name", "portal.due", "portal.response.list", "portal.response.create"] {
        assert!(actions.contains(&a), "{a} missing: {actions:?}");
    }
    assert!(entries.iter().all(|e| e.detail.contains("link=") && e.actor_id.is_none()));
    assert!(entries.iter().all(|e| !e.detail.contains(&secret)), "the secret is never audited");
}
both_engines!(trends_due_list_logout_and_audit);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_use_the_host_prefix() {
    let config = AppConfig { secure_cookies: true, ..AppConfig::default() };
    let app = common::spawn_with(common::Engine::Sqlite, config).await.unwrap();
    let w = &app.world;
    let secret = link(&app, w.client, &w.owner, 30, None).await;
    let resp = app.page("GET", &format!("/portal/{secret}"), None, None).await;
    assert_eq!(resp.status(), 303);
    let c = set_cookie(&resp);
    assert!(c.starts_with("__Host-concord_portal=") && c.contains("; Secure") && c.contains("Path=/;"), "{c}");
    let cookie = c.split(';').next().unwrap().to_owned();
    let (s, body) = text(app.page("GET", "/portal", Some(&cookie), None).await).await;
    assert_eq!(s, 200, "{body}");
}
