//! The client portal: a phone-first page reached by a personal link from the therapist. It
//! opens the link (with a PIN when the link has one), keeps a short portal session in its own
//! cookie, lists what is due, shows the client's own trends in plain language, and takes
//! questionnaires. It shows nothing else about the client: no sessions, no notes, no staff.
//!
//! Security: portal pages accept only a portal session (`PortalCaller`), never a staff cookie
//! or an API token, and every store call is scoped by the session's `PortalAccess`, so there
//! are no client ids in portal URLs to tamper with. The link's secret is in the path of the
//! link-opening routes only; the request log records route templates, never paths. Unknown
//! secrets count against the caller's address in the database throttle.

use crate::auth::{PageForm, ReqCtx, cookie_value};
use crate::charts::ChartView;
use crate::error::AppError;
use crate::questionnaire::{self, QuestionnaireView};
use crate::state::AppState;
use crate::view::{fmt_date, render};
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use concord_documents::{Band, MeasureChart, MeasurePoint, Threshold, measure_chart};
use concord_domain::measures::definition::{Direction, Response as ItemResponse};
use concord_domain::measures::score::{self, Answer, ScoreError};
use concord_domain::measures::{Instrument, InstrumentId};
use concord_domain::policy::PortalAccess;
use concord_store::accounts::{self, ThrottlePolicy};
use concord_store::measures::{self, NewResponse, PortalError, PortalResponse, ResponseSource};
use concord_store::{Ctx, StoreError};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The portal cookie: its own name, so a staff session and a portal session never mix.
pub const COOKIE: &str = "concord_portal";
/// The portal cookie's name when cookies are `Secure` (the `__Host-` prefix requires `Path=/`).
pub const SECURE_COOKIE: &str = "__Host-concord_portal";

/// Unknown link secrets from one address: 30 within 15 minutes lock the address out of the
/// link-opening routes for 15 minutes (guessing a 256-bit secret is hopeless; this keeps the
/// audit log and the database quiet).
pub const UNKNOWN_LINK_THROTTLE: ThrottlePolicy =
    ThrottlePolicy { max_failures: 30, window: time::Duration::minutes(15), lockout: time::Duration::minutes(15) };

fn cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies { SECURE_COOKIE } else { COOKIE }
}

