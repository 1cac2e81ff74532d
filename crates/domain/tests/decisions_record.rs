//! Decision records: the question, the preferred role, the status state machine and
//! revisit dates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::decisions::record::{
    DecisionRecord, DecisionStatus, PreferredRole, StatusChange, StatusKind, TransitionError, revisit_due, transition,
};
use concord_domain::decisions::text::{ClientWords, DecisionQuestion};
use concord_domain::decisions::{CriterionId, DecisionId, OptionId};
use proptest::prelude::*;
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 03 - 10);

fn words(s: &str) -> ClientWords {
    ClientWords::parse(s).unwrap()
}

fn decided() -> DecisionStatus {
    DecisionStatus::Decided { what: words("I will see a prescriber and decide after that visit"), on: date!(2026 - 03 - 01) }
}

fn deferred() -> DecisionStatus {
    DecisionStatus::Deferred { revisit_on: date!(2026 - 04 - 07) }
}

#[test]
fn question_is_kept_in_the_clients_words() {
    let q = DecisionQuestion::parse("  Should I try medication for my low mood?  ").unwrap();
    assert_eq!(q.as_str(), "Should I try medication for my low mood?");
    assert!(DecisionQuestion::parse("   ").is_err());
    assert!(DecisionQuestion::parse("two\nlines").is_err());
    assert!(DecisionQuestion::parse(&"x".repeat(501)).is_err());
    // Client words may span lines (CRLF normalised) but hold no other control characters.
    assert_eq!(ClientWords::parse("one\r\ntwo").unwrap().as_str(), "one\ntwo");
    assert!(ClientWords::parse("a\u{7}b").is_err());
}

#[test]
fn preferred_roles_round_trip_with_ottawa_wording() {
    for r in PreferredRole::ALL {
        assert_eq!(r.as_str().parse::<PreferredRole>().unwrap(), r);
        assert!(r.label().starts_with("I prefer"));
    }
    assert!("doctor_decides".parse::<PreferredRole>().is_err());
    assert_eq!(serde_json::to_string(&PreferredRole::ShareTheDecision).unwrap(), "\"share_the_decision\"");
}

#[test]
fn allowed_moves() {
    let s = DecisionStatus::Deliberating;
    let d = transition(&s, StatusChange::Decide { what: words("Try the therapy-and-lifestyle option first"), on: TODAY }, TODAY).unwrap();
    assert_eq!(d.kind(), StatusKind::Decided);
    let back = transition(&d, StatusChange::Reopen, TODAY).unwrap();
    assert_eq!(back, DecisionStatus::Deliberating);

    let f = transition(&s, StatusChange::Defer { revisit_on: date!(2026 - 03 - 11) }, TODAY).unwrap();
    assert_eq!(f, DecisionStatus::Deferred { revisit_on: date!(2026 - 03 - 11) });
    assert_eq!(transition(&f, StatusChange::Reopen, TODAY).unwrap(), DecisionStatus::Deliberating);
}

#[test]
fn refused_moves_are_typed() {
    let decide = || StatusChange::Decide { what: words("x"), on: TODAY };
    let defer = || StatusChange::Defer { revisit_on: date!(2026 - 05 - 01) };
    let cases = [
        (DecisionStatus::Deliberating, StatusChange::Reopen, StatusKind::Deliberating, StatusKind::Deliberating),
        (decided(), decide(), StatusKind::Decided, StatusKind::Decided),
        (decided(), defer(), StatusKind::Decided, StatusKind::Deferred),
        (deferred(), decide(), StatusKind::Deferred, StatusKind::Decided),
        (deferred(), defer(), StatusKind::Deferred, StatusKind::Deferred),
    ];
    for (from, change, k_from, k_to) in cases {
        let err = transition(&from, change, TODAY).unwrap_err();
        assert_eq!(err, TransitionError::NotAllowed { from: k_from, to: k_to });
    }
    let err = transition(&deferred(), decide(), TODAY).unwrap_err();
    assert_eq!(err.to_string(), "a decision that is deferred cannot become decided; reopen it first (back to deliberating)");

    // Dates: no decision dated in the future; a revisit date must be after today.
    let err =
        transition(&DecisionStatus::Deliberating, StatusChange::Decide { what: words("x"), on: date!(2026 - 03 - 11) }, TODAY).unwrap_err();
    assert!(matches!(err, TransitionError::DecidedInFuture { .. }));
    for revisit_on in [TODAY, date!(2026 - 03 - 09)] {
        let err = transition(&DecisionStatus::Deliberating, StatusChange::Defer { revisit_on }, TODAY).unwrap_err();
        assert_eq!(err, TransitionError::RevisitNotInFuture { revisit_on, today: TODAY });
    }
    assert_eq!(
        TransitionError::RevisitNotInFuture { revisit_on: TODAY, today: TODAY }.to_string(),
        "the revisit date 2026-03-10 must be after today (2026-03-10)"
    );
}

