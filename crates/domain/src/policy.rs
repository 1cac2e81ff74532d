//! The access policy: the only place that can say yes to touching client data.
//!
//! Security Invariant: `RecordAccess`, `CareTeamAccess`, `ErasureAccess`, `CaseloadScope` and
//! `PortalAccess` have private fields and no public constructor, so the store functions that require them
//! cannot be called without a decision from `decide_*` below. Forgetting a check is a
//! compile error, not a CVE.
//!
//! Every match is exhaustive and the default answer is no.

use crate::ids::{ClientId, PortalLinkId, PracticeId, UserId};
use crate::values::Role;

/// An authenticated staff member acting inside their practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
    pub practice_id: PracticeId,
    pub role: Role,
}

/// What the store knows about a client relevant to access, read without touching client data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientFacts {
    pub practice_id: PracticeId,
    pub client_id: ClientId,
    /// The actor is on this client's care team.
    pub on_care_team: bool,
    /// The actor holds an unexpired break-glass grant for this client.
    pub break_glass_active: bool,
}

/// Why access was granted; recorded with every audited access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessBasis {
    CareTeam,
    BreakGlass,
    PracticeAdmin,
}

impl AccessBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessBasis::CareTeam => "care_team",
            AccessBasis::BreakGlass => "break_glass",
            AccessBasis::PracticeAdmin => "practice_admin",
        }
    }
}

/// Permission to read and write one client's record (identity, sessions, later notes and measures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordAccess {
    actor: Actor,
    client_id: ClientId,
    basis: AccessBasis,
}

/// Permission to see a client's name and manage who is on their care team (practice admins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareTeamAccess {
    actor: Actor,
    client_id: ClientId,
}

/// Permission to erase a client (destroys their data key). Admins only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasureAccess {
    actor: Actor,
    client_id: ClientId,
}

/// Which clients a list may show an actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseloadScope {
    actor: Actor,
    whole_practice: bool,
}

/// Permission to create a client in the actor's practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateClientAccess {
    actor: Actor,
}

/// Permission to administer the practice (users, audit log, break-glass review).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PracticeAdminAccess {
    actor: Actor,
}

macro_rules! common_getters {
    ($t:ty) => {
        impl $t {
            pub fn actor(&self) -> Actor {
                self.actor
            }
            pub fn practice_id(&self) -> PracticeId {
                self.actor.practice_id
            }
        }
    };
}
common_getters!(RecordAccess);
common_getters!(CareTeamAccess);
common_getters!(ErasureAccess);
common_getters!(CaseloadScope);
common_getters!(CreateClientAccess);
common_getters!(PracticeAdminAccess);

impl RecordAccess {
    pub fn client_id(&self) -> ClientId {
        self.client_id
    }
    pub fn basis(&self) -> AccessBasis {
        self.basis
    }
}
impl CareTeamAccess {
    pub fn client_id(&self) -> ClientId {
        self.client_id
    }
}
impl ErasureAccess {
    pub fn client_id(&self) -> ClientId {
        self.client_id
    }
}
impl CaseloadScope {
    /// True for admins (the practice directory), false for everyone else (own care teams).
    pub fn whole_practice(&self) -> bool {
        self.whole_practice
    }
}

/// Facts that belong to the actor's practice; anything else is treated as absent.
fn same_practice(actor: &Actor, facts: Option<&ClientFacts>) -> Option<ClientFacts> {
    facts.filter(|f| f.practice_id == actor.practice_id).copied()
}

/// May the actor read and write this client's record?
pub fn decide_record(actor: &Actor, facts: Option<&ClientFacts>) -> Option<RecordAccess> {
    let f = same_practice(actor, facts)?;
    let basis = match (f.on_care_team, f.break_glass_active) {
        (true, _) => AccessBasis::CareTeam,
        (false, true) => AccessBasis::BreakGlass,
        (false, false) => return None,
    };
    // Every role reaches a record only through the care team or break-glass.
    match actor.role {
        Role::Clinician | Role::Supervisor | Role::Admin => Some(RecordAccess { actor: *actor, client_id: f.client_id, basis }),
    }
}

/// May the actor manage this client's care team (and so see the client's name)?
pub fn decide_care_team(actor: &Actor, facts: Option<&ClientFacts>) -> Option<CareTeamAccess> {
    let f = same_practice(actor, facts)?;
    match actor.role {
        Role::Admin => Some(CareTeamAccess { actor: *actor, client_id: f.client_id }),
        Role::Clinician | Role::Supervisor => None,
    }
}

/// May the actor erase this client?
pub fn decide_erasure(actor: &Actor, facts: Option<&ClientFacts>) -> Option<ErasureAccess> {
    let f = same_practice(actor, facts)?;
    match actor.role {
        Role::Admin => Some(ErasureAccess { actor: *actor, client_id: f.client_id }),
        Role::Clinician | Role::Supervisor => None,
    }
}