/// `Set-Cookie` for a portal session (or for clearing it). HttpOnly; SameSite=Lax so that the
/// redirect after opening a link that was tapped in a mail or messaging app (a cross-site
/// navigation) still carries it; cross-site POSTs never do, and the CSRF layer refuses them.
fn portal_cookie(state: &AppState, session: Option<(&str, i64)>) -> HeaderValue {
    let (name, path, secure) = if state.config.secure_cookies { (SECURE_COOKIE, "/", "; Secure") } else { (COOKIE, "/portal", "") };
    let v = match session {
        Some((secret, max_age)) => format!("{name}={secret}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={}{secure}", max_age.max(0)),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_cookie(mut resp: Response, cookie: HeaderValue) -> Response {
    resp.headers_mut().append(SET_COOKIE, cookie);
    resp
}

// ---- pages ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "portal_message.html")]
pub struct MessagePage {
    pub title: String,
    pub signed_in: bool,
    pub heading: String,
    pub message: String,
    pub hint: Option<String>,
    pub alert: bool,
}

#[derive(Template)]
#[template(path = "portal_pin.html")]
pub struct PinPage {
    pub title: String,
    pub signed_in: bool,
    pub error: Option<String>,
}

pub struct DueView {
    pub href: String,
    pub name: String,
    pub when: String,
}

pub struct TrendView {
    pub name: String,
    pub sentence: String,
    pub direction: String,
    pub chart: ChartView,
}

pub struct CountView {
    pub name: String,
    pub sentence: String,
}

#[derive(Template)]
#[template(path = "portal_home.html")]
pub struct HomePage {
    pub title: String,
    pub signed_in: bool,
    pub first_name: String,
    pub due: Vec<DueView>,
    pub later: Vec<DueView>,
    pub trends: Vec<TrendView>,
    pub counts: Vec<CountView>,
}

#[derive(Template)]
#[template(path = "portal_form.html")]
pub struct FormPage {
    pub title: String,
    pub signed_in: bool,
    pub q: QuestionnaireView,
    pub action: String,
    pub idempotency_key: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal_thanks.html")]
pub struct ThanksPage {
    pub title: String,
    pub signed_in: bool,
    pub name: String,
    pub safety: bool,
    pub crisis_lines: &'static [concord_domain::records::CrisisLine],
}

fn message(status: StatusCode, heading: &str, message: &str, hint: Option<&str>, signed_in: bool) -> Response {
    let page = MessagePage {
        title: heading.to_owned(),
        signed_in,
        heading: heading.to_owned(),
        message: message.to_owned(),
        hint: hint.map(str::to_owned),
        alert: status.is_client_error() || status.is_server_error(),
    };
    (status, render(&page)).into_response()
}

/// A store failure as a portal page (never the staff error page with its links).
fn failure(e: AppError, signed_in: bool) -> Response {
    if let AppError::Internal(cause) = &e {
        tracing::error!(cause = %cause, "portal request failed");
    }
    let status = e.status();
    match e {
        AppError::NotFound => not_valid(),
        AppError::Unavailable | AppError::Internal(_) => message(
            status,
            "Something went wrong",
            "We could not load this page just now. Please try again in a few minutes.",
            None,
            signed_in,
        ),
        other => message(status, "Something went wrong", &other.public_message(), None, signed_in),
    }
}

fn store_failure(e: StoreError, signed_in: bool) -> Response {
    failure(e.into(), signed_in)
}

fn not_valid() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "This link is not valid",
        "Please check that you opened the whole link from your therapist's message.",
        Some("If it still does not work, please ask your therapist for a new link."),
        false,
    )
}

fn minutes_until(until: i64, now: i64) -> i64 {
    ((until - now + 59) / 60).max(1)
}

fn wait_text(minutes: i64) -> String {
    if minutes >= 60 {
        let hours = (minutes + 59) / 60;
        format!("{hours} hour{}", if hours == 1 { "" } else { "s" })
    } else {
        format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
    }
}

fn pin_page(status: StatusCode, error: Option<String>) -> Response {
    (status, render(&PinPage { title: "Enter your PIN".into(), signed_in: false, error })).into_response()
}

/// What a refused link shows. Dead links (expired, withdrawn, archived client) are 410.
fn portal_refusal(e: PortalError, now: i64, pin_given: bool) -> Response {
    let gone =
        |heading: &str, what: &str| message(StatusCode::GONE, heading, what, Some("Please ask your therapist for a new link."), false);
    match e {
        PortalError::NotFound => not_valid(),
        PortalError::Expired => gone("This link has expired", "Links stop working after a while, to keep your answers private."),
        PortalError::Revoked => gone("This link no longer works", "Your therapist has withdrawn this link."),
        PortalError::ClientInactive => gone("This link no longer works", "This link is no longer active."),
        PortalError::PinRequired if pin_given => pin_page(StatusCode::UNAUTHORIZED, Some("Please enter your PIN.".into())),
        PortalError::PinRequired => pin_page(StatusCode::OK, None),
        PortalError::WrongPin => pin_page(StatusCode::UNAUTHORIZED, Some("That PIN is not right. Please try again.".into())),
        PortalError::Locked { until } => message(
            StatusCode::TOO_MANY_REQUESTS,
            "Please wait a little",
            &format!("There have been too many wrong PINs for this link. Please try again in {}.", wait_text(minutes_until(until, now))),
            Some("If you have forgotten your PIN, please ask your therapist."),
            false,
        ),
        PortalError::Store(e) => store_failure(e, false),
    }
}

// ---- opening a link ---------------------------------------------------------------------

#[derive(Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pin: String,
}

/// `GET /portal/{secret}`: opens a link without a PIN, or asks for the PIN.
pub async fn open_link(
    State(state): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
    headers: axum::http::HeaderMap,
) -> Response {
    open(&state, &ctx, peer, &secret, None, &headers).await
}

/// `POST /portal/{secret}`: opens a link with its PIN.
pub async fn open_link_with_pin(
    State(state): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
    headers: axum::http::HeaderMap,
    PageForm(form): PageForm<PinForm>,
) -> Response {
    let pin = form.pin.trim().to_owned();
    open(&state, &ctx, peer, &secret, Some(pin.as_str()), &headers).await
}

