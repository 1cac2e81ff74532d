//! Options and their IPDAS description: the offered defaults and the balance check.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::decisions::options::{
    AttributeEntry, AttributeKind, CHECK_IN_AFTER_WEEKS_MAX, CHECK_IN_AFTER_WEEKS_MIN, DecisionOption, Detail, OfferedOption, OptionOrigin,
    Warning, balance_check, default_options, full_months_between,
};
use concord_domain::decisions::text::{EntryText, OptionName, SourceRef};
use concord_domain::decisions::{DIRECTIVE_PHRASES, directive_phrase};
use proptest::prelude::*;
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 03 - 31);

fn entry(text: &str, reviewed_on: Option<Date>) -> AttributeEntry {
    AttributeEntry::new(EntryText::parse(text).unwrap(), vec![SourceRef::parse("NICE NG222 (2022)").unwrap()], reviewed_on).unwrap()
}

/// An option with one entry per attribute, benefits and harms of the same length.
fn balanced() -> DecisionOption {
    let mut o = DecisionOption::offered(OfferedOption::MedicationEvaluationReferral);
    let reviewed = Some(date!(2026 - 01 - 15));
    o.add_entry(AttributeKind::Benefits, entry("Many people feel their mood lift over some weeks.", reviewed)).unwrap();
    o.add_entry(AttributeKind::Harms, entry("Some people get side effects, often in the first weeks", reviewed)).unwrap();
    o.add_entry(AttributeKind::LivingWithIt, entry("A daily tablet and a few follow-up appointments.", reviewed)).unwrap();
    o.add_entry(AttributeKind::TimeToEffect, entry("Usually two to six weeks before a change is noticed.", reviewed)).unwrap();
    o.add_entry(AttributeKind::PracticalConsiderations, entry("An appointment with a GP or psychiatrist; possible costs.", reviewed))
        .unwrap();
    o
}

#[test]
fn offered_defaults() {
    let opts = default_options();
    assert_eq!(opts.len(), 2);
    assert_eq!(opts[0].name().as_str(), "Referral for a medication evaluation");
    assert_eq!(opts[0].origin(), OptionOrigin::Offered(OfferedOption::MedicationEvaluationReferral));
    assert_eq!(opts[1].name().as_str(), "Continue therapy with lifestyle strategies");
    for kind in OfferedOption::ALL {
        // The shipped names are valid option names, and nothing offered reads as advice.
        assert_eq!(OptionName::parse(kind.name()).unwrap().as_str(), kind.name());
        assert_eq!(directive_phrase(kind.summary()), None, "{kind:?}");
    }
    let s = OfferedOption::TherapyWithLifestyleStrategies.summary();
    assert!(s.contains("sleep") && s.contains("activity scheduling"));
    assert!(s.contains(&format!("{CHECK_IN_AFTER_WEEKS_MIN} to {CHECK_IN_AFTER_WEEKS_MAX} weeks")));

    let own = DecisionOption::client_added(OptionName::parse("Talk to my sister first").unwrap());
    assert_eq!(own.origin(), OptionOrigin::ClientAdded);
    assert!(OptionName::parse(" ").is_err());
}

#[test]
fn a_balanced_current_option_has_no_warnings() {
    assert_eq!(balance_check(&balanced(), TODAY, 12), vec![]);
}

#[test]
fn an_empty_option_asks_for_everything() {
    let o = DecisionOption::client_added(OptionName::parse("Wait and see").unwrap());
    assert_eq!(
        balance_check(&o, TODAY, 12),
        vec![
            Warning::NoBenefits,
            Warning::NoHarms,
            Warning::MissingAttribute { attribute: AttributeKind::LivingWithIt },
            Warning::MissingAttribute { attribute: AttributeKind::TimeToEffect },
            Warning::MissingAttribute { attribute: AttributeKind::PracticalConsiderations },
        ]
    );
}

#[test]
fn unequal_space_for_pros_and_cons_is_flagged() {
    // Benefits 3 × longer than harms.
    let mut o = balanced();
    o.add_entry(AttributeKind::Benefits, entry(&"b".repeat(120), Some(date!(2026 - 01 - 15)))).unwrap();
    let w = balance_check(&o, TODAY, 12);
    assert!(
        matches!(w.as_slice(), [Warning::UnequalDetail { benefits: Detail { entries: 2, .. }, harms: Detail { entries: 1, .. } }]),
        "{w:?}"
    );

    // Same length in total, but three entries against one.
    let mut o = DecisionOption::client_added(OptionName::parse("x").unwrap());
    for _ in 0..3 {
        o.add_entry(AttributeKind::Benefits, entry("abc", None)).unwrap();
    }
    o.add_entry(AttributeKind::Harms, entry("abcdefghi", None)).unwrap();
    assert!(balance_check(&o, TODAY, 12).iter().any(|w| matches!(w, Warning::UnequalDetail { .. })));

    // One entry of difference and lengths within 1.5×: fine.
    let mut o = DecisionOption::client_added(OptionName::parse("x").unwrap());
    o.add_entry(AttributeKind::Benefits, entry("abcdef", None)).unwrap();
    o.add_entry(AttributeKind::Benefits, entry("abcdef", None)).unwrap();
    o.add_entry(AttributeKind::Harms, entry("abcdefghi", None)).unwrap();
    assert!(!balance_check(&o, TODAY, 12).iter().any(|w| matches!(w, Warning::UnequalDetail { .. })));
}

