//! The set of instruments a practice can use: the shipped definitions (embedded in the
//! binary) plus any it imports.

use super::definition::{DefinitionError, Instrument, InstrumentId};
use std::collections::BTreeMap;

/// The shipped definitions: (file name, JSON), one file per instrument under
/// `crates/domain/instruments/`.
pub const SHIPPED: &[(&str, &str)] = &[
    ("phq9.json", include_str!("../../instruments/phq9.json")),
    ("phq2.json", include_str!("../../instruments/phq2.json")),
    ("gad7.json", include_str!("../../instruments/gad7.json")),
    ("wsas.json", include_str!("../../instruments/wsas.json")),
    ("fibser.json", include_str!("../../instruments/fibser.json")),
    ("readiness.json", include_str!("../../instruments/readiness.json")),
    ("checkin.json", include_str!("../../instruments/checkin.json")),
    ("session_feedback.json", include_str!("../../instruments/session_feedback.json")),
    ("sure.json", include_str!("../../instruments/sure.json")),
];

/// Instruments by id, in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    instruments: BTreeMap<InstrumentId, Instrument>,
}

impl Registry {
    /// No instruments.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The shipped instruments, each validated. An error here is a bug in a shipped file
    /// (a test loads them all), reported with the file name.
    pub fn shipped() -> Result<Self, DefinitionError> {
        let mut r = Self::empty();
        for (file, json) in SHIPPED {
            let instrument = Instrument::from_json(json).map_err(|e| e.prefixed(file))?;
            r.insert(instrument).map_err(|e| e.prefixed(file))?;
        }
        Ok(r)
    }

    /// Adds a validated instrument; an id already present is rejected.
    pub fn insert(&mut self, instrument: Instrument) -> Result<&Instrument, DefinitionError> {
        use std::collections::btree_map::Entry;
        match self.instruments.entry(instrument.id().clone()) {
            Entry::Occupied(e) => Err(DefinitionError::new(format!(
                "an instrument with id {} is already registered ({} version {}); give the new one another id",
                e.key(),
                e.get().short_name(),
                e.get().version()
            ))),
            Entry::Vacant(v) => Ok(v.insert(instrument)),
        }
    }

    /// Imports a definition in our own JSON format.
    pub fn import_json(&mut self, json: &str) -> Result<&Instrument, DefinitionError> {
        self.insert(Instrument::from_json(json)?)
    }

    /// Imports a FHIR R4/R4B Questionnaire; `id` overrides the id made from its name.
    pub fn import_fhir(&mut self, json: &str, id: Option<&str>) -> Result<&Instrument, DefinitionError> {
        let instrument = match id {
            Some(id) => Instrument::from_fhir_questionnaire_as(json, id)?,
            None => Instrument::from_fhir_questionnaire(json)?,
        };
        self.insert(instrument)
    }

    pub fn get(&self, id: &str) -> Option<&Instrument> {
        self.instruments.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.values()
    }

    pub fn ids(&self) -> impl Iterator<Item = &InstrumentId> {
        self.instruments.keys()
    }

    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_loads_and_rejects_duplicates() {
        let mut r = Registry::shipped().unwrap();
        assert_eq!(r.len(), SHIPPED.len());
        let phq9 = SHIPPED.iter().find(|(f, _)| *f == "phq9.json").unwrap().1;
        let err = r.import_json(phq9).unwrap_err();
        assert_eq!(err.to_string(), "an instrument with id phq9 is already registered (PHQ-9 version 1); give the new one another id");
    }
}
