//! Import of FHIR R4/R4B `Questionnaire` JSON into our definition format.
//!
//! What is read:
//! - items of type `choice`/`open-choice` (R4) or `coding` (R5) with `answerOption`
//!   (`valueCoding`, `valueInteger` or `valueString`); each option's score comes from the
//!   `ordinalValue` (<http://hl7.org/fhir/StructureDefinition/ordinalValue>), `itemWeight`
//!   (<http://hl7.org/fhir/StructureDefinition/itemWeight>) or legacy
//!   `questionnaire-ordinalValue` extension, on the option or on its `valueCoding`, else
//!   from `valueInteger`. An item whose options all have scores is scored (answers record
//!   the score); one whose options have none is unscored (answers record the option's
//!   position from 0); a mix is rejected.
//! - `integer`/`decimal` items: `readOnly` or with an SDC `calculatedExpression` are taken to
//!   be the computed total (their LOINC code becomes the total code); others need
//!   `minValue` and `maxValue` extensions and become unscored scales.
//! - `boolean` items become unscored No (0) / Yes (1) choices; `string`/`text` become text
//!   items; `group` items are flattened; `display` items are skipped.
//! - LOINC codes from `Questionnaire.code` (panel) and `item.code` (items).
//!
//! The result goes through the same validator as our own files. FHIR carries no bands,
//! caseness or reliable change: export the imported definition with
//! [`Instrument::to_json`](super::definition::Instrument::to_json), add them, and import it.

use super::definition::{
    AnswerCode, AnswerOption, DefinitionError, Direction, FORMAT, InstrumentDef, InstrumentLoinc, Item, Licence, MissingRule, Origin,
    Response, ScoreRange, Scoring, ScoringMethod,
};
use serde_json::{Map, Value};

const WEIGHT_URLS: [&str; 3] = [
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
    "http://hl7.org/fhir/StructureDefinition/questionnaire-ordinalValue",
];
const MIN_URL: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const MAX_URL: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";
const CALCULATED_URL: &str = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression";
const LOINC_SYSTEM: &str = "http://loinc.org";

struct Ctx {
    items: Vec<Item>,
    problems: Vec<String>,
    questions: usize,
    total_loinc: Option<String>,
}

fn str_field<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

fn extensions(v: Option<&Value>) -> impl Iterator<Item = &Map<String, Value>> {
    v.and_then(|o| o.get("extension")).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
}

fn extension<'a>(v: Option<&'a Value>, url: &str) -> Option<&'a Map<String, Value>> {
    extensions(v).find(|e| e.get("url").and_then(Value::as_str) == Some(url))
}

/// A whole number from an extension's valueDecimal / valueInteger.
fn whole_number(e: &Map<String, Value>) -> Result<Option<i32>, String> {
    let Some(v) = e.get("valueDecimal").or_else(|| e.get("valueInteger")) else {
        return Ok(None);
    };
    if let Some(i) = v.as_i64() {
        return i32::try_from(i).map(Some).map_err(|_| format!("a score of {i} is too large"));
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() <= f64::from(i32::MAX) => {
            // A whole number written as a decimal (e.g. 1.0).
            Ok(format!("{f:.0}").parse::<i32>().ok())
        }
        Some(f) => Err(format!("a score of {f}; only whole-number scores are supported")),
        None => Err("a score that is not a number".into()),
    }
}

fn option_weight(option: &Value) -> Result<Option<i32>, String> {
    for holder in [Some(option), option.get("valueCoding")] {
        for url in WEIGHT_URLS {
            if let Some(e) = extension(holder, url)
                && let Some(w) = whole_number(e)?
            {
                return Ok(Some(w));
            }
        }
    }
    Ok(option.get("valueInteger").and_then(Value::as_i64).and_then(|i| i32::try_from(i).ok()))
}

fn loinc_of(code: Option<&Value>) -> Option<String> {
    code.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .find(|c| c.get("system").and_then(Value::as_str) == Some(LOINC_SYSTEM))
        .and_then(|c| str_field(c, "code"))
        .map(str::to_owned)
}

