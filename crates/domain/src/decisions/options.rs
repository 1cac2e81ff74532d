//! The options, side by side, described the IPDAS way: benefits, harms, what living with the
//! option is like, time to effect and practical considerations, each entry with its sources
//! and a review date, and equal detail for pros and cons.
//!
//! Concord offers two options by default ([`OfferedOption`]); the client may add their own.
//! The descriptions themselves come from the clinician-reviewed psychoeducation library; this
//! module holds them and checks their balance ([`balance_check`]). It never ranks options.

use super::date_iso;
use super::text::{EntryText, OptionName, SourceRef};
use crate::values::{ValueError, format_date};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use time::{Date, Month};

/// Fewest weeks before the check-in of the therapy-and-lifestyle option.
pub const CHECK_IN_AFTER_WEEKS_MIN: u8 = 4;
/// Most weeks before the check-in of the therapy-and-lifestyle option.
pub const CHECK_IN_AFTER_WEEKS_MAX: u8 = 6;

/// The options Concord offers in every decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferedOption {
    /// A referral to a prescriber for a medication evaluation.
    MedicationEvaluationReferral,
    /// Continue therapy, add lifestyle strategies (sleep, activity scheduling), check in after
    /// 4–6 weeks.
    TherapyWithLifestyleStrategies,
}

impl OfferedOption {
    pub const ALL: [OfferedOption; 2] = [OfferedOption::MedicationEvaluationReferral, OfferedOption::TherapyWithLifestyleStrategies];

    pub fn as_str(self) -> &'static str {
        match self {
            OfferedOption::MedicationEvaluationReferral => "medication_evaluation_referral",
            OfferedOption::TherapyWithLifestyleStrategies => "therapy_with_lifestyle_strategies",
        }
    }

    /// The option's name as shown side by side with the others.
    pub fn name(self) -> &'static str {
        match self {
            OfferedOption::MedicationEvaluationReferral => "Referral for a medication evaluation",
            OfferedOption::TherapyWithLifestyleStrategies => "Continue therapy with lifestyle strategies",
        }
    }

    /// One neutral sentence saying what the option is.
    pub fn summary(self) -> &'static str {
        match self {
            OfferedOption::MedicationEvaluationReferral => {
                "Meet a prescriber (a GP or a psychiatrist) to talk about whether medication could help; \
                 going to the appointment does not commit you to taking anything."
            }
            OfferedOption::TherapyWithLifestyleStrategies => {
                "Keep working in therapy and add lifestyle strategies such as regular sleep and activity scheduling, \
                 then check in together after 4 to 6 weeks to see how things are going."
            }
        }
    }
}

/// Whether an option is one Concord offers or one the client added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "origin", content = "offered", rename_all = "snake_case")]
pub enum OptionOrigin {
    Offered(OfferedOption),
    ClientAdded,
}

/// The IPDAS attributes every option is described by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    Benefits,
    Harms,
    LivingWithIt,
    TimeToEffect,
    PracticalConsiderations,
}

impl AttributeKind {
    pub const ALL: [AttributeKind; 5] = [
        AttributeKind::Benefits,
        AttributeKind::Harms,
        AttributeKind::LivingWithIt,
        AttributeKind::TimeToEffect,
        AttributeKind::PracticalConsiderations,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::Benefits => "benefits",
            AttributeKind::Harms => "harms",
            AttributeKind::LivingWithIt => "living_with_it",
            AttributeKind::TimeToEffect => "time_to_effect",
            AttributeKind::PracticalConsiderations => "practical_considerations",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AttributeKind::Benefits => "Possible benefits",
            AttributeKind::Harms => "Possible harms and downsides",
            AttributeKind::LivingWithIt => "What living with it is like",
            AttributeKind::TimeToEffect => "Time to effect",
            AttributeKind::PracticalConsiderations => "Practical considerations",
        }
    }
}

impl std::str::FromStr for AttributeKind {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttributeKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            ValueError::Invalid("attribute must be benefits, harms, living_with_it, time_to_effect or practical_considerations".to_owned())
        })
    }
}

impl fmt::Display for AttributeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry describing an option, with where it comes from and when it was last reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeEntry {
    text: EntryText,
    sources: Vec<SourceRef>,
    #[serde(with = "date_iso::option")]
    reviewed_on: Option<Date>,
}

impl AttributeEntry {
    /// Most sources one entry may list.
    pub const MAX_SOURCES: usize = 10;

    /// An entry. Missing sources or review date are allowed (a draft) but flagged by
    /// [`balance_check`].
    pub fn new(text: EntryText, sources: Vec<SourceRef>, reviewed_on: Option<Date>) -> Result<Self, ValueError> {
        if sources.len() > Self::MAX_SOURCES {
            return Err(ValueError::Invalid(format!("an entry may list at most {} sources", Self::MAX_SOURCES)));
        }
        Ok(Self { text, sources, reviewed_on })
    }
    pub fn text(&self) -> &EntryText {
        &self.text
    }
    pub fn sources(&self) -> &[SourceRef] {
        &self.sources
    }
    pub fn reviewed_on(&self) -> Option<Date> {
        self.reviewed_on
    }
}

