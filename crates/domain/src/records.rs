//! The clinical record's documents (issue 4): session notes with their medication
//! conversation, and the client's safety plan. Parsed once at the edge into checked values.
//!
//! Records rules (PRODUCT.md): a signed note is immutable and corrected only by addenda;
//! psychotherapy (process) notes are kept apart and never leave the practice (no export,
//! letter, dossier or portal). The safety plan follows Stanley & Brown's seven sections.

use serde::{Deserialize, Serialize};
use time::Date;

/// Longest free-text field, in characters (a note body, one plan entry, …).
pub const MAX_BODY_CHARS: usize = 20_000;
/// Most entries in one safety-plan section.
pub const MAX_SECTION_ENTRIES: usize = 30;
/// Longest safety-plan entry, in characters.
pub const MAX_ENTRY_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

fn check_len(field: &str, s: &str, max: usize) -> Result<(), RecordError> {
    if s.chars().count() > max {
        return Err(RecordError(format!("{field} must be at most {max} characters")));
    }
    Ok(())
}

/// What kind of note. Process notes are the therapist's own working notes (HIPAA
/// psychotherapy notes): kept apart from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Progress,
    Process,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Progress => "progress",
            NoteKind::Process => "process",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "progress" => Some(NoteKind::Progress),
            "process" => Some(NoteKind::Process),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteStatus {
    Draft,
    Signed,
}

impl NoteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteStatus::Draft => "draft",
            NoteStatus::Signed => "signed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(NoteStatus::Draft),
            "signed" => Some(NoteStatus::Signed),
            _ => None,
        }
    }
}

/// Who raised medication in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaisedBy {
    Client,
    Therapist,
    Prescriber,
    Family,
    Other,
}

impl RaisedBy {
    pub const ALL: [RaisedBy; 5] = [RaisedBy::Client, RaisedBy::Therapist, RaisedBy::Prescriber, RaisedBy::Family, RaisedBy::Other];
    pub fn as_str(self) -> &'static str {
        match self {
            RaisedBy::Client => "client",
            RaisedBy::Therapist => "therapist",
            RaisedBy::Prescriber => "prescriber",
            RaisedBy::Family => "family",
            RaisedBy::Other => "other",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            RaisedBy::Client => "The client",
            RaisedBy::Therapist => "The therapist",
            RaisedBy::Prescriber => "A prescriber",
            RaisedBy::Family => "Family or a friend",
            RaisedBy::Other => "Someone else",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        RaisedBy::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The structured medication conversation of a note: who raised it, the client's hopes and
/// concerns, what information was given, whether a referral was offered and to whom, how the
/// client responded (their words), the plan, and when to follow up. Every text is optional
/// but at least one part must be filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicationConversation {
    #[serde(default)]
    pub raised_by: Option<RaisedBy>,
    #[serde(default)]
    pub hopes: Option<String>,
    #[serde(default)]
    pub concerns: Option<String>,
    #[serde(default)]
    pub information_given: Option<String>,
    #[serde(default)]
    pub referral_offered: bool,
    #[serde(default)]
    pub referred_to: Option<String>,
    #[serde(default)]
    pub client_response: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default, with = "crate::decisions::date_iso::option")]
    pub follow_up_date: Option<Date>,
}

impl MedicationConversation {
    /// Trims texts (blank becomes absent) and checks lengths; refuses an empty conversation
    /// and a recipient without an offered referral.
    pub fn checked(mut self) -> Result<Self, RecordError> {
        let fields: [(&str, &mut Option<String>); 6] = [
            ("hopes", &mut self.hopes),
            ("concerns", &mut self.concerns),
            ("information_given", &mut self.information_given),
            ("referred_to", &mut self.referred_to),
            ("client_response", &mut self.client_response),
            ("plan", &mut self.plan),
        ];
        for (name, v) in fields {
            let t = v.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
            if let Some(t) = &t {
                check_len(&format!("medication_conversation.{name}"), t, MAX_BODY_CHARS)?;
            }
            *v = t;
        }
        if self.referred_to.is_some() && !self.referral_offered {
            return Err(RecordError("medication_conversation.referred_to needs referral_offered: true".into()));
        }
        let empty = self.raised_by.is_none()
            && self.hopes.is_none()
            && self.concerns.is_none()
            && self.information_given.is_none()
            && !self.referral_offered
            && self.client_response.is_none()
            && self.plan.is_none()
            && self.follow_up_date.is_none();
        if empty {
            return Err(RecordError("medication_conversation is empty: fill in at least one part, or leave it out".into()));
        }
        Ok(self)
    }