fn choice(it: &Value, at: &str, ctx: &mut Ctx) -> Option<(Response, bool)> {
    let Some(options) = it.get("answerOption").and_then(Value::as_array) else {
        if it.get("answerValueSet").is_some() {
            ctx.problems.push(format!("{at}: answerValueSet is not supported; list the answers as answerOption with valueCoding"));
        } else {
            ctx.problems.push(format!("{at}: has no answerOption"));
        }
        return None;
    };
    let mut labelled: Vec<(String, Option<AnswerCode>, Option<i32>)> = Vec::new();
    for (j, o) in options.iter().enumerate() {
        let m = j + 1;
        let weight = match option_weight(o) {
            Ok(w) => w,
            Err(e) => {
                ctx.problems.push(format!("{at}: answer option {m} has {e}"));
                return None;
            }
        };
        let (label, code) = if let Some(c) = o.get("valueCoding").and_then(Value::as_object) {
            let code =
                str_field(c, "code").map(|code| AnswerCode { system: str_field(c, "system").map(str::to_owned), code: code.to_owned() });
            match str_field(c, "display").or_else(|| str_field(c, "code")) {
                Some(l) => (l.to_owned(), code),
                None => {
                    ctx.problems.push(format!("{at}: answer option {m} has neither a display nor a code"));
                    return None;
                }
            }
        } else if let Some(i) = o.get("valueInteger").and_then(Value::as_i64) {
            (i.to_string(), None)
        } else if let Some(s) = o.get("valueString").and_then(Value::as_str) {
            (s.to_owned(), None)
        } else {
            ctx.problems.push(format!("{at}: answer option {m} has no valueCoding, valueInteger or valueString"));
            return None;
        };
        labelled.push((label, code, weight));
    }
    let scored_count = labelled.iter().filter(|(_, _, w)| w.is_some()).count();
    let scored = scored_count > 0;
    if scored && scored_count < labelled.len() {
        let m = labelled.iter().position(|(_, _, w)| w.is_none()).map_or(0, |p| p + 1);
        ctx.problems.push(format!("{at}: answer option {m} has no score (ordinalValue or itemWeight) while other options have one"));
        return None;
    }
    let options = labelled
        .into_iter()
        .enumerate()
        .map(|(j, (label, code, w))| AnswerOption { value: w.unwrap_or_else(|| i32::try_from(j).unwrap_or(i32::MAX)), label, code })
        .collect();
    Some((Response::Choice { options }, scored))
}

fn walk(items: &Value, ctx: &mut Ctx) {
    let Some(items) = items.as_array() else {
        ctx.problems.push("item must be a list".into());
        return;
    };
    for it in items {
        let Some(obj) = it.as_object() else {
            ctx.problems.push("an item is not a JSON object".into());
            continue;
        };
        let kind = str_field(obj, "type").unwrap_or("");
        if kind == "group" || kind == "display" {
            if let Some(children) = obj.get("item") {
                walk(children, ctx);
            }
            continue;
        }
        let loinc = loinc_of(obj.get("code"));
        let read_only = obj.get("readOnly").and_then(Value::as_bool) == Some(true);
        if matches!(kind, "integer" | "decimal") && (read_only || extension(Some(it), CALCULATED_URL).is_some()) {
            // A computed total: not a question. Keep its LOINC code as the total code.
            if ctx.total_loinc.is_none() {
                ctx.total_loinc = loinc;
            }
            continue;
        }
        ctx.questions += 1;
        let n = ctx.questions;
        let link_id = str_field(obj, "linkId");
        let at = match link_id {
            Some(l) => format!("item {n} (linkId {l})"),
            None => format!("item {n}"),
        };
        let Some(link_id) = link_id else {
            ctx.problems.push(format!("{at}: has no linkId"));
            continue;
        };
        let converted: Option<(Response, bool)> = match kind {
            "choice" | "open-choice" | "coding" => choice(it, &at, ctx),
            "integer" | "decimal" => {
                let min = extension(Some(it), MIN_URL).and_then(|e| whole_number(e).ok().flatten());
                let max = extension(Some(it), MAX_URL).and_then(|e| whole_number(e).ok().flatten());
                match (min, max) {
                    (Some(min), Some(max)) => Some((Response::Scale { min, max, anchors: Vec::new() }, false)),
                    _ => {
                        ctx.problems.push(format!(
                            "{at}: {kind} items need minValue and maxValue extensions (or readOnly, if it is a computed total)"
                        ));
                        None
                    }
                }
            }
            "boolean" => Some((
                Response::Choice {
                    options: vec![
                        AnswerOption { value: 0, label: "No".into(), code: None },
                        AnswerOption { value: 1, label: "Yes".into(), code: None },
                    ],
                },
                false,
            )),
            "string" | "text" => Some((Response::Text { max_length: None }, false)),
            "" => {
                ctx.problems.push(format!("{at}: has no type"));
                None
            }
            other => {
                ctx.problems.push(format!(
                    "{at}: type {other:?} is not supported (supported: choice, open-choice, coding, integer, decimal, boolean, string, text, group, display)"
                ));
                None
            }
        };
        if let Some((response, scored)) = converted {
            ctx.items.push(Item {
                id: link_id.to_owned(),
                text: str_field(obj, "text").unwrap_or("").to_owned(),
                scored,
                loinc,
                response,
                not_applicable: None,
                bands: Vec::new(),
                bands_source: None,
            });
        }
        if let Some(children) = obj.get("item") {
            walk(children, ctx);
        }
    }
}

/// An instrument id from a FHIR name or id: lower case, `_` for anything else.
fn slug(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_owned();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "q_");
    }
    out.truncate(40);
    out.trim_end_matches('_').to_owned()
}

