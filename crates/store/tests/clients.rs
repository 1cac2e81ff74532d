//! Opening a client's record: the access decision and the client's row in one statement
//! (`clients::open_record`) must decide as `record_access` does and read what `get_client` reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Env, ctx};
use concord_domain::policy::AccessBasis;
use concord_domain::values::BreakGlassReason;
use concord_store::audit::{self, AuditFilter};
use concord_store::{StoreError, clients};

async fn client_reads(env: &Env) -> Vec<String> {
    let f = AuditFilter { action: Some("client.read".into()), client_id: Some(env.client.to_string()), limit: 100, ..Default::default() };
    audit::list(env.store.pool(), &env.practice_a.to_string(), &f).await.unwrap().into_iter().map(|e| e.detail).collect()
}

async fn the_care_team_opens_the_record_as_record_access_then_get_client_would(env: &Env) {
    let (access, rec) = clients::open_record(&env.store, &ctx(), &env.owner.actor(), env.client).await.unwrap();
    assert_eq!(access.basis(), AccessBasis::CareTeam);
    assert_eq!(access.client_id(), env.client);
    let separate = clients::get_client(&env.store, &ctx(), &env.access().await).await.unwrap();
    assert_eq!(rec.name, "Casey Quinn Client");
    assert_eq!(
        (rec.id, &rec.name, &rec.date_of_birth, rec.status),
        (separate.id, &separate.name, &separate.date_of_birth, separate.status)
    );
    assert_eq!((rec.created_at, rec.updated_at, rec.data_version), (separate.created_at, separate.updated_at, separate.data_version));
    let team = |r: &clients::ClientRecord| r.care_team.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    assert_eq!(team(&rec), vec!["Olive Owner"]);
    assert_eq!(team(&rec), team(&separate));
    assert_eq!(client_reads(env).await, vec!["basis=care_team", "basis=care_team"], "each opening is audited with its basis");
}
both_engines!(the_care_team_opens_the_record_as_record_access_then_get_client_would);

async fn outside_the_care_team_or_the_practice_nothing_opens(env: &Env) {
    for actor in [env.other.actor(), env.admin.actor(), env.b_clinician.actor()] {
        let refused = clients::open_record(&env.store, &ctx(), &actor, env.client).await;
        assert!(matches!(refused, Err(StoreError::NotFound)), "{:?} opened the record", actor.role);
    }
    let missing = concord_domain::ids::ClientId::new_at(1, [7; 10]);
    assert!(matches!(clients::open_record(&env.store, &ctx(), &env.owner.actor(), missing).await, Err(StoreError::NotFound)));
    assert!(client_reads(env).await.is_empty(), "a refusal reads nothing and audits no read");
}
both_engines!(outside_the_care_team_or_the_practice_nothing_opens);

async fn break_glass_opens_it_for_a_while_and_a_new_member_joins_the_team_in_name_order(env: &Env) {
    let reason = BreakGlassReason::parse("Client in crisis; covering clinician is away").unwrap();
    clients::grant_break_glass(&env.store, &ctx(), &env.other.actor(), env.client, &reason, time::Duration::hours(1)).await.unwrap();
    let (access, rec) = clients::open_record(&env.store, &ctx(), &env.other.actor(), env.client).await.unwrap();
    assert_eq!(access.basis(), AccessBasis::BreakGlass);
    assert_eq!(rec.care_team.len(), 1, "emergency access does not join the team");
    let later = common::ctx_at(2 * 3600);
    assert!(
        matches!(clients::open_record(&env.store, &later, &env.other.actor(), env.client).await, Err(StoreError::NotFound)),
        "the grant expired"
    );

    let admin = clients::care_team_access(&env.store, &ctx(), &env.admin.actor(), env.client).await.unwrap();
    clients::add_to_care_team(&env.store, &ctx(), &admin, env.other.id).await.unwrap();
    let (access, rec) = clients::open_record(&env.store, &later, &env.other.actor(), env.client).await.unwrap();
    assert_eq!(access.basis(), AccessBasis::CareTeam);
    let names: Vec<_> = rec.care_team.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Olive Owner", "Otto Other"]);
}
both_engines!(break_glass_opens_it_for_a_while_and_a_new_member_joins_the_team_in_name_order);

// ---- sessions ------------------------------------------------------------------------------

/// A busy session's requests arriving together a minute on are all signed in, and one of them
/// moves its last activity (the others go on without writing): the idle timeout then counts
/// from that minute.
async fn a_busy_session_moves_its_last_activity_once_and_stays_signed_in(env: &Env) {
    use concord_store::accounts::{self, SessionStage};
    let idle = time::Duration::minutes(15);
    let secret = accounts::create_session(&env.store, &ctx(), &env.owner, SessionStage::Full, time::Duration::hours(8)).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (store, secret) = (env.store.clone(), secret.clone());
        tasks.spawn(async move { accounts::touch_session(&store, &common::ctx_at(61), &secret, idle).await.unwrap().is_some() });
    }
    while let Some(signed_in) = tasks.join_next().await {
        assert!(signed_in.unwrap());
    }
    // 61 s + 14 min: 15 min and 1 s after sign-in, but 14 min after the last activity.
    assert!(accounts::touch_session(&env.store, &common::ctx_at(61 + 14 * 60), &secret, idle).await.unwrap().is_some());
    // That request moved it again; 16 idle minutes after it, the session has ended.
    assert!(accounts::touch_session(&env.store, &common::ctx_at(61 + 30 * 60), &secret, idle).await.unwrap().is_none());
}
both_engines!(a_busy_session_moves_its_last_activity_once_and_stays_signed_in);
