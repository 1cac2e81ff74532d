//! Rendering an instrument definition as an accessible HTML form, and reading the submitted
//! form back into answers. Shared by the therapist's paper-form entry and the client portal.

use crate::error::AppError;
use concord_domain::measures::Instrument;
use concord_domain::measures::definition::{Origin, Response};
use concord_domain::measures::score::{Answer, Answers};
use std::collections::HashMap;

pub struct OptionView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

pub struct ItemView {
    /// The form field name (`item_<id>`) and the element id prefix.
    pub field: String,
    pub number: usize,
    pub text: String,
    /// `choice`, `scale` or `text`.
    pub kind: &'static str,
    pub options: Vec<OptionView>,
    pub min_label: String,
    pub max_label: String,
    pub max_length: u32,
    pub value: String,
    /// Say "(optional)" unless the item's own wording already does.
    pub optional_hint: bool,
}

pub struct QuestionnaireView {
    pub instrument_id: String,
    pub name: String,
    pub instructions: String,
    pub practice_own: bool,
    pub attribution: String,
    pub items: Vec<ItemView>,
}

/// The form for an instrument, prefilled from a previous (rejected) submission if any.
pub fn view(def: &Instrument, previous: &HashMap<String, String>) -> QuestionnaireView {
    let d = def.def();
    let mut number = 0;
    let items = def
        .items()
        .iter()
        .map(|item| {
            let field = format!("item_{}", item.id);
            let value = previous.get(&field).cloned().unwrap_or_default();
            let mut options: Vec<OptionView> = Vec::new();
            let (kind, min_label, max_label, max_length) = match &item.response {
                Response::Choice { options: opts } => {
                    options = opts
                        .iter()
                        .map(|o| OptionView { value: o.value.to_string(), label: o.label.clone(), checked: value == o.value.to_string() })
                        .collect();
                    ("choice", String::new(), String::new(), 0)
                }
                Response::Scale { min, max, anchors } => {
                    options = (*min..=*max)
                        .map(|v| OptionView { value: v.to_string(), label: v.to_string(), checked: value == v.to_string() })
                        .collect();
                    let label = |v: i32| anchors.iter().find(|a| a.value == v).map(|a| format!("{v} = {}", a.label)).unwrap_or_default();
                    ("scale", label(*min), label(*max), 0)
                }
                Response::Text { max_length } => ("text", String::new(), String::new(), max_length.unwrap_or(1000)),
            };
            if let Some(na) = &item.not_applicable {
                options.push(OptionView { value: "na".into(), label: na.label.clone(), checked: value == "na" });
            }
            number += 1;
            let optional_hint = kind == "text" && !item.text.to_lowercase().contains("optional");
            ItemView { field, number, text: item.text.clone(), kind, options, min_label, max_label, max_length, value, optional_hint }
        })
        .collect();
    QuestionnaireView {
        instrument_id: def.id().as_str().to_owned(),
        name: def.name().to_owned(),
        instructions: d.instructions.clone().unwrap_or_default(),
        practice_own: def.origin() == Origin::PracticeOwn,
        attribution: def.licence().attribution.clone().unwrap_or_else(|| def.licence().note.clone()),
        items,
    }
}

/// Reads `item_<id>` fields into answers (blank = missing, `na` = not applicable) and the
/// free-text items into one note. Out-of-range values are left to scoring, which names them.
pub fn answers_from_form(def: &Instrument, form: &HashMap<String, String>) -> Result<(Answers, Option<String>), AppError> {
    let mut answers = Vec::new();
    let mut notes = Vec::new();
    for item in def.items() {
        let raw = form.get(&format!("item_{}", item.id)).map(|s| s.trim()).unwrap_or("");
        match &item.response {
            Response::Text { max_length } => {
                if raw.chars().count() > usize::try_from(max_length.unwrap_or(1000)).unwrap_or(1000) {
                    return Err(AppError::Unprocessable(format!("{} is too long", item.text)));
                }
                if !raw.is_empty() {
                    notes.push(raw.to_owned());
                }
            }
            Response::Choice { .. } | Response::Scale { .. } => answers.push(match raw {
                "" => Answer::Missing,
                "na" => Answer::NotApplicable,
                v => Answer::Value(
                    v.parse().map_err(|_| AppError::Unprocessable(format!("the answer to \"{}\" is not a number", item.text)))?,
                ),
            }),
        }
    }
    Ok((Answers::new(answers), if notes.is_empty() { None } else { Some(notes.join("\n\n")) }))
}