/// Converts a Questionnaire to our definition format (not yet validated). `id` overrides
/// the id otherwise made from the Questionnaire's `name` or `id`.
pub(crate) fn questionnaire_to_def(json: &str, id: Option<&str>) -> Result<InstrumentDef, DefinitionError> {
    let root: Value = serde_json::from_str(json).map_err(|e| DefinitionError::new(format!("not valid JSON: {e}")))?;
    let Some(obj) = root.as_object() else {
        return Err(DefinitionError::new("not a FHIR Questionnaire: the document is not a JSON object"));
    };
    match obj.get("resourceType").and_then(Value::as_str) {
        Some("Questionnaire") => {}
        Some(other) => {
            return Err(DefinitionError::new(format!("not a FHIR Questionnaire: resourceType is {other:?}")));
        }
        None => {
            return Err(DefinitionError::new("not a FHIR Questionnaire: resourceType is missing"));
        }
    }
    let mut ctx = Ctx { items: Vec::new(), problems: Vec::new(), questions: 0, total_loinc: None };
    match obj.get("item") {
        Some(items) => walk(items, &mut ctx),
        None => ctx.problems.push("the Questionnaire has no items".into()),
    }
    let id = match id {
        Some(id) => id.to_owned(),
        None => {
            let from = str_field(obj, "name").or_else(|| str_field(obj, "id")).unwrap_or("");
            let s = slug(from);
            if s.is_empty() {
                ctx.problems.push("the Questionnaire has neither a name nor an id to make an instrument id from".into());
            }
            s
        }
    };
    if !ctx.problems.is_empty() {
        return Err(DefinitionError::from_problems(ctx.problems));
    }

    let title = str_field(obj, "title").or_else(|| str_field(obj, "name")).unwrap_or(&id).to_owned();
    let scored: Vec<&Item> = ctx.items.iter().filter(|i| i.scored).collect();
    let scoring = if scored.is_empty() {
        Scoring {
            method: ScoringMethod::PerItem,
            direction: Direction::HigherIsWorse,
            range: None,
            missing: MissingRule::Complete,
            bands: None,
            caseness: None,
            reliable_change: None,
            jacobson_truax: None,
            clinical_cutoff: None,
            source: None,
        }
    } else {
        let ranges: Vec<(i32, i32)> = scored.iter().filter_map(|i| i.value_range()).collect();
        let min = ranges.iter().fold(0i32, |a, r| a.saturating_add(r.0));
        let max = ranges.iter().fold(0i32, |a, r| a.saturating_add(r.1));
        Scoring {
            method: ScoringMethod::Sum,
            direction: Direction::HigherIsWorse,
            range: Some(ScoreRange { min, max }),
            missing: MissingRule::Complete,
            bands: None,
            caseness: None,
            reliable_change: None,
            jacobson_truax: None,
            clinical_cutoff: None,
            source: Some("Sum of the ordinalValue/itemWeight scores in the FHIR Questionnaire".into()),
        }
    };
    let panel = loinc_of(obj.get("code"));
    let loinc = (panel.is_some() || ctx.total_loinc.is_some()).then(|| InstrumentLoinc { panel, total: ctx.total_loinc.clone() });
    let url = str_field(obj, "url").map(|u| format!(" ({u})")).unwrap_or_default();
    Ok(InstrumentDef {
        format: FORMAT.to_owned(),
        id,
        short_name: str_field(obj, "name").unwrap_or(&title).to_owned(),
        name: title,
        version: str_field(obj, "version").unwrap_or("1").to_owned(),
        origin: Origin::Published,
        description: Some(format!(
            "Imported from a FHIR Questionnaire{url}. Higher totals are taken to be worse; bands, caseness and reliable change are not part of FHIR and can be added to the exported definition."
        )),
        instructions: str_field(obj, "description").map(str::to_owned),
        licence: Licence {
            note: str_field(obj, "copyright")
                .unwrap_or("The Questionnaire states no copyright; the importing practice confirms it holds a licence to use it.")
                .to_owned(),
            attribution: str_field(obj, "publisher").map(str::to_owned),
            citation: None,
        },
        loinc,
        items: ctx.items,
        scoring,
        risk: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("PHQ-9 quick depression assessment panel"), "phq_9_quick_depression_assessment_panel");
        assert_eq!(slug("44249-1"), "q_44249_1");
        assert_eq!(slug("--"), "");
        assert_eq!(slug("Ünïcode Form"), "n_code_form");
    }

    #[test]
    fn decimal_weights() {
        let e: Map<String, Value> = serde_json::from_str(r#"{"valueDecimal": 2.0}"#).unwrap();
        assert_eq!(whole_number(&e), Ok(Some(2)));
        let e: Map<String, Value> = serde_json::from_str(r#"{"valueDecimal": 0.5}"#).unwrap();
        assert_eq!(whole_number(&e), Err("a score of 0.5; only whole-number scores are supported".into()));
    }
}
