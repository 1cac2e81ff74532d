//! The access policy: the only place that can say yes to touching client data.
//!
//! Security Invariant: `RecordAccess`, `CareTeamAccess`, `ErasureAccess` and `CaseloadScope`
//! have private fields and no public constructor, so the store functions that require them
//! cannot be called without a decision from `decide_*` below. Forgetting a check is a
//! compile error, not a CVE.
//!
//! Every match is exhaustive and the default answer is no.

use crate::ids::{ClientId, PracticeId, UserId};
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
}