/// May the actor ask for break-glass access? Any staff member of the practice may ask;
/// the grant itself is time-limited, audited and reported to admins.
pub fn may_request_break_glass(actor: &Actor, facts: Option<&ClientFacts>) -> bool {
    let Some(f) = same_practice(actor, facts) else { return false };
    match actor.role {
        Role::Clinician | Role::Supervisor | Role::Admin => !f.on_care_team,
    }
}

/// Which clients a caseload or directory list shows.
pub fn caseload_scope(actor: &Actor) -> CaseloadScope {
    let whole_practice = match actor.role {
        Role::Admin => true,
        Role::Clinician | Role::Supervisor => false,
    };
    CaseloadScope { actor: *actor, whole_practice }
}

/// May the actor create clients? Clinicians and supervisors create clients (and join their
/// care team); admins create them for the directory and assign care teams.
pub fn decide_create_client(actor: &Actor) -> Option<CreateClientAccess> {
    match actor.role {
        Role::Clinician | Role::Supervisor | Role::Admin => Some(CreateClientAccess { actor: *actor }),
    }
}

/// May the actor administer the practice?
pub fn decide_practice_admin(actor: &Actor) -> Option<PracticeAdminAccess> {
    match actor.role {
        Role::Admin => Some(PracticeAdminAccess { actor: *actor }),
        Role::Clinician | Role::Supervisor => None,
    }
}

// ---- client portal --------------------------------------------------------------------------

/// What the store knows about a client portal link, read without touching client data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalLinkFacts {
    pub practice_id: PracticeId,
    pub client_id: ClientId,
    pub link_id: PortalLinkId,
    /// Unix seconds; the link works strictly before this instant.
    pub expires_at: i64,
    pub revoked: bool,
    /// The link was created with a PIN.
    pub pin_required: bool,
    /// The client is active (not archived): an archived client's links stop working.
    pub client_active: bool,
}

/// Permission for the holder of a client's portal link to see and complete that client's
/// measures, and nothing else. It names one client; there is no actor (the client has no
/// account), so audit entries made under it have no actor id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalAccess {
    practice_id: PracticeId,
    client_id: ClientId,
    link_id: PortalLinkId,
}

impl PortalAccess {
    pub fn practice_id(&self) -> PracticeId {
        self.practice_id
    }
    pub fn client_id(&self) -> ClientId {
        self.client_id
    }
    pub fn link_id(&self) -> PortalLinkId {
        self.link_id
    }
}

/// Why a portal link was refused, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalRefusal {
    Revoked,
    Expired,
    ClientInactive,
    /// The link has a PIN and the PIN given was missing or wrong.
    Pin,
}

impl PortalRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            PortalRefusal::Revoked => "revoked",
            PortalRefusal::Expired => "expired",
            PortalRefusal::ClientInactive => "client_inactive",
            PortalRefusal::Pin => "pin",
        }
    }
}

/// May the holder of this link use the portal at `now_unix`? `pin_ok` says whether the PIN
/// check passed; it is ignored for a link without a PIN. The PIN is judged last, so a caller
/// can first ask with `pin_ok = true` to learn whether checking a PIN is worth it.
pub fn check_portal(link: &PortalLinkFacts, now_unix: i64, pin_ok: bool) -> Result<PortalAccess, PortalRefusal> {
    if link.revoked {
        return Err(PortalRefusal::Revoked);
    }
    if now_unix >= link.expires_at {
        return Err(PortalRefusal::Expired);
    }
    if !link.client_active {
        return Err(PortalRefusal::ClientInactive);
    }
    match (link.pin_required, pin_ok) {
        (false, _) | (true, true) => {}
        (true, false) => return Err(PortalRefusal::Pin),
    }
    Ok(PortalAccess { practice_id: link.practice_id, client_id: link.client_id, link_id: link.link_id })
}