    /// One line for the timeline (no free text beyond what the clinician wrote in the parts).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.raised_by {
            parts.push(format!("raised by {}", r.label().to_lowercase()));
        }
        if self.referral_offered {
            parts.push(match &self.referred_to {
                Some(to) => format!("referral offered to {to}"),
                None => "referral offered".to_owned(),
            });
        }
        if let Some(d) = self.follow_up_date {
            parts.push(format!("follow up {}", crate::values::format_date(d)));
        }
        if parts.is_empty() { "Medication conversation".to_owned() } else { format!("Medication conversation: {}", parts.join("; ")) }
    }
}

/// A note body: non-empty, bounded.
pub fn checked_body(raw: &str, field: &str) -> Result<String, RecordError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(RecordError(format!("{field} must not be empty")));
    }
    check_len(field, t, MAX_BODY_CHARS)?;
    Ok(t.to_owned())
}

/// A safety plan (Stanley & Brown, Safety Planning Intervention): seven sections, each a list
/// of the client's own entries, in their words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyPlan {
    #[serde(default)]
    pub warning_signs: Vec<String>,
    #[serde(default)]
    pub internal_coping: Vec<String>,
    #[serde(default)]
    pub distractions: Vec<String>,
    #[serde(default)]
    pub people_to_ask: Vec<String>,
    #[serde(default)]
    pub professionals: Vec<String>,
    #[serde(default)]
    pub safer_environment: Vec<String>,
    #[serde(default)]
    pub reasons_for_living: Vec<String>,
}

/// One section of the plan: its JSON field, its heading, and a prompt for the client.
#[derive(Debug, Clone, Copy)]
pub struct PlanSection {
    pub field: &'static str,
    pub heading: &'static str,
    pub hint: &'static str,
}

pub const PLAN_SECTIONS: [PlanSection; 7] = [
    PlanSection {
        field: "warning_signs",
        heading: "Warning signs",
        hint: "Thoughts, feelings or situations that tell me a crisis may be coming",
    },
    PlanSection {
        field: "internal_coping",
        heading: "Things I can do on my own",
        hint: "What helps me take my mind off things without contacting anyone",
    },
    PlanSection {
        field: "distractions",
        heading: "People and places that distract me",
        hint: "People and social settings that help me feel better",
    },
    PlanSection { field: "people_to_ask", heading: "People I can ask for help", hint: "Names and how to reach them" },
    PlanSection {
        field: "professionals",
        heading: "Professionals and services I can contact",
        hint: "My therapist, my doctor, local crisis services (crisis lines are listed below the plan)",
    },
    PlanSection { field: "safer_environment", heading: "Making my surroundings safer", hint: "Steps to keep means of harm out of reach" },
    PlanSection { field: "reasons_for_living", heading: "My reasons for living", hint: "What matters most to me" },
];

impl SafetyPlan {
    /// The entries of a section by its field name.
    pub fn section(&self, field: &str) -> &[String] {
        match field {
            "warning_signs" => &self.warning_signs,
            "internal_coping" => &self.internal_coping,
            "distractions" => &self.distractions,
            "people_to_ask" => &self.people_to_ask,
            "professionals" => &self.professionals,
            "safer_environment" => &self.safer_environment,
            "reasons_for_living" => &self.reasons_for_living,
            _ => &[],
        }
    }

    pub fn section_mut(&mut self, field: &str) -> Option<&mut Vec<String>> {
        match field {
            "warning_signs" => Some(&mut self.warning_signs),
            "internal_coping" => Some(&mut self.internal_coping),
            "distractions" => Some(&mut self.distractions),
            "people_to_ask" => Some(&mut self.people_to_ask),
            "professionals" => Some(&mut self.professionals),
            "safer_environment" => Some(&mut self.safer_environment),
            "reasons_for_living" => Some(&mut self.reasons_for_living),
            _ => None,
        }
    }

