//! Definitions: the shipped files, our JSON import, FHIR Questionnaire import, and the exact
//! messages for malformed definitions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::measures::Registry;
use concord_domain::measures::definition::{Instrument, InstrumentDef, Origin, Response, ScoringMethod};
use concord_domain::measures::registry::SHIPPED;
use concord_domain::measures::score::{Answers, score};
use serde_json::{Value, json};

fn phq9_value() -> Value {
    let json = SHIPPED.iter().find(|(f, _)| *f == "phq9.json").unwrap().1;
    serde_json::from_str(json).unwrap()
}

fn import_err(v: &Value) -> String {
    Instrument::from_json(&v.to_string()).unwrap_err().to_string()
}

#[test]
fn every_shipped_definition_passes_the_validator_and_round_trips() {
    let registry = Registry::shipped().unwrap();
    let ids: Vec<&str> = registry.ids().map(|i| i.as_str()).collect();
    assert_eq!(ids, ["checkin", "fibser", "gad7", "phq2", "phq9", "readiness", "session_feedback", "sure", "wsas"]);
    for (file, json) in SHIPPED {
        let inst = Instrument::from_json(json).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(format!("{}.json", inst.id()), *file);
        // Our format round-trips exactly.
        let again = Instrument::from_json(&inst.to_json().unwrap()).unwrap();
        assert_eq!(again, inst);
        // Serde on Instrument goes through the validator too.
        let via_serde: Instrument = serde_json::from_str(json).unwrap();
        assert_eq!(via_serde, inst);
        assert!(!inst.licence().note.is_empty(), "{file}");
    }
}

