//! Server-rendered pages: sign-in, caseload, client record, account, administration.

pub mod account;
pub mod admin;
pub mod clients;
pub mod decisions;
pub mod library;
pub mod login;
pub mod measures;
pub mod portal;
pub mod portal_decisions;
pub mod records;
pub mod transcripts;

use crate::auth::Staff;
use crate::view::Nav;
use concord_domain::values::Role;

pub fn nav(staff: &Staff, current: &'static str) -> Option<Nav> {
    Some(Nav { user_name: staff.user().name.clone(), is_admin: staff.user().role == Role::Admin, current })
}

/// Browsers submit an empty optional field as "": treat it as absent.
pub fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
