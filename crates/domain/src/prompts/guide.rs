//! The conversation guide shown beside prompts: open, non-directive phrasings for each
//! situation, written for Concord (not quoted from any manual). A practice edits and adds
//! entries; its rows replace shipped ones with the same key.
//!
//! Product rule: nothing here recommends a medication or persuades; phrasings ask, reflect
//! and offer, and treat "no" as a valid answer.

use super::PromptKind;
use serde::{Deserialize, Serialize};

/// The situations the guide covers, in the order a conversation tends to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Situation {
    OpeningTheTopic,
    Normalising,
    ExploringConcerns,
    RespectingAutonomy,
    ProposingATrial,
    WhenTheClientDeclines,
    CoordinatingWithAPrescriber,
    AttendingToTheRelationship,
    AskingAboutSafety,
}

impl Situation {
    pub const ALL: [Situation; 9] = [
        Situation::OpeningTheTopic,
        Situation::Normalising,
        Situation::ExploringConcerns,
        Situation::RespectingAutonomy,
        Situation::ProposingATrial,
        Situation::WhenTheClientDeclines,
        Situation::CoordinatingWithAPrescriber,
        Situation::AttendingToTheRelationship,
        Situation::AskingAboutSafety,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Situation::OpeningTheTopic => "opening_the_topic",
            Situation::Normalising => "normalising",
            Situation::ExploringConcerns => "exploring_concerns",
            Situation::RespectingAutonomy => "respecting_autonomy",
            Situation::ProposingATrial => "proposing_a_trial",
            Situation::WhenTheClientDeclines => "when_the_client_declines",
            Situation::CoordinatingWithAPrescriber => "coordinating_with_a_prescriber",
            Situation::AttendingToTheRelationship => "attending_to_the_relationship",
            Situation::AskingAboutSafety => "asking_about_safety",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Situation::OpeningTheTopic => "Opening the topic",
            Situation::Normalising => "Normalising",
            Situation::ExploringConcerns => "Exploring concerns and past experiences",
            Situation::RespectingAutonomy => "Respecting autonomy",
            Situation::ProposingATrial => "Proposing a 4–6 week trial with a check-in",
            Situation::WhenTheClientDeclines => "When the client declines despite need",
            Situation::CoordinatingWithAPrescriber => "Coordinating with a prescriber",
            Situation::AttendingToTheRelationship => "Attending to the relationship",
            Situation::AskingAboutSafety => "Asking about safety",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Situation::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The situations worth having at hand for a prompt of this kind.
    pub fn for_kind(kind: PromptKind) -> &'static [Situation] {
        match kind {
            PromptKind::NoProgressDespiteEngagement | PromptKind::PersistentImpairment | PromptKind::ReliableDeterioration => &[
                Situation::OpeningTheTopic,
                Situation::Normalising,
                Situation::ExploringConcerns,
                Situation::RespectingAutonomy,
                Situation::ProposingATrial,
                Situation::WhenTheClientDeclines,
                Situation::CoordinatingWithAPrescriber,
            ],
            PromptKind::AllianceDrop => &[Situation::AttendingToTheRelationship, Situation::RespectingAutonomy],
            PromptKind::Safety => &[Situation::AskingAboutSafety],
            PromptKind::OverdueMeasure => &[],
            PromptKind::DecisionRevisit => &[Situation::RespectingAutonomy, Situation::ExploringConcerns],
        }
    }
}

/// One guide entry: a stable key (a practice's edit keeps it), its situation, a title and the
/// phrasings (one per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideEntry {
    pub key: String,
    pub situation: Situation,
    pub title: String,
    pub body: String,
    /// Shipped with Concord (false for a practice's own entry or edit).
    pub shipped: bool,
}

