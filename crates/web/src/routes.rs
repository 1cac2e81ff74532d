//! Every route the application serves, with who may call it. The router is built against
//! this table (a route missing here stops the app from starting), the OpenAPI document is
//! generated from it, and the authorization matrix test walks it.

/// Who a route is for; the authorization matrix derives its expectations from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone (login page, health, static assets).
    Public,
    /// Any signed-in staff member (page) — nothing client-specific in the path.
    Staff,
    /// A signed-in staff member on the client's care team (page, `{id}` is a client).
    StaffClient,
    /// A signed-in staff member of the client's practice who is NOT on its care team, asking
    /// for emergency access (`{id}` is a client).
    BreakGlass,
    /// A signed-in practice admin (page).
    Admin,
    /// A practice admin acting on a client of their practice (page).
    AdminClient,
    /// A signed-in session still completing its second factor.
    PartialSession,
    /// Any API token holder.
    Api,
    /// An API token holder on the client's care team (`{id}` is a client).
    ApiClient,
    /// An API token holder who is a practice admin, acting on a client of their practice.
    ApiAdminClient,
    /// An API token holder who is a practice admin (practice-wide, no client in the path).
    ApiAdmin,
    /// An API token holder on the care team of the client who owns the record named in the
    /// path (a prompt, a note, a decision, a dossier): the store resolves the owner, then the
    /// same care-team decision as [`Audience::ApiClient`] applies.
    ApiClientResource,
    /// A client with a live portal session (opened from their personal link). Staff cookies
    /// and API tokens are not portal sessions; the session reaches only its own client.
    Portal,
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub audience: Audience,
    pub summary: &'static str,
}

const fn r(method: &'static str, path: &'static str, audience: Audience, summary: &'static str) -> RouteSpec {
    RouteSpec { method, path, audience, summary }
}

use Audience::*;