/// An option with its IPDAS description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionOption {
    name: OptionName,
    origin: OptionOrigin,
    attributes: BTreeMap<AttributeKind, Vec<AttributeEntry>>,
}

impl DecisionOption {
    /// Most entries one attribute may hold.
    pub const MAX_ENTRIES: usize = 20;

    /// One of the options Concord offers, not yet described.
    pub fn offered(kind: OfferedOption) -> Self {
        // The shipped names are valid option names (a test parses each of them).
        Self { name: OptionName(kind.name().to_owned()), origin: OptionOrigin::Offered(kind), attributes: BTreeMap::new() }
    }

    /// An option the client added, in their words.
    pub fn client_added(name: OptionName) -> Self {
        Self { name, origin: OptionOrigin::ClientAdded, attributes: BTreeMap::new() }
    }

    pub fn name(&self) -> &OptionName {
        &self.name
    }
    pub fn origin(&self) -> OptionOrigin {
        self.origin
    }

    pub fn rename(&mut self, name: OptionName) {
        self.name = name;
    }

    /// The entries for one attribute, in the order they were added.
    pub fn entries(&self, kind: AttributeKind) -> &[AttributeEntry] {
        self.attributes.get(&kind).map_or(&[], Vec::as_slice)
    }

    pub fn add_entry(&mut self, kind: AttributeKind, entry: AttributeEntry) -> Result<(), ValueError> {
        let list = self.attributes.entry(kind).or_default();
        if list.len() >= Self::MAX_ENTRIES {
            return Err(ValueError::Invalid(format!("{} may hold at most {} entries", kind.label(), Self::MAX_ENTRIES)));
        }
        list.push(entry);
        Ok(())
    }

    /// Removes an entry by its 0-based position; `None` when there is no such entry.
    pub fn remove_entry(&mut self, kind: AttributeKind, index: usize) -> Option<AttributeEntry> {
        let list = self.attributes.get_mut(&kind)?;
        (index < list.len()).then(|| list.remove(index))
    }
}

/// The options every decision starts with, in the order shown.
pub fn default_options() -> Vec<DecisionOption> {
    OfferedOption::ALL.into_iter().map(DecisionOption::offered).collect()
}

/// How much space one side (pros or cons) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub entries: usize,
    pub chars: usize,
}

/// Something to fix in an option's description before it is shown as balanced information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// No benefits are described.
    NoBenefits,
    /// No harms or downsides are described.
    NoHarms,
    /// Benefits and harms are not given equal space (IPDAS: equal detail).
    UnequalDetail { benefits: Detail, harms: Detail },
    /// An IPDAS attribute other than benefits and harms is empty.
    MissingAttribute { attribute: AttributeKind },
    /// An entry cites no source.
    MissingSources { attribute: AttributeKind, entry: usize },
    /// An entry has no review date.
    MissingReviewDate { attribute: AttributeKind, entry: usize },
    /// An entry was last reviewed longer ago than allowed.
    ReviewOutdated {
        attribute: AttributeKind,
        entry: usize,
        #[serde(with = "date_iso")]
        reviewed_on: Date,
        months_old: u32,
    },
    /// An entry's review date is after today.
    ReviewDateInFuture {
        attribute: AttributeKind,
        entry: usize,
        #[serde(with = "date_iso")]
        reviewed_on: Date,
    },
    /// An entry reads as advice ("you should …"); Concord informs, never recommends.
    DirectiveWording { attribute: AttributeKind, entry: usize, phrase: String },
}

impl Warning {
    /// A sentence for the editor.
    pub fn message(&self) -> String {
        let at = |a: &AttributeKind, e: &usize| format!("{}, entry {}", a.label(), e.saturating_add(1));
        match self {
            Warning::NoBenefits => "No benefits are described yet.".to_owned(),
            Warning::NoHarms => "No harms or downsides are described yet.".to_owned(),
            Warning::UnequalDetail { benefits, harms } => format!(
                "Benefits and harms are not given equal space ({} entries, {} characters of benefits; {} entries, {} characters of harms).",
                benefits.entries, benefits.chars, harms.entries, harms.chars
            ),
            Warning::MissingAttribute { attribute } => format!("\"{}\" is not described yet.", attribute.label()),
            Warning::MissingSources { attribute, entry } => format!("{}: no source is given.", at(attribute, entry)),
            Warning::MissingReviewDate { attribute, entry } => format!("{}: no review date.", at(attribute, entry)),
            Warning::ReviewOutdated { attribute, entry, reviewed_on, months_old } => {
                format!(
                    "{}: last reviewed {} ({months_old} months ago); please review it.",
                    at(attribute, entry),
                    format_date(*reviewed_on)
                )
            }
            Warning::ReviewDateInFuture { attribute, entry, reviewed_on } => {
                format!("{}: the review date {} is in the future.", at(attribute, entry), format_date(*reviewed_on))
            }
            Warning::DirectiveWording { attribute, entry, phrase } => {
                format!("{}: \"{phrase}\" reads as advice; describe, do not recommend.", at(attribute, entry))
            }
        }
    }
}

