//! The prompt lifecycle: documented responses, safety rules, deferral and reopening.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::prompts::{
    Action, LifecycleError, MAX_TEXT_CHARS, PromptKind, PromptState, Response, SafetyAction, reopen_due, transition,
};

const NOW: i64 = 1_767_603_600;
const DAY: i64 = 86_400;

fn act(response: Response) -> Action {
    Action { response, safety_action: None }
}

fn safety_act(response: Response, what: &str) -> Action {
    Action { response, safety_action: Some(SafetyAction { what_was_done: what.into() }) }
}

fn discussed(note: &str) -> Response {
    Response::Discussed { note: note.into() }
}

const NON_SAFETY: [PromptKind; 5] = [
    PromptKind::NoProgressDespiteEngagement,
    PromptKind::PersistentImpairment,
    PromptKind::ReliableDeterioration,
    PromptKind::AllianceDrop,
    PromptKind::OverdueMeasure,
];

#[test]
fn resolving_needs_a_documented_response() {
    for kind in NON_SAFETY {
        let open = PromptState::Open;
        assert_eq!(transition(&open, kind, &act(discussed("  ")), true, NOW).unwrap_err(), LifecycleError::EmptyText { field: "the note" });
        assert_eq!(
            transition(&open, kind, &act(discussed(" Talked about options. ")), true, NOW).unwrap(),
            PromptState::Resolved { response: discussed("Talked about options."), safety_action: None }
        );
        assert!(transition(&open, kind, &act(Response::ReferralOffered { to: None }), true, NOW).is_ok());
        assert!(transition(&open, kind, &act(Response::ReferralOffered { to: Some("GP".into()) }), true, NOW).is_ok());
        assert_eq!(
            transition(&open, kind, &act(Response::ReferralOffered { to: Some(" ".into()) }), true, NOW).unwrap_err(),
            LifecycleError::EmptyText { field: "the referral recipient" }
        );
        assert!(transition(&open, kind, &act(Response::ClientDeclined { reasons_in_their_words: "".into() }), true, NOW).is_err());
        assert!(
            transition(
                &open,
                kind,
                &act(Response::ClientDeclined { reasons_in_their_words: "I want to try on my own first".into() }),
                true,
                NOW
            )
            .is_ok()
        );
        assert!(transition(&open, kind, &act(Response::NotAppropriate { why: "\n".into() }), true, NOW).is_err());
        assert!(transition(&open, kind, &act(Response::NotAppropriate { why: "Already under a psychiatrist".into() }), true, NOW).is_ok());
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(transition(&open, kind, &act(discussed(&long)), true, NOW).unwrap_err(), LifecycleError::TooLong { field: "the note" });
    }
}

#[test]
fn only_staff_act_and_resolved_is_final() {
    let resolved = PromptState::Resolved { response: discussed("done"), safety_action: None };
    for kind in PromptKind::ALL {
        let a = safety_act(discussed("x"), "y");
        assert_eq!(transition(&PromptState::Open, kind, &a, false, NOW).unwrap_err(), LifecycleError::NotStaff);
        assert_eq!(transition(&resolved, kind, &a, true, NOW).unwrap_err(), LifecycleError::AlreadyResolved);
    }
}

#[test]
fn deferral_must_be_in_the_future() {
    let kind = PromptKind::NoProgressDespiteEngagement;
    let defer = |date| act(Response::DeferredUntil { date });
    assert_eq!(transition(&PromptState::Open, kind, &defer(NOW), true, NOW).unwrap_err(), LifecycleError::DeferralNotInFuture);
    assert_eq!(transition(&PromptState::Open, kind, &defer(NOW - DAY), true, NOW).unwrap_err(), LifecycleError::DeferralNotInFuture);
    let d = transition(&PromptState::Open, kind, &defer(NOW + 28 * DAY), true, NOW).unwrap();
    assert_eq!(d, PromptState::Deferred { until: NOW + 28 * DAY });
    // A deferred prompt can be re-deferred or resolved early.
    assert_eq!(transition(&d, kind, &defer(NOW + 30 * DAY), true, NOW).unwrap(), PromptState::Deferred { until: NOW + 30 * DAY });
    assert!(matches!(transition(&d, kind, &act(discussed("raised it")), true, NOW).unwrap(), PromptState::Resolved { .. }));
}