/// [`check_portal`] without the reason.
pub fn decide_portal(link: &PortalLinkFacts, now_unix: i64, pin_ok: bool) -> Option<PortalAccess> {
    check_portal(link, now_unix, pin_ok).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(n: u8) -> PracticeId {
        PracticeId::new_at(1, [n; 10])
    }
    fn uid(n: u8) -> UserId {
        UserId::new_at(1, [n; 10])
    }
    fn actor(role: Role, practice: u8) -> Actor {
        Actor { user_id: uid(1), practice_id: pid(practice), role }
    }
    fn facts(practice: u8, team: bool, glass: bool) -> ClientFacts {
        ClientFacts { practice_id: pid(practice), client_id: ClientId::new_at(1, [9; 10]), on_care_team: team, break_glass_active: glass }
    }

    #[test]
    fn record_access_matrix() {
        for role in Role::ALL {
            // Own practice: care team or break-glass only.
            assert_eq!(decide_record(&actor(role, 1), Some(&facts(1, true, false))).unwrap().basis(), AccessBasis::CareTeam);
            assert_eq!(decide_record(&actor(role, 1), Some(&facts(1, false, true))).unwrap().basis(), AccessBasis::BreakGlass);
            assert!(decide_record(&actor(role, 1), Some(&facts(1, false, false))).is_none());
            // Another practice: never, whatever the flags say.
            for (t, g) in [(true, true), (true, false), (false, true), (false, false)] {
                assert!(decide_record(&actor(role, 2), Some(&facts(1, t, g))).is_none());
                assert!(decide_care_team(&actor(role, 2), Some(&facts(1, t, g))).is_none());
                assert!(decide_erasure(&actor(role, 2), Some(&facts(1, t, g))).is_none());
                assert!(!may_request_break_glass(&actor(role, 2), Some(&facts(1, t, g))));
            }
            // Missing client: never.
            assert!(decide_record(&actor(role, 1), None).is_none());
        }
    }

    #[test]
    fn admin_only_decisions() {
        let f = facts(1, false, false);
        assert!(decide_care_team(&actor(Role::Admin, 1), Some(&f)).is_some());
        assert!(decide_erasure(&actor(Role::Admin, 1), Some(&f)).is_some());
        assert!(decide_practice_admin(&actor(Role::Admin, 1)).is_some());
        for role in [Role::Clinician, Role::Supervisor] {
            assert!(decide_care_team(&actor(role, 1), Some(&f)).is_none());
            assert!(decide_erasure(&actor(role, 1), Some(&f)).is_none());
            assert!(decide_practice_admin(&actor(role, 1)).is_none());
        }
    }

    #[test]
    fn caseload_scope_by_role() {
        assert!(caseload_scope(&actor(Role::Admin, 1)).whole_practice());
        assert!(!caseload_scope(&actor(Role::Clinician, 1)).whole_practice());
        assert!(!caseload_scope(&actor(Role::Supervisor, 1)).whole_practice());
    }

    #[test]
    fn break_glass_only_when_not_already_on_team() {
        assert!(may_request_break_glass(&actor(Role::Clinician, 1), Some(&facts(1, false, false))));
        assert!(!may_request_break_glass(&actor(Role::Clinician, 1), Some(&facts(1, true, false))));
        assert!(!may_request_break_glass(&actor(Role::Clinician, 1), None));
    }
    fn link(expires_at: i64, revoked: bool, pin_required: bool, client_active: bool) -> PortalLinkFacts {
        PortalLinkFacts {
            practice_id: pid(1),
            client_id: ClientId::new_at(1, [9; 10]),
            link_id: PortalLinkId::new_at(1, [5; 10]),
            expires_at,
            revoked,
            pin_required,
            client_active,
        }
    }

    #[test]
    fn portal_access_names_the_link_client_and_practice() {
        let l = link(100, false, false, true);
        let a = decide_portal(&l, 99, false).unwrap();
        assert_eq!((a.practice_id(), a.client_id(), a.link_id()), (l.practice_id, l.client_id, l.link_id));
    }

    #[test]
    fn portal_matrix() {
        // Every combination: granted only when not revoked, not expired, client active, and
        // (no PIN, or the PIN checked out).
        for revoked in [false, true] {
            for pin_required in [false, true] {
                for client_active in [false, true] {
                    for pin_ok in [false, true] {
                        for now in [i64::MIN, 0, 99, 100, 101, i64::MAX] {
                            let l = link(100, revoked, pin_required, client_active);
                            let want = !revoked && now < 100 && client_active && (!pin_required || pin_ok);
                            assert_eq!(decide_portal(&l, now, pin_ok).is_some(), want, "{l:?} now={now} pin_ok={pin_ok}");
                            assert_eq!(check_portal(&l, now, pin_ok).is_ok(), want);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn portal_refusal_reasons_in_order() {
        assert_eq!(check_portal(&link(100, true, true, false), 200, false), Err(PortalRefusal::Revoked));
        assert_eq!(check_portal(&link(100, false, true, false), 100, false), Err(PortalRefusal::Expired));
        assert_eq!(check_portal(&link(100, false, true, false), 50, false), Err(PortalRefusal::ClientInactive));
        assert_eq!(check_portal(&link(100, false, true, true), 50, false), Err(PortalRefusal::Pin));
        // Asking with pin_ok = true first tells whether the PIN is the only obstacle.
        assert!(check_portal(&link(100, false, true, true), 50, true).is_ok());
        for r in [PortalRefusal::Revoked, PortalRefusal::Expired, PortalRefusal::ClientInactive, PortalRefusal::Pin] {
            assert!(!r.as_str().is_empty());
        }
    }

    #[test]
    fn expiry_is_exclusive() {
        let l = link(1_000, false, false, true);
        assert!(decide_portal(&l, 999, false).is_some());
        assert!(decide_portal(&l, 1_000, false).is_none());
    }
}