#[test]
fn sources_and_review_dates() {
    let mut o = balanced();
    let no_source = AttributeEntry::new(EntryText::parse("Costs vary by plan.").unwrap(), vec![], None).unwrap();
    o.add_entry(AttributeKind::PracticalConsiderations, no_source).unwrap();
    let w = balance_check(&o, TODAY, 12);
    assert_eq!(
        w,
        vec![
            Warning::MissingSources { attribute: AttributeKind::PracticalConsiderations, entry: 1 },
            Warning::MissingReviewDate { attribute: AttributeKind::PracticalConsiderations, entry: 1 },
        ]
    );
    assert_eq!(w[0].message(), "Practical considerations, entry 2: no source is given.");
}

#[test]
fn review_age_boundary_is_calendar_months() {
    // Today 2026-03-31, at most 1 month old: the cut-off is 2026-02-28 (day clamped).
    let with_review = |d: Date| {
        let mut o = balanced();
        o.add_entry(AttributeKind::TimeToEffect, entry("x", Some(d))).unwrap();
        balance_check(&o, TODAY, 1).into_iter().filter(|w| matches!(w, Warning::ReviewOutdated { entry: 1, .. })).collect::<Vec<_>>()
    };
    // (The other entries, reviewed 2026-01-15, are older than a month: filtered out here.)
    assert!(with_review(date!(2026 - 02 - 28)).is_empty());
    assert_eq!(
        with_review(date!(2026 - 02 - 27)),
        vec![Warning::ReviewOutdated {
            attribute: AttributeKind::TimeToEffect,
            entry: 1,
            reviewed_on: date!(2026 - 02 - 27),
            months_old: 1
        }]
    );
    // 12 months: exactly a year old is fine, a day more is not.
    let o = |d: Date| {
        let mut o = DecisionOption::client_added(OptionName::parse("x").unwrap());
        o.add_entry(AttributeKind::Benefits, entry("same length", Some(d))).unwrap();
        o.add_entry(AttributeKind::Harms, entry("same length", Some(d))).unwrap();
        balance_check(&o, date!(2026 - 03 - 10), 12)
    };
    assert!(!o(date!(2025 - 03 - 10)).iter().any(|w| matches!(w, Warning::ReviewOutdated { .. })));
    let w = o(date!(2025 - 03 - 09));
    assert!(w.iter().any(|w| matches!(w, Warning::ReviewOutdated { months_old: 12, .. })), "{w:?}");
    // A review date in the future is flagged too.
    assert!(o(date!(2026 - 03 - 11)).iter().any(|w| matches!(w, Warning::ReviewDateInFuture { .. })));
}

#[test]
fn directive_wording_is_flagged() {
    let mut o = balanced();
    o.add_entry(AttributeKind::LivingWithIt, entry("You SHOULD take it every morning.", Some(date!(2026 - 01 - 15)))).unwrap();
    let w = balance_check(&o, TODAY, 12);
    assert_eq!(w, vec![Warning::DirectiveWording { attribute: AttributeKind::LivingWithIt, entry: 1, phrase: "you should".to_owned() }]);
    assert!(DIRECTIVE_PHRASES.iter().all(|p| p.to_lowercase() == *p));
}

#[test]
fn entries_are_bounded_and_removable() {
    let mut o = DecisionOption::client_added(OptionName::parse("x").unwrap());
    for _ in 0..DecisionOption::MAX_ENTRIES {
        o.add_entry(AttributeKind::Harms, entry("h", None)).unwrap();
    }
    assert!(o.add_entry(AttributeKind::Harms, entry("h", None)).is_err());
    assert!(o.remove_entry(AttributeKind::Harms, DecisionOption::MAX_ENTRIES).is_none());
    assert!(o.remove_entry(AttributeKind::Benefits, 0).is_none());
    assert!(o.remove_entry(AttributeKind::Harms, 0).is_some());
    assert_eq!(o.entries(AttributeKind::Harms).len(), DecisionOption::MAX_ENTRIES - 1);
    let too_many: Vec<SourceRef> = (0..11).map(|i| SourceRef::parse(&format!("s{i}")).unwrap()).collect();
    assert!(AttributeEntry::new(EntryText::parse("t").unwrap(), too_many, None).is_err());
}

#[test]
fn option_json_round_trips() {
    let o = balanced();
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["origin"], serde_json::json!({"origin": "offered", "offered": "medication_evaluation_referral"}));
    assert_eq!(json["attributes"]["harms"][0]["reviewed_on"], "2026-01-15");
    let back: DecisionOption = serde_json::from_value(json).unwrap();
    assert_eq!(back, o);
}

#[test]
fn full_months() {
    assert_eq!(full_months_between(date!(2025 - 03 - 10), date!(2026 - 03 - 10)), 12);
    assert_eq!(full_months_between(date!(2025 - 03 - 10), date!(2026 - 03 - 09)), 11);
    assert_eq!(full_months_between(date!(2026 - 03 - 10), date!(2025 - 03 - 10)), 0);
}

proptest! {
    #[test]
    fn balance_check_never_panics(
        texts in prop::collection::vec(("\\PC{1,80}", 0usize..5, prop::option::of(-4000i64..4000), any::<bool>()), 0..12),
        months in any::<u32>(),
        today_offset in -700_000i64..700_000,
    ) {
        let today = date!(2000 - 01 - 01) + time::Duration::days(today_offset);
        let mut o = DecisionOption::client_added(OptionName::parse("x").unwrap());
        for (t, k, rev, with_source) in texts {
            let Ok(text) = EntryText::parse(&t) else { continue };
            let sources = if with_source { vec![SourceRef::parse("NIMH").unwrap()] } else { vec![] };
            let reviewed = rev.and_then(|d| today.checked_add(time::Duration::days(d)));
            let e = AttributeEntry::new(text, sources, reviewed).unwrap();
            let _ = o.add_entry(AttributeKind::ALL[k], e);
        }
        for w in balance_check(&o, today, months) {
            prop_assert!(!w.message().is_empty());
        }
    }
}
