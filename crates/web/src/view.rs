//! Template view models. Every page carries a title and the navigation; askama escapes every
//! interpolated value, so client free text cannot inject markup.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct Nav {
    pub user_name: String,
    pub is_admin: bool,
    pub current: &'static str,
}

/// Renders a template; a rendering failure is a logged 500, never a panic.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// "2026-03-01 14:00" (UTC) for a Unix timestamp; "—" when absent.
pub fn fmt_ts(ts: Option<i64>) -> String {
    ts.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()).map_or_else(
        || "—".to_owned(),
        |d| format!("{:04}-{:02}-{:02} {:02}:{:02}", d.year(), u8::from(d.month()), d.day(), d.hour(), d.minute()),
    )
}

pub fn fmt_date(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts).map(|d| concord_domain::values::format_date(d.date())).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub message: String,
    /// On a client record that cannot be shown: where to ask for emergency access.
    pub emergency_link: Option<String>,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub error: Option<String>,
    pub email: String,
}

#[derive(Template)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "enrol.html")]
pub struct EnrolPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub required: bool,
    pub already_enabled: bool,
    pub secret: String,
    pub otpauth_uri: String,
    pub error: Option<String>,
    pub recovery_codes: Option<Vec<String>>,
}

pub struct CaseloadRow {
    /// Latest score and band per measure, with change since intake ("PHQ-9 12 moderate, 6 lower:
    /// reliable improvement"), and the PHQ-9 sparkline; shared with the page cache.
    pub scores: Option<std::sync::Arc<crate::view_cache::CaseloadMeasures>>,
    /// Scheduled measures that are overdue.
    pub overdue: Vec<String>,
    pub href: String,
    pub name: String,
    pub attended: i64,
    pub last: String,
    pub next: String,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "caseload.html")]
pub struct CaseloadPage {
    /// Overdue measures across the caseload: (client name, href, what, since).
    pub overdue: Vec<(String, String, String, String)>,
    /// Open prompts that want attention soon or today: (client name, href, prompt, urgency).
    pub attention: Vec<(String, String, &'static str, &'static str)>,
    pub title: String,
    pub nav: Option<Nav>,
    pub whole_practice: bool,
    pub query: String,
    pub include_archived: bool,
    pub clients: Vec<CaseloadRow>,
}

pub struct SessionView {
    pub transcript_href: String,
    pub when: String,
    pub minutes: i64,
    pub attendance: &'static str,
    pub attendance_class: &'static str,
}

#[derive(Template)]
#[template(path = "client.html")]
pub struct ClientPage {
    pub measures: crate::pages::measures::MeasuresSection,
    pub prompts: crate::pages::records::PromptSummary,
    pub title: String,
    pub nav: Option<Nav>,
    pub href: String,
    pub name: String,
    pub date_of_birth: String,
    pub archived: bool,
    pub break_glass: bool,
    pub attended: usize,
    pub care_team: Vec<String>,
    pub created: String,
    pub today: String,
    /// The sessions listed (the latest [`crate::pages::clients::SESSIONS_SHOWN`] unless all
    /// were asked for), newest first.
    pub sessions: Vec<SessionView>,
    /// How many sessions the client has in all.
    pub sessions_total: usize,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "client_form.html")]
pub struct ClientFormPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub action: String,
    pub cancel: String,
    pub name: String,
    pub date_of_birth: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "break_glass.html")]
pub struct BreakGlassPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub action: String,
    pub error: Option<String>,
}

pub struct TokenView {
    pub id: String,
    pub label: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub name: String,
    pub email: String,
    pub role: String,
    pub totp_enabled: bool,
    pub tokens: Vec<TokenView>,
    pub new_token: Option<String>,
    pub password_message: Option<String>,
    pub password_error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub break_glass_count: usize,
}

pub struct UserView {
    pub id: String,
    pub is_self: bool,
    pub disabled: bool,
    pub name: String,
    pub email: String,
    pub role: String,
    pub totp: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
pub struct AdminUsersPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub users: Vec<UserView>,
    pub error: Option<String>,
    pub message: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_clients.html")]
pub struct AdminClientsPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub query: String,
    pub clients: Vec<CaseloadRow>,
}

pub struct MemberView {
    pub id: String,
    pub name: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "care_team.html")]
pub struct CareTeamPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_name: String,
    pub base: String,
    pub erase_action: String,
    pub members: Vec<MemberView>,
    pub staff: Vec<MemberView>,
    pub error: Option<String>,
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub who: String,
    pub action: String,
    pub record: String,
    pub client: String,
    pub detail: String,
    pub request_id: String,
}

pub struct StaffOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub older_link: Option<String>,
    pub showing: String,
    pub chain_status: String,
    pub action: String,
    pub client: String,
    pub staff: Vec<StaffOption>,
    pub entries: Vec<AuditRow>,
}

pub struct GrantView {
    pub granted: String,
    pub user: String,
    pub client: String,
    pub reason: String,
    pub expires: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_break_glass.html")]
pub struct AdminBreakGlassPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub grants: Vec<GrantView>,
}

pub struct CodedLine {
    pub index: usize,
    pub speaker: &'static str,
    pub class: &'static str,
    pub codes: Vec<(String, &'static str)>,
    pub confidence: String,
    pub text: Option<String>,
}

pub struct MetricCell {
    pub label: &'static str,
    pub value: String,
    pub rating: String,
    /// `good`, `fair`, `below-fair` or `none`, for the badge colour.
    pub rating_class: &'static str,
    pub threshold: &'static str,
}

#[derive(Template)]
#[template(path = "transcript.html")]
pub struct TranscriptPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_name: String,
    pub client_href: String,
    pub trends_href: String,
    pub session_when: String,
    pub base: String,
    pub has_transcript: bool,
    pub texts_kept: bool,
    pub uploaded: String,
    pub model_version: String,
    pub metrics: Vec<MetricCell>,
    /// (key, label, selected)
    pub filters: Vec<(&'static str, &'static str, bool)>,
    pub lines: Vec<CodedLine>,
    pub hidden: usize,
    pub error: Option<String>,
    pub timeline: Option<crate::charts::ChartView>,
}

pub struct TrendRow {
    pub when: String,
    pub href: String,
    pub utterances: i64,
    pub metrics: Vec<MetricCell>,
}

#[derive(Template)]
#[template(path = "transcript_trends.html")]
pub struct TranscriptTrendPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_name: String,
    pub client_href: String,
    pub rows: Vec<TrendRow>,
    pub trend: Option<crate::charts::ChartView>,
}

#[derive(Template)]
#[template(path = "paper_form.html")]
pub struct PaperFormPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_name: String,
    pub client_href: String,
    pub action: String,
    pub q: crate::questionnaire::QuestionnaireView,
    pub date: String,
    pub time: String,
    pub source_paper: bool,
    pub error: Option<String>,
}

pub struct InstrumentRow {
    pub id: String,
    pub name: String,
    pub version: String,
    pub kind: &'static str,
    pub licence: String,
}

#[derive(Template)]
#[template(path = "admin_instruments.html")]
pub struct InstrumentsPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub instruments: Vec<InstrumentRow>,
    pub error: Option<String>,
    pub message: Option<String>,
}