async fn open(state: &AppState, ctx: &Ctx, peer: SocketAddr, secret: &str, pin: Option<&str>, headers: &axum::http::HeaderMap) -> Response {
    let ip_key = format!("portal-ip:{}", peer.ip());
    match accounts::throttle_locked_until(&state.store, ctx, &ip_key).await {
        Ok(Some(until)) => {
            return message(
                StatusCode::TOO_MANY_REQUESTS,
                "Please wait a little",
                &format!(
                    "Too many links that do not work were opened from here. Please try again in {}.",
                    wait_text(minutes_until(until, ctx.ts()))
                ),
                None,
                false,
            );
        }
        Ok(None) => {}
        Err(e) => return store_failure(e, false),
    }
    let pin_given = pin.is_some();
    let pin = pin.filter(|p| !p.is_empty());
    let access = match measures::open_portal(&state.store, ctx, secret, pin).await {
        Ok(a) => a,
        Err(PortalError::NotFound) => {
            if let Err(e) = accounts::throttle_failure(&state.store, ctx, &ip_key, UNKNOWN_LINK_THROTTLE).await {
                return store_failure(e, false);
            }
            return not_valid();
        }
        Err(e) => return portal_refusal(e, ctx.ts(), pin_given),
    };
    // A link opened again replaces any earlier portal session in this browser.
    if let Some(old) = cookie_value(headers, cookie_name(state))
        && let Err(e) = measures::end_portal_session(&state.store, &old).await
    {
        return store_failure(e, false);
    }
    match measures::create_portal_session(&state.store, ctx, &access).await {
        Ok((session, expires_at)) => {
            with_cookie(Redirect::to("/portal").into_response(), portal_cookie(state, Some((&session, expires_at - ctx.ts()))))
        }
        Err(e) => store_failure(e, false),
    }
}

// ---- the portal session -----------------------------------------------------------------

/// A caller with a live portal session. Staff cookies and API tokens are not portal sessions:
/// they get the same answer as no session at all.
pub struct PortalCaller {
    pub access: PortalAccess,
    pub ctx: Ctx,
    secret: String,
}

impl FromRequestParts<AppState> for PortalCaller {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ReqCtx(ctx)) = ReqCtx::from_request_parts(parts, state).await;
        let no_session = |clear: bool| {
            let resp = message(
                StatusCode::UNAUTHORIZED,
                "Please open your link",
                "To see your check-ins, please open the link your therapist sent you.",
                Some("For your privacy, you are signed out after a while. Opening the link again signs you back in."),
                false,
            );
            if clear { with_cookie(resp, portal_cookie(state, None)) } else { resp }
        };
        let Some(secret) = cookie_value(&parts.headers, cookie_name(state)) else { return Err(no_session(false)) };
        match measures::resume_portal(&state.store, &ctx, &secret).await {
            Ok(access) => Ok(PortalCaller { access, ctx, secret }),
            Err(PortalError::NotFound | PortalError::PinRequired | PortalError::WrongPin | PortalError::Locked { .. }) => {
                Err(no_session(true))
            }
            Err(PortalError::Store(e)) => Err(store_failure(e, false)),
            Err(e) => Err(with_cookie(portal_refusal(e, ctx.ts(), false), portal_cookie(state, None))),
        }
    }
}

// ---- home -------------------------------------------------------------------------------

fn band_label(def: &Instrument, band_id: Option<&str>) -> Option<String> {
    let id = band_id?;
    def.scoring().bands.as_ref()?.bands.iter().find(|b| b.id == id).map(|b| b.label.to_lowercase())
}

fn points(n: i32) -> String {
    format!("{n} point{}", if n == 1 { "" } else { "s" })
}

