//! Administration: staff accounts, client directory and care teams, erasure, audit log and
//! break-glass review. Every handler takes the `Admin` extractor.

use super::{nav, non_empty};
use crate::auth::{Admin, PageForm, parse_path_id};
use crate::error::{AppError, PageError};
use crate::pages::clients::caseload_rows;
use crate::state::AppState;
use crate::view::{
    AdminBreakGlassPage, AdminClientsPage, AdminPage, AdminUsersPage, AuditPage, AuditRow, CareTeamPage, GrantView, InstrumentRow,
    InstrumentsPage, MemberView, StaffOption, UserView, fmt_ts, render,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::ids::{ClientId, UserId};
use concord_domain::policy;
use concord_domain::values::{Email, NewPassword, PersonName, Role};
use concord_store::accounts::{self, NewUser};
use concord_store::{audit, clients, passwords};
use serde::Deserialize;

pub async fn admin_home(State(state): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    let active = clients::count_active_break_glass(&state.store, &admin.staff.ctx, &admin.access).await?;
    Ok(render(&AdminPage {
        title: "Administration".into(),
        nav: nav(&admin.staff, "admin"),
        break_glass_count: usize::try_from(active).unwrap_or(0),
    }))
}

async fn users_page(state: &AppState, admin: &Admin, error: Option<String>, message: Option<String>) -> Result<AdminUsersPage, PageError> {
    let users = accounts::list_users(&state.store, admin.access.practice_id()).await?;
    Ok(AdminUsersPage {
        title: "Staff accounts".into(),
        nav: nav(&admin.staff, "admin"),
        users: users
            .into_iter()
            .map(|u| UserView {
                id: u.id.to_string(),
                is_self: u.id == admin.staff.user().id,
                disabled: u.disabled,
                name: u.name,
                email: u.email,
                role: u.role.to_string(),
                totp: u.totp_enabled,
            })
            .collect(),
        error,
        message,
    })
}

pub async fn users(State(state): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    Ok(render(&users_page(&state, &admin, None, None).await?))
}

#[derive(Deserialize)]
pub struct UserForm {
    name: String,
    email: String,
    role: String,
    password: String,
}

pub async fn add_user(State(state): State<AppState>, admin: Admin, PageForm(form): PageForm<UserForm>) -> Result<Response, PageError> {
    let parsed = (|| {
        Ok::<_, concord_domain::values::ValueError>((
            PersonName::parse(&form.name)?,
            Email::parse(&form.email)?,
            form.role.parse::<Role>()?,
            NewPassword::parse(&form.password)?,
        ))
    })();
    let (name, email, role, password) = match parsed {
        Ok(v) => v,
        Err(e) => {
            return Ok(
                (StatusCode::UNPROCESSABLE_ENTITY, render(&users_page(&state, &admin, Some(e.to_string()), None).await?)).into_response()
            );
        }
    };
    let pw = password.expose().to_owned();
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&pw)).await.map_err(|e| AppError::Internal(e.to_string()))??;
    let new = NewUser { practice_id: admin.access.practice_id(), email: &email, name: &name, role, password_hash: hash };
    match accounts::create_user(&state.store, &admin.staff.ctx, Some(&admin.staff.actor()), new).await {
        Ok(_) => Ok(render(&users_page(&state, &admin, None, Some(format!("Added {}.", name.as_str()))).await?)),
        Err(concord_store::StoreError::Conflict(m)) => {
            Ok((StatusCode::CONFLICT, render(&users_page(&state, &admin, Some(m), None).await?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DirectoryQuery {
    q: Option<String>,
}

pub async fn clients_directory(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<DirectoryQuery>,
) -> Result<Response, PageError> {
    let query = non_empty(q.q).unwrap_or_default();
    let scope = policy::caseload_scope(&admin.staff.actor());
    let list = clients::list_clients(&state.store, &admin.staff.ctx, &scope, Some(&query), true).await?;
    Ok(render(&AdminClientsPage {
        title: "Clients and care teams".into(),
        nav: nav(&admin.staff, "admin"),
        query,
        clients: caseload_rows(&list, |c| format!("/admin/clients/{}/care-team", c.id)),
    }))
}

async fn care_team_page(state: &AppState, admin: &Admin, id: ClientId, error: Option<String>) -> Result<CareTeamPage, PageError> {
    let access = clients::care_team_access(&state.store, &admin.staff.ctx, &admin.staff.actor(), id).await?;
    let (client_name, team) = clients::care_team_admin_view(&state.store, &admin.staff.ctx, &access).await?;
    let staff = accounts::list_users(&state.store, admin.access.practice_id()).await?;
    Ok(CareTeamPage {
        title: "Care team".into(),
        nav: nav(&admin.staff, "admin"),
        client_name,
        base: format!("/admin/clients/{id}/care-team"),
        erase_action: format!("/admin/clients/{id}/erase"),
        staff: staff
            .into_iter()
            .filter(|u| !u.disabled && !team.iter().any(|m| m.user_id == u.id))
            .map(|u| MemberView { id: u.id.to_string(), name: u.name, role: u.role.to_string() })
            .collect(),
        members: team.into_iter().map(|m| MemberView { id: m.user_id.to_string(), name: m.name, role: m.role.to_string() }).collect(),
        error,
    })
}

pub async fn care_team(State(state): State<AppState>, admin: Admin, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    Ok(render(&care_team_page(&state, &admin, id, None).await?))
}

#[derive(Deserialize)]
pub struct MemberForm {
    user_id: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    PageForm(form): PageForm<MemberForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::care_team_access(&state.store, &admin.staff.ctx, &admin.staff.actor(), id).await?;
    let user_id: Result<UserId, _> = form.user_id.parse();
    let result = match user_id {
        Ok(u) => clients::add_to_care_team(&state.store, &admin.staff.ctx, &access, u).await,
        Err(_) => Err(concord_store::StoreError::Invalid("choose a staff member".into())),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/clients/{id}/care-team")).into_response()),
        Err(concord_store::StoreError::Invalid(m)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&care_team_page(&state, &admin, id, Some(m)).await?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_member(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let user_id: UserId = parse_path_id(&user_id)?;
    let access = clients::care_team_access(&state.store, &admin.staff.ctx, &admin.staff.actor(), id).await?;
    clients::remove_from_care_team(&state.store, &admin.staff.ctx, &access, user_id).await?;
    Ok(Redirect::to(&format!("/admin/clients/{id}/care-team")).into_response())
}

#[derive(Deserialize)]
pub struct EraseForm {
    confirm: String,
}

pub async fn erase(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    PageForm(form): PageForm<EraseForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::erasure_access(&state.store, &admin.staff.ctx, &admin.staff.actor(), id).await?;
    if form.confirm.trim() != "ERASE" {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&care_team_page(&state, &admin, id, Some("Type ERASE to confirm erasure.".into())).await?),
        )
            .into_response());
    }
    clients::erase_client(&state.store, &admin.staff.ctx, &access).await?;
    state.views.forget(id);
    Ok(Redirect::to("/admin/clients").into_response())
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    action: Option<String>,
    actor: Option<String>,
    client: Option<String>,
    before: Option<String>,
}

const AUDIT_PAGE: i64 = 200;

pub async fn audit_log(State(state): State<AppState>, admin: Admin, Query(q): Query<AuditQuery>) -> Result<Response, PageError> {
    let practice = admin.access.practice_id();
    let actor = non_empty(q.actor);
    let client = non_empty(q.client);
    let action = non_empty(q.action);
    let before_seq = non_empty(q.before).and_then(|b| b.parse::<i64>().ok());
    let filter =
        audit::AuditFilter { actor_id: actor.clone(), action: action.clone(), client_id: client.clone(), before_seq, limit: AUDIT_PAGE };
    let entries = audit::list(state.store.pool(), &practice.to_string(), &filter).await?;
    let older_link = match entries.last() {
        Some(last) if i64::try_from(entries.len()).unwrap_or(0) == AUDIT_PAGE => {
            let mut link = format!("/admin/audit?before={}", last.seq);
            for (k, v) in [("action", &action), ("actor", &actor), ("client", &client)] {
                if let Some(v) = v {
                    link.push_str(&format!("&{k}={}", url_escape(v)));
                }
            }
            Some(link)
        }
        _ => None,
    };
    let showing = match (entries.first(), entries.last()) {
        (Some(first), Some(last)) => format!("Entries {} to {}, newest first.", last.seq, first.seq),
        _ => "No entries match.".to_owned(),
    };
    let report = audit::verify(state.store.pool()).await?;
    let staff = accounts::list_users(&state.store, practice).await?;
    Ok(render(&AuditPage {
        title: "Audit log".into(),
        nav: nav(&admin.staff, "admin"),
        older_link,
        showing,
        chain_status: match report.first_break {
            None => format!("intact ({} entries verified)", report.entries),
            Some(b) => format!("BROKEN: {b}"),
        },
        action: action.unwrap_or_default(),
        client: client.unwrap_or_default(),
        staff: staff
            .into_iter()
            .map(|u| StaffOption { selected: actor.as_deref() == Some(&u.id.to_string()), id: u.id.to_string(), name: u.name })
            .collect(),
        entries: entries
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: fmt_ts(Some(e.at)),
                who: e.actor_name.or(e.actor_id).unwrap_or_else(|| "—".into()),
                action: e.action,
                record: e.record_kind,
                client: e.client_id.unwrap_or_default(),
                detail: e.detail,
                request_id: e.request_id,
            })
            .collect(),
    }))
}

pub async fn break_glass_review(State(state): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    let grants = clients::list_break_glass(&state.store, &admin.staff.ctx, &admin.access).await?;
    let now = admin.staff.ctx.ts();
    Ok(render(&AdminBreakGlassPage {
        title: "Emergency access".into(),
        nav: nav(&admin.staff, "admin"),
        grants: grants
            .into_iter()
            .map(|g| GrantView {
                granted: fmt_ts(Some(g.granted_at)),
                user: g.user_name,
                client: g.client_name,
                reason: g.reason,
                expires: fmt_ts(Some(g.expires_at)),
                active: g.expires_at > now,
            })
            .collect(),
    }))
}

async fn set_disabled(state: &AppState, admin: &Admin, user_id: &str, disabled: bool) -> Result<Response, PageError> {
    let user_id: UserId = parse_path_id(user_id)?;
    match accounts::set_user_disabled(&state.store, &admin.staff.ctx, &admin.access, user_id, disabled).await {
        Ok(()) => Ok(Redirect::to("/admin/users").into_response()),
        Err(concord_store::StoreError::Invalid(m)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&users_page(state, admin, Some(m), None).await?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn disable_user(State(state): State<AppState>, admin: Admin, Path(user_id): Path<String>) -> Result<Response, PageError> {
    set_disabled(&state, &admin, &user_id, true).await
}

pub async fn enable_user(State(state): State<AppState>, admin: Admin, Path(user_id): Path<String>) -> Result<Response, PageError> {
    set_disabled(&state, &admin, &user_id, false).await
}

/// Percent-encodes a query value (filters echo back into the "older" link).
fn url_escape(v: &str) -> String {
    v.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[derive(Deserialize)]
pub struct ImportForm {
    format: String,
    id: Option<String>,
    definition: String,
}

async fn instruments_page(
    state: &AppState,
    admin: &Admin,
    error: Option<String>,
    message: Option<String>,
) -> Result<InstrumentsPage, PageError> {
    let practice = admin.access.practice_id();
    let registry = crate::api::measures::registry(state, &admin.staff.ctx, practice).await?;
    let imported = concord_store::measures::list_imported_definitions(&state.store, practice).await?;
    Ok(InstrumentsPage {
        title: "Instruments".into(),
        nav: nav(&admin.staff, "admin"),
        instruments: registry
            .iter()
            .map(|i| InstrumentRow {
                id: i.id().as_str().to_owned(),
                name: i.name().to_owned(),
                version: i.version().to_owned(),
                kind: if imported.iter().any(|d| d.instrument.as_str() == i.id().as_str()) {
                    "Imported by the practice"
                } else if i.origin() == concord_domain::measures::definition::Origin::PracticeOwn {
                    "Practice's own form (not validated)"
                } else {
                    "Shipped"
                },
                licence: i.licence().note.clone(),
            })
            .collect(),
        error,
        message,
    })
}

pub async fn instruments(State(state): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    Ok(render(&instruments_page(&state, &admin, None, None).await?))
}

/// Imports a definition the practice holds a licence for; a bad one is refused with the
/// validator's precise message.
pub async fn import_instrument(
    State(state): State<AppState>,
    admin: Admin,
    PageForm(form): PageForm<ImportForm>,
) -> Result<Response, PageError> {
    let ctx = &admin.staff.ctx;
    let id = non_empty(form.id);
    let result = match (form.format.as_str(), id.as_deref()) {
        ("concord", _) => concord_store::measures::import_definition(&state.store, ctx, &admin.access, &form.definition).await,
        ("fhir", Some(id)) => {
            concord_store::measures::import_fhir_definition_as(&state.store, ctx, &admin.access, &form.definition, id).await
        }
        ("fhir", None) => Err(concord_store::StoreError::Invalid("give an id (e.g. my_scale) for a FHIR Questionnaire".into())),
        _ => Err(concord_store::StoreError::Invalid("choose a format".into())),
    };
    match result {
        Ok(d) => {
            Ok(render(&instruments_page(&state, &admin, None, Some(format!("Imported {} ({}).", d.name, d.instrument.as_str()))).await?))
        }
        Err(concord_store::StoreError::Invalid(m) | concord_store::StoreError::Conflict(m)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&instruments_page(&state, &admin, Some(m), None).await?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