#[test]
fn shipped_facts_match_the_clinical_reference() {
    let r = Registry::shipped().unwrap();
    let phq9 = r.get("phq9").unwrap();
    assert_eq!(phq9.scored_count(), 9);
    assert_eq!(phq9.answer_count(), 10);
    let loinc = phq9.loinc().unwrap();
    assert_eq!(loinc.panel.as_deref(), Some("44249-1"));
    assert_eq!(loinc.total.as_deref(), Some("44261-6"));
    assert_eq!(phq9.item("q9").unwrap().loinc.as_deref(), Some("44260-8"));
    assert_eq!(
        phq9.licence().attribution.as_deref(),
        Some(
            "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an educational grant from Pfizer Inc. No permission required to reproduce, translate, display or distribute."
        )
    );
    let s = phq9.scoring();
    assert_eq!(s.caseness.as_ref().unwrap().value, 10);
    assert_eq!(s.reliable_change.as_ref().unwrap().threshold, 6);
    let bands: Vec<(&str, i32, i32)> = s.bands.as_ref().unwrap().bands.iter().map(|b| (b.id.as_str(), b.min, b.max)).collect();
    assert_eq!(bands, [("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14), ("moderately_severe", 15, 19), ("severe", 20, 27)]);

    let phq2 = r.get("phq2").unwrap();
    assert_eq!(phq2.loinc().unwrap().panel.as_deref(), Some("55757-9"));
    assert_eq!(phq2.loinc().unwrap().total.as_deref(), Some("55758-7"));
    assert_eq!(phq2.scoring().caseness.as_ref().unwrap().value, 3);

    let gad7 = r.get("gad7").unwrap();
    assert_eq!(gad7.loinc().unwrap().panel.as_deref(), Some("69737-5"));
    assert_eq!(gad7.loinc().unwrap().total.as_deref(), Some("70274-6"));
    assert_eq!(gad7.scoring().caseness.as_ref().unwrap().value, 8);
    assert_eq!(gad7.scoring().reliable_change.as_ref().unwrap().threshold, 4);
    assert_eq!(gad7.licence().attribution, phq9.licence().attribution);

    let wsas = r.get("wsas").unwrap();
    assert_eq!(wsas.scoring().range.unwrap().max, 40);
    assert!(wsas.item("work").unwrap().not_applicable.is_some());
    assert!(wsas.scoring().source.as_deref().unwrap().contains("Mundt"));

    let fibser = r.get("fibser").unwrap();
    assert_eq!(fibser.scoring().method, ScoringMethod::PerItem);
    assert_eq!(fibser.item("burden").unwrap().bands.len(), 3);
    assert!(fibser.licence().citation.as_deref().unwrap().contains("Wisniewski"));

    for own in ["checkin", "session_feedback"] {
        assert_eq!(r.get(own).unwrap().origin(), Origin::PracticeOwn, "{own}");
    }
    let checkin = r.get("checkin").unwrap();
    assert_eq!(checkin.answer_count(), 6); // the note is text
    assert!(matches!(checkin.item("note").unwrap().response, Response::Text { .. }));
    let sure = r.get("sure").unwrap();
    assert!(sure.licence().citation.as_deref().unwrap().contains("Légaré"));
}

#[test]
fn malformed_own_definitions_name_what_and_where() {
    // Not JSON at all.
    assert!(Instrument::from_json("{").unwrap_err().to_string().starts_with("not a valid instrument definition: EOF while parsing"));

    // Unknown field (typo) is caught by serde with its location.
    let mut v = phq9_value();
    v["scoring"]["bandz"] = json!([]);
    assert!(import_err(&v).starts_with("not a valid instrument definition: unknown field `bandz`"));

    // Answer option without a value.
    let mut v = phq9_value();
    v["items"][2]["response"]["options"][1].as_object_mut().unwrap().remove("value");
    assert!(import_err(&v).starts_with("not a valid instrument definition: missing field `value`"));

    // Repeated value.
    let mut v = phq9_value();
    v["items"][2]["response"]["options"][1]["value"] = json!(0);
    assert_eq!(import_err(&v), "item 3 (id q3): answer option 2 repeats the value 0 of answer option 1");

    // Band gap.
    let mut v = phq9_value();
    v["scoring"]["bands"]["bands"][1]["min"] = json!(6);
    assert_eq!(import_err(&v), "scoring: band 2 (mild) starts at 6 but the previous band ends at 4; bands must not overlap or leave gaps");

    // Band overlap and a non-snake_case id.
    let mut v = phq9_value();
    v["scoring"]["bands"]["bands"][3]["id"] = json!("Moderately Severe");
    v["scoring"]["bands"]["bands"][4]["min"] = json!(19);
    assert_eq!(
        import_err(&v),
        "2 problems: scoring: band 4 has id \"Moderately Severe\"; band ids are snake_case, e.g. moderately_severe; scoring: band 5 (severe) starts at 19 but the previous band ends at 19; bands must not overlap or leave gaps"
    );

    // Range that disagrees with the items.
    let mut v = phq9_value();
    v["scoring"]["range"]["max"] = json!(30);
    v["scoring"]["bands"]["bands"][4]["max"] = json!(30);
    assert_eq!(import_err(&v), "scoring: range is 0 to 30 but the scored items add up to 0 to 27");

    // Bad LOINC check digit.
    let mut v = phq9_value();
    v["items"][8]["loinc"] = json!("44260-9");
    assert_eq!(
        import_err(&v),
        "item 9 (id q9): LOINC code \"44260-9\" is not a valid LOINC code (form 12345-6 with a correct check digit)"
    );

    // Risk rule on an item that does not exist.
    let mut v = phq9_value();
    v["risk"][0]["item"] = json!("q10");
    assert_eq!(import_err(&v), "risk rule 1: no item with id q10");

    // Duplicate item id.
    let mut v = phq9_value();
    v["items"][3]["id"] = json!("q3");
    assert_eq!(import_err(&v), "item 4 (id q3): the id is already used by item 3");

    // Bad instrument id and format.
    let mut v = phq9_value();
    v["id"] = json!("PHQ 9");
    v["format"] = json!("other/1");
    assert_eq!(
        import_err(&v),
        "2 problems: format must be \"concord.instrument/1\", got \"other/1\"; instrument id \"PHQ 9\" must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 40 characters)"
    );

    // Caseness outside the range; prorating more items than exist.
    let mut v = phq9_value();
    v["scoring"]["caseness"]["value"] = json!(28);
    v["scoring"]["missing"]["max_missing"] = json!(9);
    assert_eq!(
        import_err(&v),
        "2 problems: scoring: caseness cut-off 28 is outside the range 0 to 27; scoring: prorating allows 9 missing items but there are only 9 scored items"
    );

    // Prorating over items with different ranges is refused.
    let mut v = phq9_value();
    v["items"][0]["response"] = json!({"type": "scale", "min": 0, "max": 3});
    v["items"][1]["response"] = json!({"type": "scale", "min": 0, "max": 4});
    v["scoring"]["range"]["max"] = json!(28);
    v["scoring"]["bands"]["bands"][4]["max"] = json!(28);
    assert_eq!(import_err(&v), "scoring: prorating or substituting missing items needs every scored item to have the same range of values");

    // Totals-only settings on a per-item instrument.
    let mut v = phq9_value();
    v["scoring"]["method"] = json!("per_item");
    v["scoring"].as_object_mut().unwrap().remove("range");
    v["scoring"].as_object_mut().unwrap().remove("bands");
    v["scoring"].as_object_mut().unwrap().remove("reliable_change");
    v["scoring"]["missing"] = json!({"rule": "complete"});
    assert_eq!(import_err(&v), "scoring: caseness needs a total, but the method is per_item (put bands on items instead)");

    // A scored text item.
    let mut v = phq9_value();
    v["items"][9]["response"] = json!({"type": "text"});
    v["items"][9]["scored"] = json!(true);
    assert_eq!(import_err(&v), "item 10 (id difficulty): a text item cannot be scored");

    // Jacobson–Truax parameters are checked.
    let mut v = phq9_value();
    v["scoring"]["jacobson_truax"] = json!({"sd": 5.0, "reliability": 1.2, "source": "x"});
    assert_eq!(import_err(&v), "scoring: jacobson_truax: reliability must be at least 0 and below 1, got 1.2");
}

#[test]
fn own_format_import_adds_to_the_registry() {
    let mut r = Registry::shipped().unwrap();
    let mut v = phq9_value();
    v["id"] = json!("phq9_practice");
    let inst = r.import_json(&v.to_string()).unwrap();
    assert_eq!(inst.id().as_str(), "phq9_practice");
    assert!(r.get("phq9_practice").is_some());
}

fn fhir_questionnaire() -> Value {
    let freq = |with_weights: bool| {
        let labels = [
            ("LA6568-5", "Not at all"),
            ("LA6569-3", "Several days"),
            ("LA6570-1", "More than half the days"),
            ("LA6571-9", "Nearly every day"),
        ];
        labels
            .iter()
            .enumerate()
            .map(|(i, (code, display))| {
                let mut o = json!({"valueCoding": {"system": "http://loinc.org", "code": code, "display": display}});
                if with_weights {
                    o["extension"] = json!([{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": i}]);
                }
                o
            })
            .collect::<Vec<_>>()
    };
    json!({
        "resourceType": "Questionnaire",
        "id": "phq-2-example",
        "name": "PHQ2Licensed",
        "title": "PHQ-2 (imported)",
        "status": "active",
        "version": "2.0",
        "copyright": "Free to reproduce (Pfizer).",
        "publisher": "Example practice",
        "code": [{"system": "http://loinc.org", "code": "55757-9"}],
        "item": [
            {"linkId": "intro", "type": "display", "text": "Over the last 2 weeks..."},
            {"linkId": "g1", "type": "group", "item": [
                {"linkId": "q1", "type": "choice", "text": "Little interest or pleasure in doing things",
                 "code": [{"system": "http://loinc.org", "code": "44250-9"}], "answerOption": freq(true)},
                {"linkId": "q2", "type": "choice", "text": "Feeling down, depressed, or hopeless",
                 "code": [{"system": "http://loinc.org", "code": "44255-8"}],
                 "answerOption": [
                    {"valueCoding": {"code": "a", "display": "Not at all",
                      "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 0}]}},
                    {"valueCoding": {"code": "b", "display": "Several days",
                      "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 1.0}]}},
                    {"valueCoding": {"code": "c", "display": "More than half the days",
                      "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 2}]}},
                    {"valueCoding": {"code": "d", "display": "Nearly every day",
                      "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/itemWeight", "valueDecimal": 3}]}}
                 ]}
            ]},
            {"linkId": "total", "type": "integer", "readOnly": true, "text": "Total",
             "code": [{"system": "http://loinc.org", "code": "55758-7"}]},
            {"linkId": "how", "type": "choice", "text": "How do you feel about this form?", "answerOption": freq(false)},
            {"linkId": "note", "type": "text", "text": "Anything else?"},
            {"linkId": "ok", "type": "boolean", "text": "May we contact you?"}
        ]
    })
}

#[test]
fn fhir_questionnaire_import() {
    let q = fhir_questionnaire();
    let inst = Instrument::from_fhir_questionnaire(&q.to_string()).unwrap();
    assert_eq!(inst.id().as_str(), "phq2licensed");
    assert_eq!(inst.name(), "PHQ-2 (imported)");
    assert_eq!(inst.version(), "2.0");
    assert_eq!(inst.scoring().method, ScoringMethod::Sum);
    assert_eq!(inst.scoring().range.unwrap().max, 6);
    assert_eq!(inst.loinc().unwrap().panel.as_deref(), Some("55757-9"));
    assert_eq!(inst.loinc().unwrap().total.as_deref(), Some("55758-7"));
    let ids: Vec<&str> = inst.items().iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["q1", "q2", "how", "note", "ok"]);
    assert!(inst.item("q1").unwrap().scored);
    assert!(!inst.item("how").unwrap().scored);
    assert_eq!(inst.item("q1").unwrap().loinc.as_deref(), Some("44250-9"));
    assert_eq!(inst.licence().attribution.as_deref(), Some("Example practice"));
    assert_eq!(inst.answer_count(), 4);
    assert_eq!(inst.scored_count(), 2);

    let s = score(&inst, &Answers::from(vec![Some(2), Some(3), Some(0), None])).unwrap();
    assert_eq!(s.total, Some(5));
    // Scored items only is accepted too.
    let s = score(&inst, &Answers::from(vec![Some(1), Some(1)])).unwrap();
    assert_eq!(s.total, Some(2));

    // Edit the exported definition (add bands) and import it again.
    let mut def: InstrumentDef = serde_json::from_str(&inst.to_json().unwrap()).unwrap();
    def.id = "phq2_practice".into();
    def.scoring.bands = Some(
        serde_json::from_value(json!({"source": "Kroenke 2003", "bands": [
        {"id": "negative_screen", "label": "Negative", "min": 0, "max": 2},
        {"id": "positive_screen", "label": "Positive", "min": 3, "max": 6}]}))
        .unwrap(),
    );
    let edited = Instrument::from_def(def).unwrap();
    let s = score(&edited, &Answers::from(vec![Some(2), Some(3)])).unwrap();
    assert_eq!(s.band.unwrap().id, "positive_screen");

    // Id override and registry import.
    let mut r = Registry::shipped().unwrap();
    let i = r.import_fhir(&q.to_string(), Some("phq2_fhir")).unwrap();
    assert_eq!(i.id().as_str(), "phq2_fhir");
}

fn fhir_err(v: &Value) -> String {
    Instrument::from_fhir_questionnaire(&v.to_string()).unwrap_err().to_string()
}

#[test]
fn malformed_fhir_questionnaires_name_what_and_where() {
    assert!(Instrument::from_fhir_questionnaire("[1").unwrap_err().to_string().starts_with("not valid JSON: "));
    assert_eq!(fhir_err(&json!({"resourceType": "Patient"})), "not a FHIR Questionnaire: resourceType is \"Patient\"");
    assert_eq!(fhir_err(&json!({"item": []})), "not a FHIR Questionnaire: resourceType is missing");
    assert_eq!(fhir_err(&json!({"resourceType": "Questionnaire", "name": "x"})), "the Questionnaire has no items");

    // An option without a score while others have one (question 2, option 2).
    let mut q = fhir_questionnaire();
    q["item"][1]["item"][1]["answerOption"][1]["valueCoding"].as_object_mut().unwrap().remove("extension");
    assert_eq!(fhir_err(&q), "item 2 (linkId q2): answer option 2 has no score (ordinalValue or itemWeight) while other options have one");

    // Fractional weight.
    let mut q = fhir_questionnaire();
    q["item"][1]["item"][0]["answerOption"][3]["extension"][0]["valueDecimal"] = json!(2.5);
    assert_eq!(fhir_err(&q), "item 1 (linkId q1): answer option 4 has a score of 2.5; only whole-number scores are supported");

    // answerValueSet, unsupported type, missing linkId, integer without bounds.
    let mut q = fhir_questionnaire();
    q["item"][1]["item"][0].as_object_mut().unwrap().remove("answerOption");
    q["item"][1]["item"][0]["answerValueSet"] = json!("http://loinc.org/vs/LL358-3");
    q["item"][4]["type"] = json!("date");
    q["item"][5].as_object_mut().unwrap().remove("linkId");
    q["item"].as_array_mut().unwrap().push(json!({"linkId": "age", "type": "integer", "text": "Age"}));
    assert_eq!(
        fhir_err(&q),
        "4 problems: item 1 (linkId q1): answerValueSet is not supported; list the answers as answerOption with valueCoding; item 4 (linkId note): type \"date\" is not supported (supported: choice, open-choice, coding, integer, decimal, boolean, string, text, group, display); item 5: has no linkId; item 6 (linkId age): integer items need minValue and maxValue extensions (or readOnly, if it is a computed total)"
    );

    // Problems found by the shared validator after conversion (duplicate linkId).
    let mut q = fhir_questionnaire();
    q["item"][3]["linkId"] = json!("q1");
    assert_eq!(fhir_err(&q), "item 3 (id q1): the id is already used by item 1");

    // A bad LOINC code on an item.
    let mut q = fhir_questionnaire();
    q["item"][1]["item"][0]["code"][0]["code"] = json!("44250-8");
    assert_eq!(fhir_err(&q), "item 1 (id q1): LOINC code \"44250-8\" is not a valid LOINC code (form 12345-6 with a correct check digit)");
}