/// "Your last PHQ-9 score was 9 (mild), 9 points lower than when you started." Plain words,
/// no diagnosis: the band names are the questionnaire's own score ranges.
pub fn trend_sentence(def: &Instrument, scores: &[(i64, i32, Option<String>)]) -> String {
    let name = def.short_name();
    let (Some(first), Some(last)) = (scores.first(), scores.last()) else { return String::new() };
    let with_band = |total: i32, band: &Option<String>| match band {
        Some(b) => format!("{total} ({b})"),
        None => total.to_string(),
    };
    if scores.len() == 1 {
        return format!("Your {name} score on {} was {}.", fmt_date(last.0), with_band(last.1, &last.2));
    }
    let change = last.1 - first.1;
    let compared = match change {
        0 => "the same as when you started".to_owned(),
        c if c < 0 => format!("{} lower than when you started", points(-c)),
        c => format!("{} higher than when you started", points(c)),
    };
    format!("Your last {name} score was {}, {compared}.", with_band(last.1, &last.2))
}

fn direction_note(def: &Instrument) -> String {
    match def.scoring().direction {
        Direction::HigherIsWorse => format!("On the {}, lower scores mean fewer difficulties.", def.short_name()),
        Direction::HigherIsBetter => format!("On the {}, higher scores mean things are going better.", def.short_name()),
    }
}

fn trend_chart(def: &Instrument, scores: &[(i64, i32, Option<String>)]) -> ChartView {
    let scoring = def.scoring();
    let y_range = scoring.range.map_or((0.0, 1.0), |r| (f64::from(r.min), f64::from(r.max)));
    let bands = scoring
        .bands
        .as_ref()
        .map(|b| b.bands.iter().map(|b| Band { from: f64::from(b.min), to: f64::from(b.max), label: b.label.to_lowercase() }).collect())
        .unwrap_or_default();
    measure_chart(&MeasureChart {
        id_prefix: format!("portal-{}", def.id().as_str()),
        title: format!("Your {} scores", def.short_name()),
        y_range,
        bands,
        caseness: scoring.caseness.as_ref().map(|c| Threshold { value: f64::from(c.value), label: "cut-off".into() }),
        points: scores.iter().map(|(at, total, band)| MeasurePoint { at: *at, value: f64::from(*total), note: band.clone() }).collect(),
        sessions: Vec::new(),
        x_domain: (0, 0),
        utc_offset_seconds: 0,
        width: 340.0,
        height: 220.0,
        value_decimals: 0,
    })
    .into()
}

/// Charts and sentences for each instrument with totals; a count for the others (check-ins).
fn trends(registry: &concord_domain::measures::Registry, responses: &[PortalResponse]) -> (Vec<TrendView>, Vec<CountView>) {
    let mut order: Vec<&InstrumentId> = Vec::new();
    for r in responses {
        if !order.contains(&&r.instrument) {
            order.push(&r.instrument);
        }
    }
    let mut trends = Vec::new();
    let mut counts = Vec::new();
    for id in order {
        let Some(def) = registry.get(id.as_str()) else { continue };
        let mine: Vec<&PortalResponse> = responses.iter().filter(|r| &r.instrument == id).collect();
        let scores: Vec<(i64, i32, Option<String>)> =
            mine.iter().filter_map(|r| r.total.map(|t| (r.completed_at, t, band_label(def, r.band.as_deref())))).collect();
        if scores.is_empty() {
            let last = mine.last().map(|r| fmt_date(r.completed_at)).unwrap_or_default();
            let n = mine.len();
            counts.push(CountView {
                name: def.name().to_owned(),
                sentence: format!("You have completed this {n} time{}, most recently on {last}.", if n == 1 { "" } else { "s" }),
            });
        } else {
            trends.push(TrendView {
                name: def.name().to_owned(),
                sentence: trend_sentence(def, &scores),
                direction: direction_note(def),
                chart: trend_chart(def, &scores),
            });
        }
    }
    (trends, counts)
}

/// `GET /portal`: greeting, what is due now, and the client's own trends.
pub async fn home(State(state): State<AppState>, caller: PortalCaller) -> Response {
    match home_page(&state, &caller).await {
        Ok(page) => render(&page),
        Err(e) => store_failure(e, true),
    }
}