const SHIPPED: [(&str, Situation, &str, &str); 10] = [
    (
        "opening",
        Situation::OpeningTheTopic,
        "Asking permission to raise it",
        "Would it be all right if we looked together at how things have been going over the last few weeks?\n\
         Your scores have stayed about where they were when we started. What do you make of that?\n\
         Some people in a similar place find it useful to hear about other kinds of help alongside our work. Would you like to talk about that, or leave it for now?",
    ),
    (
        "normalising",
        Situation::Normalising,
        "Making it ordinary to talk about",
        "Many people wonder at some point whether therapy on its own is enough, and it is a reasonable thing to wonder.\n\
         Talking about medication does not mean deciding anything today.\n\
         Whatever you decide, our work together continues.",
    ),
    (
        "exploring",
        Situation::ExploringConcerns,
        "Hearing the client's view first",
        "What have you heard or read about medication for how you've been feeling?\n\
         Have you or people close to you tried it before? What was that like?\n\
         What would worry you most about it? What, if anything, might you hope it could help with?",
    ),
    (
        "autonomy",
        Situation::RespectingAutonomy,
        "Handing the decision back",
        "This is your decision, and there is no right answer I am waiting for.\n\
         You know best how this fits with what matters to you.\n\
         We can come back to this whenever you want, or not at all.",
    ),
    (
        "trial",
        Situation::ProposingATrial,
        "A time-limited experiment",
        "How would it be to try something for four to six weeks — for example, working on sleep and planning a few activities each week — and then look at your scores together?\n\
         What would tell you, at the check-in, that things were moving in the right direction?\n\
         If nothing has changed by then, we could talk again about other options, including a medication evaluation, if you wish.",
    ),
    (
        "declines",
        Situation::WhenTheClientDeclines,
        "Respecting a no and keeping the door open",
        "Thank you for telling me. It makes sense that you'd want to keep going without it.\n\
         Can I check in with you about how things are going in a few weeks, and we'll see where you are then?\n\
         What would need to change for you to want to look at this again, if anything?",
    ),
    (
        "prescriber",
        Situation::CoordinatingWithAPrescriber,
        "Working with a prescriber, within consent",
        "Would it help if I shared a short summary with your doctor? You can choose what goes in it.\n\
         What would you like your doctor to know about you and what you want from treatment?\n\
         Which questions would you like to take to the appointment?",
    ),
    (
        "relationship",
        Situation::AttendingToTheRelationship,
        "Checking in on the work together",
        "I noticed your rating of our last session was lower than usual. I'd really like to hear about it.\n\
         Is there something about how we are working that isn't fitting for you right now?\n\
         What would make our sessions more useful for you?",
    ),
    (
        "safety-asking",
        Situation::AskingAboutSafety,
        "Asking directly and calmly",
        "You mentioned thoughts of harming yourself. Can you tell me more about those thoughts?\n\
         Have you had thoughts of ending your life? Have you thought about how?\n\
         What has helped you stay safe so far? Shall we look at your safety plan together?",
    ),
    (
        "safety-next",
        Situation::AskingAboutSafety,
        "Agreeing next steps",
        "Who could be with you or reach you tonight if things get harder?\n\
         Can we go through who you would contact, and in what order?\n\
         Would you be willing to put the crisis numbers in your phone now, together with me?",
    ),
];

/// The shipped entries.
pub fn shipped() -> Vec<GuideEntry> {
    SHIPPED
        .iter()
        .map(|(key, situation, title, body)| GuideEntry {
            key: (*key).to_owned(),
            situation: *situation,
            title: (*title).to_owned(),
            body: (*body).to_owned(),
            shipped: true,
        })
        .collect()
}

/// A practice's edit or addition (None body = hidden).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeEntry {
    pub key: String,
    pub situation: Situation,
    pub title: String,
    pub body: String,
    pub hidden: bool,
}

/// The practice's guide: shipped entries replaced or hidden by the practice's rows with the
/// same key, then the practice's own entries; grouped in [`Situation::ALL`] order.
pub fn merged(practice: &[PracticeEntry]) -> Vec<GuideEntry> {
    let mut out: Vec<GuideEntry> = Vec::new();
    let shipped = shipped();
    for s in &shipped {
        match practice.iter().find(|p| p.key == s.key) {
            Some(p) if p.hidden => {}
            Some(p) => out.push(GuideEntry {
                key: p.key.clone(),
                situation: p.situation,
                title: p.title.clone(),
                body: p.body.clone(),
                shipped: false,
            }),
            None => out.push(s.clone()),
        }
    }
    for p in practice.iter().filter(|p| !p.hidden && !shipped.iter().any(|s| s.key == p.key)) {
        out.push(GuideEntry { key: p.key.clone(), situation: p.situation, title: p.title.clone(), body: p.body.clone(), shipped: false });
    }
    out.sort_by_key(|e| Situation::ALL.iter().position(|s| *s == e.situation).unwrap_or(usize::MAX));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::decisions::directive_phrase;

    #[test]
    fn every_situation_of_a_referral_prompt_has_phrasings() {
        let guide = shipped();
        for kind in PromptKind::ALL {
            for s in Situation::for_kind(kind) {
                assert!(guide.iter().any(|e| e.situation == *s), "{s:?} has no entry");
            }
        }
    }

    #[test]
    fn shipped_phrasings_are_not_directive_and_keys_unique() {
        let guide = shipped();
        for e in &guide {
            assert_eq!(directive_phrase(&e.body), None, "{}", e.key);
            assert!(!e.body.to_lowercase().contains("you should"), "{}", e.key);
        }
        let mut keys: Vec<_> = guide.iter().map(|e| e.key.clone()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), guide.len());
    }

    #[test]
    fn practice_rows_replace_hide_and_add() {
        let rows = vec![
            PracticeEntry {
                key: "opening".into(),
                situation: Situation::OpeningTheTopic,
                title: "Ours".into(),
                body: "Our words".into(),
                hidden: false,
            },
            PracticeEntry {
                key: "trial".into(),
                situation: Situation::ProposingATrial,
                title: String::new(),
                body: String::new(),
                hidden: true,
            },
            PracticeEntry {
                key: "p-1".into(),
                situation: Situation::Normalising,
                title: "Extra".into(),
                body: "More".into(),
                hidden: false,
            },
        ];
        let g = merged(&rows);
        assert!(g.iter().any(|e| e.key == "opening" && e.title == "Ours" && !e.shipped));
        assert!(!g.iter().any(|e| e.key == "trial"));
        assert!(g.iter().any(|e| e.key == "p-1"));
        assert_eq!(g.len(), shipped().len());
        // Grouped by situation order.
        let pos: Vec<usize> = g.iter().map(|e| Situation::ALL.iter().position(|s| *s == e.situation).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] <= w[1]));
    }
}