#[test]
fn safety_prompts_need_staff_and_a_documented_action() {
    let k = PromptKind::Safety;
    let open = PromptState::Open;
    assert_eq!(transition(&open, k, &act(discussed("we talked")), true, NOW).unwrap_err(), LifecycleError::SafetyActionRequired);
    assert_eq!(
        transition(&open, k, &safety_act(discussed("we talked"), "   "), true, NOW).unwrap_err(),
        LifecycleError::EmptyText { field: "the action taken" }
    );
    assert_eq!(
        transition(&open, k, &safety_act(Response::DeferredUntil { date: NOW + DAY }, "called"), true, NOW).unwrap_err(),
        LifecycleError::NotAllowedForSafety { response: "deferred" }
    );
    assert_eq!(
        transition(&open, k, &safety_act(Response::NotAppropriate { why: "false alarm".into() }, "called"), true, NOW).unwrap_err(),
        LifecycleError::NotAllowedForSafety { response: "not_appropriate" }
    );
    assert_eq!(transition(&open, k, &safety_act(discussed("we talked"), "called"), false, NOW).unwrap_err(), LifecycleError::NotStaff);
    let ok = transition(&open, k, &safety_act(discussed("we talked"), " Phoned the client; safety plan reviewed. "), true, NOW).unwrap();
    assert_eq!(
        ok,
        PromptState::Resolved {
            response: discussed("we talked"),
            safety_action: Some(SafetyAction { what_was_done: "Phoned the client; safety plan reviewed.".into() })
        }
    );
    assert!(
        transition(&open, k, &safety_act(Response::ReferralOffered { to: Some("Crisis team".into()) }, "Referred same day"), true, NOW)
            .is_ok()
    );
    assert!(
        transition(
            &open,
            k,
            &safety_act(Response::ClientDeclined { reasons_in_their_words: "I'm ok".into() }, "Agreed a call tomorrow"),
            true,
            NOW
        )
        .is_ok()
    );
    // Other kinds take no safety action.
    for kind in NON_SAFETY {
        assert_eq!(
            transition(&open, kind, &safety_act(discussed("x"), "y"), true, NOW).unwrap_err(),
            LifecycleError::SafetyActionNotForThisKind
        );
    }
}

#[test]
fn deferred_prompts_reopen_when_due_and_still_holding() {
    let kind = PromptKind::PersistentImpairment;
    let d = PromptState::Deferred { until: NOW };
    assert_eq!(reopen_due(&d, kind, NOW - 1, true), d);
    assert_eq!(reopen_due(&d, kind, NOW, true), PromptState::Open);
    assert_eq!(reopen_due(&d, kind, NOW + DAY, false), d);
    // Open and resolved prompts never change with time: nothing expires.
    let resolved = PromptState::Resolved { response: discussed("x"), safety_action: None };
    for k in PromptKind::ALL {
        for held in [true, false] {
            assert_eq!(reopen_due(&PromptState::Open, k, i64::MAX, held), PromptState::Open);
            assert_eq!(reopen_due(&resolved, k, i64::MAX, held), resolved);
        }
    }
    // A deferred safety prompt (bad data) is reopened at once.
    assert_eq!(reopen_due(&PromptState::Deferred { until: i64::MAX }, PromptKind::Safety, 0, false), PromptState::Open);
}

#[test]
fn api_shaped_json() {
    let a: Action = serde_json::from_str(
        r#"{"response": {"response": "referral_offered", "to": "Dr Smith, GP"}, "safety_action": {"what_was_done": "Called the crisis line with the client"}}"#,
    )
    .unwrap();
    assert_eq!(a.response, Response::ReferralOffered { to: Some("Dr Smith, GP".into()) });
    let d: Response = serde_json::from_str(r#"{"response": "deferred", "date": 1767603600}"#).unwrap();
    assert_eq!(d.as_str(), "deferred");
    assert!(serde_json::from_str::<Response>(r#"{"response": "expired"}"#).is_err());
    let s = serde_json::to_value(PromptState::Deferred { until: 5 }).unwrap();
    assert_eq!(s, serde_json::json!({"state": "deferred", "until": 5}));
    assert_eq!(PromptState::Open.as_str(), "open");
    assert!(PromptState::Open.is_open());
}