async fn home_page(state: &AppState, caller: &PortalCaller) -> Result<HomePage, StoreError> {
    let (store, ctx, access) = (&state.store, &caller.ctx, &caller.access);
    let first_name = measures::portal_client_first_name(store, ctx, access).await?;
    let registry = measures::practice_registry(store, ctx, access.practice_id()).await?;
    let due_list = measures::portal_due(store, ctx, access).await?;
    let responses = measures::portal_list_responses(store, ctx, access).await?;
    let mut due = Vec::new();
    let mut later = Vec::new();
    for d in &due_list {
        let name = registry.get(d.instrument.as_str()).map_or_else(|| d.instrument.as_str().to_owned(), |i| i.name().to_owned());
        if d.due.is_due {
            let when = match d.last_response_at {
                Some(t) => format!("Last done on {}", fmt_date(t)),
                None => "Not done yet".to_owned(),
            };
            due.push(DueView { href: format!("/portal/forms/{}", d.instrument), name, when });
        } else if let Some(at) = d.due.due_at {
            later.push(DueView { href: format!("/portal/forms/{}", d.instrument), name, when: format!("next on {}", fmt_date(at)) });
        }
    }
    let (trends, counts) = trends(&registry, &responses);
    Ok(HomePage { title: "Your page".into(), signed_in: true, first_name, due, later, trends, counts })
}

// ---- questionnaires ---------------------------------------------------------------------

/// The page for a questionnaire the client is not asked to complete (or that does not exist).
fn not_assigned() -> Response {
    message(
        StatusCode::CONFLICT,
        "This questionnaire is not on your list",
        "Your therapist has not asked you to complete this questionnaire at the moment.",
        Some("Your page shows what you are asked to complete."),
        true,
    )
}

/// The practice's definition of the instrument named in the path, if there is one.
async fn path_instrument(state: &AppState, caller: &PortalCaller, raw: &str) -> Result<Instrument, Response> {
    let Ok(id) = InstrumentId::parse(raw) else { return Err(not_assigned()) };
    match measures::practice_instrument(&state.store, &caller.ctx, caller.access.practice_id(), id.as_str()).await {
        Ok(Some(def)) => Ok(def),
        Ok(None) => Err(not_assigned()),
        Err(e) => Err(store_failure(e, true)),
    }
}

/// The instrument named in the path, if the client is asked to complete it now.
async fn assigned_instrument(state: &AppState, caller: &PortalCaller, raw: &str) -> Result<Instrument, Response> {
    let def = path_instrument(state, caller, raw).await?;
    require_assigned(state, caller, &def).await?;
    Ok(def)
}

/// The "not on your list" page unless the client has an active schedule for `def`.
async fn require_assigned(state: &AppState, caller: &PortalCaller, def: &Instrument) -> Result<(), Response> {
    let due = measures::portal_due(&state.store, &caller.ctx, &caller.access).await.map_err(|e| store_failure(e, true))?;
    if due.iter().any(|d| d.instrument == *def.id()) { Ok(()) } else { Err(not_assigned()) }
}

/// A submission refused before anything was stored: the form again, with the answers given and
/// what to correct, when the client is asked to complete it; else the "not on your list" page.
async fn form_again(
    state: &AppState,
    caller: &PortalCaller,
    def: &Instrument,
    answers: &HashMap<String, String>,
    key: String,
    (status, msg): (StatusCode, String),
) -> Response {
    match require_assigned(state, caller, def).await {
        Ok(()) => (status, render(&form_page(def, answers, key, Some(msg)))).into_response(),
        Err(resp) => resp,
    }
}

fn new_idempotency_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn form_page(def: &Instrument, previous: &HashMap<String, String>, key: String, error: Option<String>) -> FormPage {
    FormPage {
        title: def.name().to_owned(),
        signed_in: true,
        q: questionnaire::view(def, previous),
        action: format!("/portal/forms/{}", def.id()),
        idempotency_key: key,
        error,
    }
}

/// `GET /portal/forms/{instrument}`.
pub async fn form(State(state): State<AppState>, caller: PortalCaller, Path(instrument): Path<String>) -> Response {
    match assigned_instrument(&state, &caller, &instrument).await {
        Ok(def) => render(&form_page(&def, &HashMap::new(), new_idempotency_key(), None)),
        Err(resp) => resp,
    }
}

