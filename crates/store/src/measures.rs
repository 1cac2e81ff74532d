//! Measurement-based care: questionnaire responses, measurement schedules and the overdue
//! list, client portal links, and the instrument definitions a practice imports.
//!
//! Scoring is not done here: callers score with `concord_domain::measures::score` against
//! the practice's [`practice_registry`] and hand over the [`Score`](concord_domain::measures::score::Score);
//! the store keeps it as computed, with the convention used, so later changes to a definition
//! never rewrite history. The store checks only what is not clinical: dates (at most
//! [`MAX_FUTURE_SECONDS`] ahead of the request time), sizes, idempotency keys, archived
//! clients.
//!
//! **Client data** here: responses (answers, scores, dates, notes), schedules, portal links
//! and portal sessions. Every table carries `practice_id`, and every row about a client is
//! deleted with the client row (`ON DELETE CASCADE`), so erasure removes it.
//!
//! **Encrypted**: the free-text note of a response (`measure_responses.note_ct`), sealed with
//! the client's data key, associated data `concord/v1/measure_responses/note_ct/<response id>`.
//! Answers and scores are stored as plain JSON and integers (not identifying, and the
//! caseload and overdue lists are queries over them). The client's name is read only to greet
//! them in the portal (first word, decrypted in memory). Portal link secrets and portal
//! session ids are stored as SHA-256 hashes, PINs as Argon2id hashes; neither the secret nor
//! the PIN is ever stored, logged or audited.
//!
//! **Audited** (in the same transaction as the read or write, through `audit::append`):
//! - staff, under a `RecordAccess`: `response.create`, `response.replay` (an idempotent
//!   resubmission), `response.list`, `schedule.set`, `schedule.remove`, `schedule.list`,
//!   `portal_link.create`, `portal_link.revoke`, `portal_link.list`;
//! - staff, under a `CaseloadScope`: `measures.overdue_list` (one entry for the whole list);
//! - practice admins: `instrument.import`;
//! - the portal, with no actor, `record_kind = "portal"`, detail `link=<id>`: `portal.open`,
//!   `portal.response.create`, `portal.response.list`, `portal.due`, `portal.name`, and as
//!   security events `portal.refused` (revoked, expired, archived client), `portal.pin_needed`,
//!   `portal.pin_failed`, `portal.locked`, and `portal.unknown_link` (on the system chain).
//!
//! Security Invariant: the portal sees one client and nothing else. Its functions take a
//! [`PortalAccess`](concord_domain::policy::PortalAccess), which only
//! `policy::decide_portal` creates, and scope every query by its practice and client.
//! [`open_portal`] audits each opening; [`resume_portal`] (a portal browser session) reads
//! no client data and is not audited itself, but every portal function that reads or writes
//! client data audits under the link id.

mod definitions;
mod portal;
mod responses;
mod schedules;
mod writes;

pub(crate) use definitions::Registries;
pub use definitions::{
    DefinitionFormat, ImportedDefinition, import_definition, import_fhir_definition_as, list_imported_definitions, practice_instrument,
    practice_registry,
};
pub use portal::{
    PORTAL_LINK_MAX_TTL, PORTAL_PIN_THROTTLE, PORTAL_SESSION_TTL, PortalError, PortalLinkRow, PortalResponse, audit_cached_portal_links,
    create_portal_link, create_portal_session, end_portal_session, list_portal_links, open_portal, portal_client_first_name, portal_due,
    portal_list_responses, portal_record_response, resume_portal, revoke_portal_link,
};
pub use responses::{
    MAX_FUTURE_SECONDS, NOTE_MAX_CHARS, NewResponse, ResponseRecord, ResponseSource, ScorePoint, audit_cached_caseload_scores,
    audit_cached_score_points, caseload_score_points, list_responses, list_score_points,
};
pub use schedules::{
    CaseloadOverdue, DueMeasure, OverdueMeasure, ScheduleRow, audit_cached_schedules, held_until, list_schedules, overdue_for_caseload,
    remove_schedule, set_schedule,
};
pub(crate) use writes::{ResponseWrite, write_responses};
pub use writes::{record_response, record_responses_bulk};

use crate::{Ctx, audit};
use concord_domain::policy::{PortalAccess, RecordAccess};

/// An audit event about one client's record, made by staff under a record decision.
fn record_event(ctx: &Ctx, access: &RecordAccess, action: &'static str, record_kind: &'static str) -> audit::AuditEvent {
    let actor = access.actor();
    let mut ev = ctx.event(Some(&actor), &access.practice_id().to_string(), action, record_kind);
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = Some(access.client_id().to_string());
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

/// An audit event made through a client's portal link: no actor, the link as the record.
fn portal_event(ctx: &Ctx, access: &PortalAccess, action: &'static str) -> audit::AuditEvent {
    let mut ev = ctx.event(None, &access.practice_id().to_string(), action, "portal");
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = Some(access.link_id().to_string());
    ev.detail = format!("link={}", access.link_id());
    ev
}