#[test]
fn revisit_falls_due_on_the_date() {
    let s = deferred();
    assert!(!revisit_due(&s, date!(2026 - 04 - 06)));
    assert!(revisit_due(&s, date!(2026 - 04 - 07)));
    assert!(revisit_due(&s, date!(2026 - 05 - 01)));
    assert!(!revisit_due(&DecisionStatus::Deliberating, date!(2030 - 01 - 01)));
    assert!(!revisit_due(&decided(), date!(2030 - 01 - 01)));
}

#[test]
fn record_applies_changes_and_stays_put_on_error() {
    let mut r = DecisionRecord::new(DecisionQuestion::parse("Should I try medication for my low mood?").unwrap());
    assert_eq!(r.status(), &DecisionStatus::Deliberating);
    assert_eq!(r.preferred_role(), None);
    r.set_preferred_role(Some(PreferredRole::ShareTheDecision));
    r.apply(StatusChange::Defer { revisit_on: date!(2026 - 04 - 07) }, TODAY).unwrap();
    assert!(r.apply(StatusChange::Decide { what: words("x"), on: TODAY }, TODAY).is_err());
    assert_eq!(r.status(), &deferred());
    assert!(r.revisit_due(date!(2026 - 04 - 07)));
    assert_eq!(r.status().describe(), "Put off for now; to be revisited on 2026-04-07.");
}

#[test]
fn status_json_shape() {
    let json = serde_json::to_value(decided()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"state": "decided", "what": "I will see a prescriber and decide after that visit", "on": "2026-03-01"})
    );
    let back: DecisionStatus = serde_json::from_value(json).unwrap();
    assert_eq!(back, decided());
    assert_eq!(serde_json::to_value(deferred()).unwrap(), serde_json::json!({"state": "deferred", "revisit_on": "2026-04-07"}));
    assert!(serde_json::from_str::<DecisionStatus>(r#"{"state":"deferred","revisit_on":"07/04/2026"}"#).is_err());
    assert!(serde_json::from_str::<DecisionStatus>(r#"{"state":"decided","what":"  ","on":"2026-03-01"}"#).is_err());
}

#[test]
fn ids_parse_strictly_and_do_not_mix() {
    let id = DecisionId::new_at(1_700_000_000_000, [7; 10]);
    assert_eq!(id.to_string().parse::<DecisionId>().unwrap(), id);
    assert!(id.to_string().to_uppercase().parse::<DecisionId>().is_err());
    assert!("nope".parse::<OptionId>().is_err());
    let e = "x".parse::<CriterionId>().unwrap_err();
    assert_eq!(e.to_string(), "not a valid criterion id");
}

fn arb_status() -> impl Strategy<Value = DecisionStatus> {
    prop_oneof![
        Just(DecisionStatus::Deliberating),
        (0i32..3000)
            .prop_map(|d| DecisionStatus::Decided { what: words("decided"), on: date!(2020 - 01 - 01) + time::Duration::days(d.into()) }),
        (0i32..3000).prop_map(|d| DecisionStatus::Deferred { revisit_on: date!(2020 - 01 - 01) + time::Duration::days(d.into()) }),
    ]
}

fn arb_change() -> impl Strategy<Value = StatusChange> {
    prop_oneof![
        Just(StatusChange::Reopen),
        (0i32..3000)
            .prop_map(|d| StatusChange::Decide { what: words("decided"), on: date!(2020 - 01 - 01) + time::Duration::days(d.into()) }),
        (0i32..3000).prop_map(|d| StatusChange::Defer { revisit_on: date!(2020 - 01 - 01) + time::Duration::days(d.into()) }),
    ]
}

proptest! {
    #[test]
    fn transitions_follow_the_machine(from in arb_status(), change in arb_change(), t in 0i32..3000) {
        let today = date!(2020 - 01 - 01) + time::Duration::days(t.into());
        let target = change.target();
        match transition(&from, change.clone(), today) {
            Ok(to) => {
                prop_assert_eq!(to.kind(), target);
                let allowed = matches!(
                    (from.kind(), target),
                    (StatusKind::Deliberating, StatusKind::Decided | StatusKind::Deferred)
                        | (StatusKind::Decided | StatusKind::Deferred, StatusKind::Deliberating)
                );
                prop_assert!(allowed);
                // A deferral is never due on the day it is made.
                prop_assert!(!revisit_due(&to, today));
            }
            Err(TransitionError::NotAllowed { from: f, to }) => {
                prop_assert_eq!(f, from.kind());
                prop_assert_eq!(to, target);
            }
            Err(TransitionError::DecidedInFuture { on, .. }) => prop_assert!(on > today),
            Err(TransitionError::RevisitNotInFuture { revisit_on, .. }) => prop_assert!(revisit_on <= today),
        }
    }

    #[test]
    fn text_parsers_never_panic(s in "\\PC{0,600}") {
        let _ = DecisionQuestion::parse(&s);
        let _ = ClientWords::parse(&s);
        let _ = s.parse::<PreferredRole>();
    }
}