/// Every answer item must be answered, except unscored ones that raise no flag (the PHQ-9's
/// difficulty question). The message names the first unanswered item.
fn first_unanswered(def: &Instrument, answers: &[Answer]) -> Option<String> {
    let risk_items: Vec<&str> = def.risk_rules().iter().map(|r| r.item.as_str()).collect();
    def.items()
        .iter()
        .filter(|i| !matches!(i.response, ItemResponse::Text { .. }))
        .zip(answers.iter())
        .find(|(item, answer)| (item.scored || risk_items.contains(&item.id.as_str())) && matches!(answer, Answer::Missing))
        .map(|(item, _)| item.text.clone())
}

fn score_message(def: &Instrument, e: &ScoreError) -> String {
    match e {
        ScoreError::OutOfRange { item, .. } | ScoreError::NotApplicableNotAllowed { item, .. } => {
            let text = def.item(item).map_or_else(|| item.clone(), |i| i.text.clone());
            format!("Please choose one of the answers offered for \"{text}\".")
        }
        ScoreError::WrongLength { .. } => "Some answers were missing. Please answer every question.".to_owned(),
    }
}

/// `POST /portal/forms/{instrument}`: scores and saves the answers, then says thank you (with
/// crisis resources when an answer raised the safety flag). Whether the client is asked to
/// complete it is checked by the store as it stores (an unassigned one is refused, nothing
/// stored), so a submission reads no schedules; a refused one does, to choose its page.
pub async fn submit(
    State(state): State<AppState>,
    caller: PortalCaller,
    Path(instrument): Path<String>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Response {
    let def = match path_instrument(&state, &caller, &instrument).await {
        Ok(def) => def,
        Err(resp) => return resp,
    };
    let key = form
        .get("idempotency_key")
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .unwrap_or_else(new_idempotency_key);
    let input = match checked_input(&def, &form, caller.ctx.ts(), &key) {
        Ok(input) => input,
        Err(msg) => return form_again(&state, &caller, &def, &form, key, (StatusCode::UNPROCESSABLE_ENTITY, msg)).await,
    };
    match measures::portal_record_response(&state.store, &caller.ctx, &caller.access, input).await {
        Ok(record) => render(&ThanksPage {
            title: "Thank you".into(),
            signed_in: true,
            name: def.name().to_owned(),
            safety: record.flags.iter().any(|f| f.as_str() == "safety"),
            crisis_lines: &concord_domain::records::CRISIS_LINES,
        }),
        Err(StoreError::Invalid(m)) => form_again(&state, &caller, &def, &form, key, (StatusCode::UNPROCESSABLE_ENTITY, m)).await,
        Err(StoreError::NotAssigned) => not_assigned(),
        Err(StoreError::Conflict(_)) => {
            let msg = "This form was already sent with different answers. Please check your answers and send them again.";
            form_again(&state, &caller, &def, &form, new_idempotency_key(), (StatusCode::CONFLICT, msg.into())).await
        }
        Err(e) => store_failure(e, true),
    }
}

/// The answers of a submitted form, scored, as a portal response dated `now`; else what the
/// client should correct.
fn checked_input(def: &Instrument, form: &HashMap<String, String>, now: i64, key: &str) -> Result<NewResponse, String> {
    let (answers, note) = questionnaire::answers_from_form(def, form).map_err(|e| e.public_message())?;
    if let Some(text) = first_unanswered(def, answers.as_slice()) {
        return Err(format!("Please answer \"{text}\"."));
    }
    let score = score::score(def, &answers).map_err(|e| score_message(def, &e))?;
    Ok(NewResponse {
        instrument: def.id().clone(),
        instrument_version: def.version().to_owned(),
        answers,
        score,
        completed_at: now,
        source: ResponseSource::Portal,
        note,
        idempotency_key: Some(key.to_owned()),
    })
}

/// `POST /portal/logout`: ends the portal session and clears its cookie.
pub async fn logout(State(state): State<AppState>, caller: PortalCaller) -> Response {
    if let Err(e) = measures::end_portal_session(&state.store, &caller.secret).await {
        return store_failure(e, true);
    }
    let page =
        message(StatusCode::OK, "You have signed out", "Thank you. To come back, open the link from your therapist again.", None, false);
    with_cookie(page, portal_cookie(&state, None))
}