pub const ROUTES: &[RouteSpec] = &[
    r("GET", "/healthz", Public, "Liveness and database check"),
    r("GET", "/metrics", Public, "Prometheus metrics (counts only, no client data)"),
    r("GET", "/api/openapi.json", Public, "This API's OpenAPI document"),
    r("GET", "/static/{file}", Public, "Embedded CSS and JavaScript"),
    r("GET", "/login", Public, "Sign-in page"),
    r("POST", "/login", Public, "Sign in with email and password"),
    r("GET", "/login/second-factor", PartialSession, "Second-factor page"),
    r("POST", "/login/second-factor", PartialSession, "Submit a TOTP or recovery code"),
    r("POST", "/logout", PartialSession, "Sign out"),
    r("GET", "/", Staff, "Home: redirects to the caseload"),
    r("GET", "/caseload", Staff, "Caseload with search by name"),
    r("GET", "/clients/new", Staff, "New client form"),
    r("POST", "/clients", Staff, "Create a client"),
    r("GET", "/clients/{id}", StaffClient, "Client record: overview and sessions"),
    r("GET", "/clients/{id}/edit", StaffClient, "Edit client form"),
    r("POST", "/clients/{id}/edit", StaffClient, "Save client changes"),
    r("POST", "/clients/{id}/archive", StaffClient, "Archive a client"),
    r("POST", "/clients/{id}/restore", StaffClient, "Restore an archived client"),
    r("POST", "/clients/{id}/sessions", StaffClient, "Record a session"),
    r("GET", "/clients/{id}/measures/new", StaffClient, "Enter a completed questionnaire (?instrument=)"),
    r("POST", "/clients/{id}/measures/new", StaffClient, "Save a completed questionnaire with its date"),
    r("POST", "/clients/{id}/schedules", StaffClient, "Schedule a measure (every session, weekly, daily, once)"),
    r("POST", "/clients/{id}/schedules/{schedule_id}/remove", StaffClient, "Stop a measurement schedule"),
    r("POST", "/clients/{id}/portal-links", StaffClient, "Create a client portal link (shown once)"),
    r("POST", "/clients/{id}/portal-links/{link_id}/revoke", StaffClient, "Revoke a client portal link"),
    r("GET", "/clients/{id}/transcripts", StaffClient, "MI feedback across the client's sessions"),
    r("GET", "/clients/{id}/sessions/{session_id}/transcript", StaffClient, "A session's coded transcript, or the upload form"),
    r("POST", "/clients/{id}/sessions/{session_id}/transcript", StaffClient, "Upload and code a session transcript"),
    r(
        "POST",
        "/clients/{id}/sessions/{session_id}/transcript/discard-text",
        StaffClient,
        "Discard a transcript's text, keeping codes and metrics",
    ),
    r("GET", "/clients/{id}/prompts", StaffClient, "Prompts with evidence, timing and the conversation guide"),
    r("POST", "/clients/{id}/prompts/{prompt_id}/resolve", StaffClient, "Document a response to a prompt"),
    r("GET", "/clients/{id}/safety-plan", StaffClient, "The client's safety plan (edit; earlier versions with ?version=)"),
    r("POST", "/clients/{id}/safety-plan", StaffClient, "Save the safety plan as a new version"),
    r("GET", "/clients/{id}/safety-plan/print", StaffClient, "The safety plan, printable"),
    r("GET", "/clients/{id}/notes", StaffClient, "Session notes and a new-note form"),
    r("POST", "/clients/{id}/notes", StaffClient, "Write a draft note"),
    r("GET", "/clients/{id}/notes/{note_id}", StaffClient, "A note: edit and sign a draft, or add an addendum"),
    r("POST", "/clients/{id}/notes/{note_id}/edit", StaffClient, "Save a draft note (a signed note is refused)"),
    r("POST", "/clients/{id}/notes/{note_id}/sign", StaffClient, "Sign a note"),
    r("POST", "/clients/{id}/notes/{note_id}/addenda", StaffClient, "Add an addendum to a signed note"),
    r("GET", "/clients/{id}/timeline", StaffClient, "Medication conversations, referrals, responses and prompt outcomes in date order"),
    r("GET", "/clients/{id}/break-glass", BreakGlass, "Emergency access request form"),
    r("POST", "/clients/{id}/break-glass", BreakGlass, "Request emergency access"),
    r("GET", "/account", Staff, "Account: second factor and API tokens"),
    r("POST", "/account/password", Staff, "Change your password"),
    r("POST", "/account/tokens", Staff, "Create a personal API token"),
    r("POST", "/account/tokens/{token_id}/revoke", Staff, "Revoke one of your API tokens"),
    r("GET", "/account/second-factor", PartialSession, "Set up a second factor"),
    r("POST", "/account/second-factor", PartialSession, "Confirm second-factor setup"),
    r("GET", "/admin", Admin, "Administration home"),
    r("GET", "/admin/users", Admin, "Staff accounts"),
    r("POST", "/admin/users", Admin, "Add a staff account"),
    r("POST", "/admin/users/{user_id}/disable", Admin, "Disable a staff account (signs it out everywhere)"),
    r("POST", "/admin/users/{user_id}/enable", Admin, "Re-enable a staff account"),
    r("GET", "/admin/clients", Admin, "Client directory and care teams"),
    r("GET", "/admin/clients/{id}/care-team", AdminClient, "Manage a client's care team"),
    r("POST", "/admin/clients/{id}/care-team", AdminClient, "Add a staff member to a care team"),
    r("POST", "/admin/clients/{id}/care-team/{user_id}/remove", AdminClient, "Remove a staff member from a care team"),
    r("POST", "/admin/clients/{id}/erase", AdminClient, "Erase a client (destroys their data key)"),
    r("GET", "/admin/instruments", Admin, "Instruments: shipped, practice forms and imports"),
    r("POST", "/admin/instruments", Admin, "Import an instrument definition the practice holds a licence for"),
    r("GET", "/admin/guide", Admin, "Prompt thresholds and the conversation guide"),
    r("POST", "/admin/guide", Admin, "Edit or add a conversation-guide entry"),
    r("POST", "/admin/guide/thresholds", Admin, "Set the practice's prompt thresholds"),
    r("GET", "/admin/audit", Admin, "Audit log with filters"),
    r("GET", "/admin/break-glass", Admin, "Break-glass grants for review"),
    r("GET", "/api/v1/me", Api, "The token's user"),
    r("GET", "/api/v1/clients", Api, "List the clients you may see (search with ?q=)"),
    r("POST", "/api/v1/clients", Api, "Create a client; the creating clinician joins the care team"),
    r("GET", "/api/v1/clients/{id}", ApiClient, "Read a client"),
    r("PATCH", "/api/v1/clients/{id}", ApiClient, "Change a client's name, date of birth or status"),
    r("GET", "/api/v1/clients/{id}/sessions", ApiClient, "List a client's sessions"),
    r("POST", "/api/v1/clients/{id}/sessions", ApiClient, "Record a session"),
    r("POST", "/api/v1/clients/{id}/sessions/{session_id}/transcript", ApiClient, "Code a session transcript (MI feedback) and store it"),
    r("GET", "/api/v1/clients/{id}/sessions/{session_id}/transcript", ApiClient, "A session's coded transcript"),
    r("POST", "/api/v1/clients/{id}/responses", ApiClient, "Record a completed questionnaire; returns its score"),
    r("GET", "/api/v1/clients/{id}/responses", ApiClient, "A client's questionnaire responses (filter with ?instrument=)"),
    r("GET", "/api/v1/clients/{id}/outcomes", ApiClient, "Per-measure change and the episode outcome (NHS Talking Therapies)"),
    r("POST", "/api/v1/clients/{id}/portal-link", ApiClient, "Create a client portal link"),
    r("GET", "/api/v1/instruments", Api, "The practice's instruments (shipped and imported)"),
    r("GET", "/api/v1/instruments/{instrument}", Api, "One instrument's full definition"),
    r("POST", "/api/v1/instruments", ApiAdmin, "Import an instrument definition (our format or FHIR Questionnaire; admins)"),
    r("GET", "/api/v1/clients/{id}/care-team", ApiClient, "List a client's care team"),
    r("POST", "/api/v1/clients/{id}/care-team", ApiAdminClient, "Add a staff member to the care team (admins)"),
    r("DELETE", "/api/v1/clients/{id}/care-team/{user_id}", ApiAdminClient, "Remove a staff member from the care team (admins)"),
    r("GET", "/api/v1/clients/{id}/prompts", ApiClient, "A client's prompts (filter with ?status=open|deferred|resolved|all)"),
    r("POST", "/api/v1/prompts/{id}/resolve", ApiClientResource, "Resolve or defer a prompt with a documented response"),
    r("GET", "/api/v1/clients/{id}/safety-plan", ApiClient, "The client's current safety plan, with crisis lines"),
    r("PUT", "/api/v1/clients/{id}/safety-plan", ApiClient, "Save the client's safety plan as a new version"),
    r("GET", "/api/v1/clients/{id}/notes", ApiClient, "A client's session notes (?kind=progress|process|all)"),
    r("POST", "/api/v1/clients/{id}/notes", ApiClient, "Write a draft session note, optionally with a medication conversation"),
    r("GET", "/api/v1/notes/{id}", ApiClientResource, "A note with its addenda"),
    r("PATCH", "/api/v1/notes/{id}", ApiClientResource, "Change a draft note (a signed note answers 409)"),
    r("POST", "/api/v1/notes/{id}/sign", ApiClientResource, "Sign a note: from now on it is immutable"),
    r("POST", "/api/v1/notes/{id}/addenda", ApiClientResource, "Add an addendum to a signed note"),
    r(
        "GET",
        "/api/v1/clients/{id}/timeline",
        ApiClient,
        "Medication conversations, referrals, responses and prompt outcomes in date order",
    ),
    // Shared decision making (issue 5).
    r("GET", "/library", Staff, "Psychoeducation library: medication classes and non-drug strategies (for clinician review)"),
    r("POST", "/library", Staff, "Add a psychoeducation entry"),
    r("POST", "/library/{entry_id}", Staff, "Edit a psychoeducation entry of your practice"),
    r(
        "GET",
        "/clients/{id}/decisions",
        StaffClient,
        "Decision worksheet: options, values, balance grid, SURE, the client's voice, dossiers",
    ),
    r("POST", "/clients/{id}/decisions", StaffClient, "Start a decision in the client's words"),
    r(
        "POST",
        "/clients/{id}/decisions/{decision_id}",
        StaffClient,
        "Save the decision worksheet (action: save, status, add_option, add_criterion, sure)",
    ),
    r("POST", "/clients/{id}/dossiers", StaffClient, "Generate a decision dossier snapshot"),
    r("GET", "/clients/{id}/dossiers/{dossier_id}", StaffClient, "Download a dossier snapshot (PDF), exactly as generated"),
    r("GET", "/clients/{id}/dossier/print", StaffClient, "The decision dossier as a printable page, from the record as it is now"),
    r("POST", "/api/v1/clients/{id}/decisions", ApiClient, "Start a decision in the client's words; returns its id"),
    r("GET", "/api/v1/clients/{id}/decisions", ApiClient, "A client's decisions, newest first"),
    r("GET", "/api/v1/decisions/{id}", ApiClientResource, "A decision with its options, criteria, ratings, balance grid and SURE"),
    r("PATCH", "/api/v1/decisions/{id}", ApiClientResource, "Change a decision: question, role, status, the client's voice, balance grid"),
    r("POST", "/api/v1/decisions/{id}/options", ApiClientResource, "Add an option (the client's own), with IPDAS entries"),
    r("POST", "/api/v1/decisions/{id}/criteria", ApiClientResource, "Add a criterion the client names, with its importance 0-10"),
    r("PATCH", "/api/v1/decisions/{id}/criteria/{criterion_id}", ApiClientResource, "Change a criterion's importance (0-10)"),
    r("PUT", "/api/v1/decisions/{id}/ratings", ApiClientResource, "Set how well an option fits a criterion (0-10)"),
    r(
        "GET",
        "/api/v1/decisions/{id}/comparison",
        ApiClientResource,
        "Weighted fit of each option and its sensitivity: a mirror, not a recommendation",
    ),
    r("POST", "/api/v1/decisions/{id}/sure", ApiClientResource, "Score the SURE test (4 yes/no answers): conflict and what is missing"),
    r("POST", "/api/v1/clients/{id}/dossiers", ApiClient, "Generate a decision dossier (PDF) as a new immutable snapshot"),
    r("GET", "/api/v1/clients/{id}/dossiers", ApiClient, "A client's dossier snapshots, newest first"),
    r("GET", "/api/v1/dossiers/{id}.pdf", ApiClientResource, "A dossier snapshot's PDF, exactly as generated"),
    r("GET", "/portal/{secret}", Public, "Client portal: open a personal link (asks for the PIN when it has one)"),
    r("POST", "/portal/{secret}", Public, "Client portal: open a personal link with its PIN"),
    r("GET", "/portal", Portal, "Client portal: what is due, and the client's own trends"),
    r("GET", "/portal/forms/{instrument}", Portal, "Client portal: a questionnaire to complete"),
    r("POST", "/portal/forms/{instrument}", Portal, "Client portal: submit a questionnaire"),
    r("GET", "/portal/safety-plan", Portal, "Client portal: the client's current safety plan and crisis lines"),
    r(
        "GET",
        "/portal/decision",
        Portal,
        "Client portal: the client's decision worksheet (statement, weights, balance grid, questions, SURE)",
    ),
    r("POST", "/portal/decision", Portal, "Client portal: save the decision worksheet or score SURE"),
    r("POST", "/portal/logout", Portal, "Client portal: sign out"),
];

pub fn find(method: &str, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}