    /// Trims entries, drops blank ones, checks sizes; refuses a plan with no entry at all.
    pub fn checked(mut self) -> Result<Self, RecordError> {
        for s in PLAN_SECTIONS {
            let Some(entries) = self.section_mut(s.field) else { continue };
            let cleaned: Vec<String> = entries.iter().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect();
            if cleaned.len() > MAX_SECTION_ENTRIES {
                return Err(RecordError(format!("{} has more than {MAX_SECTION_ENTRIES} entries", s.field)));
            }
            for e in &cleaned {
                check_len(s.field, e, MAX_ENTRY_CHARS)
                    .map_err(|_| RecordError(format!("each entry of {} must be at most {MAX_ENTRY_CHARS} characters", s.field)))?;
            }
            *entries = cleaned;
        }
        if self.is_empty() {
            return Err(RecordError("a safety plan needs at least one entry".into()));
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        PLAN_SECTIONS.iter().all(|s| self.section(s.field).is_empty())
    }

    /// Builds a plan from one text per section, one entry per line (the page's form).
    pub fn from_lines(get: impl Fn(&str) -> Option<String>) -> Self {
        let mut plan = SafetyPlan::default();
        for s in PLAN_SECTIONS {
            if let (Some(text), Some(entries)) = (get(s.field), plan.section_mut(s.field)) {
                *entries = text.lines().map(str::to_owned).collect();
            }
        }
        plan
    }
}

/// A crisis line shown with every safety plan and safety prompt.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CrisisLine {
    pub name: &'static str,
    pub contact: &'static str,
    pub region: &'static str,
}

/// Crisis resources shipped with Concord (public numbers; sources: 988lifeline.org,
/// samaritans.org, findahelpline.com). Emergency services first.
pub const CRISIS_LINES: [CrisisLine; 4] = [
    CrisisLine { name: "Emergency services", contact: "911 (US), 999 (UK), 112 (EU)", region: "If life is in immediate danger" },
    CrisisLine { name: "988 Suicide & Crisis Lifeline", contact: "call or text 988", region: "United States" },
    CrisisLine { name: "Samaritans", contact: "116 123 (free, 24 hours)", region: "UK and Ireland" },
    CrisisLine { name: "Find a Helpline", contact: "findahelpline.com", region: "Other countries" },
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn medication_conversation_needs_content_and_consistent_referral() {
        assert!(MedicationConversation::default().checked().is_err());
        let blank = MedicationConversation { hopes: Some("   ".into()), ..Default::default() };
        assert!(blank.checked().is_err());
        let to_without_offer = MedicationConversation { referred_to: Some("Dr Lee".into()), ..Default::default() };
        assert!(to_without_offer.checked().unwrap_err().0.contains("referral_offered"));
        let ok = MedicationConversation { raised_by: Some(RaisedBy::Client), hopes: Some(" sleep better ".into()), ..Default::default() };
        let ok = ok.checked().unwrap();
        assert_eq!(ok.hopes.as_deref(), Some("sleep better"));
        assert_eq!(ok.summary(), "Medication conversation: raised by the client");
    }

    #[test]
    fn medication_conversation_json_refuses_unknown_fields_and_bad_dates() {
        assert!(serde_json::from_str::<MedicationConversation>(r#"{"hopes":"x","mood":"y"}"#).is_err());
        assert!(serde_json::from_str::<MedicationConversation>(r#"{"follow_up_date":"21/11/2026"}"#).is_err());
        let m: MedicationConversation = serde_json::from_str(r#"{"raised_by":"therapist","follow_up_date":"2026-12-01"}"#).unwrap();
        assert_eq!(m.raised_by, Some(RaisedBy::Therapist));
    }

    #[test]
    fn safety_plan_is_trimmed_bounded_and_not_empty() {
        assert!(SafetyPlan::default().checked().is_err());
        let p = SafetyPlan { warning_signs: vec!["  not sleeping ".into(), "".into()], ..Default::default() }.checked().unwrap();
        assert_eq!(p.warning_signs, vec!["not sleeping"]);
        let long = SafetyPlan { reasons_for_living: vec!["x".repeat(MAX_ENTRY_CHARS + 1)], ..Default::default() };
        assert!(long.checked().is_err());
        let many = SafetyPlan { people_to_ask: vec!["a".into(); MAX_SECTION_ENTRIES + 1], ..Default::default() };
        assert!(many.checked().is_err());
    }

    #[test]
    fn safety_plan_from_lines_fills_each_section() {
        let p = SafetyPlan::from_lines(|f| (f == "reasons_for_living").then(|| "my dog\nmy sister".to_owned()));
        assert_eq!(p.reasons_for_living, vec!["my dog", "my sister"]);
        assert_eq!(p.section("warning_signs").len(), 0);
        for s in PLAN_SECTIONS {
            assert!(SafetyPlan::default().section(s.field).is_empty());
        }
    }

    #[test]
    fn body_is_required_and_bounded() {
        assert!(checked_body("  ", "body").is_err());
        assert!(checked_body(&"x".repeat(MAX_BODY_CHARS + 1), "body").is_err());
        assert_eq!(checked_body(" ok ", "body").unwrap(), "ok");
    }
}