/// Benefits and harms count as unequal when one side's text is more than half as long
/// again as the other's (`longer > 1.5 × shorter`) ...
pub const DETAIL_RATIO_NUM: usize = 3;
pub const DETAIL_RATIO_DEN: usize = 2;
/// ... or when they differ by more than this many entries.
pub const DETAIL_ENTRY_DIFFERENCE: usize = 1;

fn detail(entries: &[AttributeEntry]) -> Detail {
    Detail { entries: entries.len(), chars: entries.iter().map(|e| e.text.as_str().chars().count()).sum() }
}

/// Full calendar months from `earlier` to `later` (0 when `later` is not after `earlier`).
pub fn full_months_between(earlier: Date, later: Date) -> u32 {
    if later <= earlier {
        return 0;
    }
    let months = (i64::from(later.year()) - i64::from(earlier.year())) * 12 + i64::from(u8::from(later.month()))
        - i64::from(u8::from(earlier.month()));
    let months = if later.day() < earlier.day() { months - 1 } else { months };
    u32::try_from(months.max(0)).unwrap_or(u32::MAX)
}

/// `today` minus `months` calendar months, the day clamped to the month's length; `None`
/// when that is outside the supported dates.
fn months_before(today: Date, months: u32) -> Option<Date> {
    let total = i64::from(today.year()) * 12 + i64::from(u8::from(today.month())) - 1 - i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = today.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).ok()
}

/// Checks an option's description for balance and currency (IPDAS):
/// - benefits and harms both present and given roughly equal space
///   ([`DETAIL_RATIO_NUM`]/[`DETAIL_RATIO_DEN`], [`DETAIL_ENTRY_DIFFERENCE`]);
/// - the other attributes described;
/// - every entry with a source and a review date no older than `max_review_age_months`
///   before `today`, and not after it;
/// - no entry phrased as advice ([`super::DIRECTIVE_PHRASES`]).
///
/// Warnings come in a stable order: balance first, then entries by attribute and position.
pub fn balance_check(option: &DecisionOption, today: Date, max_review_age_months: u32) -> Vec<Warning> {
    let mut out = Vec::new();
    let benefits = detail(option.entries(AttributeKind::Benefits));
    let harms = detail(option.entries(AttributeKind::Harms));
    if benefits.entries == 0 {
        out.push(Warning::NoBenefits);
    }
    if harms.entries == 0 {
        out.push(Warning::NoHarms);
    }
    if benefits.entries > 0 && harms.entries > 0 {
        let (long, short) = (benefits.chars.max(harms.chars), benefits.chars.min(harms.chars));
        let ratio_off = long.saturating_mul(DETAIL_RATIO_DEN) > short.saturating_mul(DETAIL_RATIO_NUM);
        let count_off = benefits.entries.abs_diff(harms.entries) > DETAIL_ENTRY_DIFFERENCE;
        if ratio_off || count_off {
            out.push(Warning::UnequalDetail { benefits, harms });
        }
    }
    for kind in [AttributeKind::LivingWithIt, AttributeKind::TimeToEffect, AttributeKind::PracticalConsiderations] {
        if option.entries(kind).is_empty() {
            out.push(Warning::MissingAttribute { attribute: kind });
        }
    }
    let cutoff = months_before(today, max_review_age_months);
    for kind in AttributeKind::ALL {
        for (i, e) in option.entries(kind).iter().enumerate() {
            if e.sources.is_empty() {
                out.push(Warning::MissingSources { attribute: kind, entry: i });
            }
            match e.reviewed_on {
                None => out.push(Warning::MissingReviewDate { attribute: kind, entry: i }),
                Some(d) if d > today => out.push(Warning::ReviewDateInFuture { attribute: kind, entry: i, reviewed_on: d }),
                Some(d) if cutoff.is_some_and(|c| d < c) => out.push(Warning::ReviewOutdated {
                    attribute: kind,
                    entry: i,
                    reviewed_on: d,
                    months_old: full_months_between(d, today),
                }),
                Some(_) => {}
            }
            if let Some(phrase) = super::directive_phrase(e.text.as_str()) {
                out.push(Warning::DirectiveWording { attribute: kind, entry: i, phrase: phrase.to_owned() });
            }
        }
    }
    out
}
