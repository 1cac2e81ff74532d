//! A client's measures summarised: per instrument the series, change since intake and since
//! last with reliable change, and the NHS Talking Therapies episode outcome. Shared by the
//! API, the client record and the caseload, so they always agree.

use concord_domain::measures::Registry;
use concord_domain::measures::outcome::{EpisodeOutcome, MeasureSeries, OutcomeConfig, SeriesChange, episode_outcome, series_change};
use concord_store::measures::ScorePoint;
use serde::Serialize;

/// One instrument's series for one client.
#[derive(Debug, Clone, Serialize)]
pub struct MeasureSummary {
    pub instrument: String,
    pub name: String,
    /// (completed_at, total) oldest first, responses with a total only.
    pub points: Vec<(i64, i32)>,
    pub latest_total: Option<i32>,
    pub latest_band: Option<String>,
    pub latest_band_label: Option<String>,
    pub latest_caseness: Option<bool>,
    pub latest_at: Option<i64>,
    pub responses: usize,
    pub change: Option<SeriesChange>,
    /// The reliable-change threshold used, with its source.
    pub reliable_change_threshold: Option<u32>,
    pub reliable_change_source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientOutcomes {
    pub measures: Vec<MeasureSummary>,
    /// Over the convention's measures the client has (PHQ-9, GAD-7); `None` without any.
    pub episode: Option<EpisodeOutcome>,
}

/// Summarises score points (any order) with the practice's instrument definitions.
pub fn summarise(points: &[ScorePoint], registry: &Registry, config: &OutcomeConfig) -> ClientOutcomes {
    let mut sorted: Vec<&ScorePoint> = points.iter().collect();
    sorted.sort_by_key(|p| p.completed_at);
    let mut ids: Vec<String> = Vec::new();
    for p in &sorted {
        let id = p.instrument.as_str().to_owned();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut measures = Vec::new();
    let mut series = Vec::new();
    for id in ids {
        let of: Vec<&&ScorePoint> = sorted.iter().filter(|p| p.instrument.as_str() == id).collect();
        let totals: Vec<(i64, i32)> = of.iter().filter_map(|p| p.total.map(|t| (p.completed_at, t))).collect();
        let def = registry.get(&id);
        let rc = def.and_then(|d| d.scoring().reliable_change.clone());
        let direction = def.map_or(concord_domain::measures::definition::Direction::HigherIsWorse, |d| d.scoring().direction);
        let values: Vec<i32> = totals.iter().map(|(_, t)| *t).collect();
        let latest = of.last();
        let latest_band = latest.and_then(|p| p.band.clone());
        let latest_band_label = match (def, latest.and_then(|p| p.total)) {
            (Some(d), Some(t)) => {
                d.scoring().bands.as_ref().and_then(|b| b.bands.iter().find(|b| (b.min..=b.max).contains(&t))).map(|b| b.label.clone())
            }
            _ => None,
        };
        if let Some(m) = def.map(|d| d.id().clone())
            && config.rule(&m).is_some()
            && !values.is_empty()
        {
            series.push(MeasureSeries { measure: m, totals: values.clone() });
        }
        measures.push(MeasureSummary {
            name: def.map_or_else(|| id.clone(), |d| d.short_name().to_owned()),
            instrument: id,
            latest_total: latest.and_then(|p| p.total),
            latest_band,
            latest_band_label,
            latest_caseness: latest.and_then(|p| p.caseness),
            latest_at: latest.map(|p| p.completed_at),
            responses: of.len(),
            change: series_change(&values, rc.as_ref().map(|r| r.threshold), direction),
            reliable_change_threshold: rc.as_ref().map(|r| r.threshold),
            reliable_change_source: rc.map(|r| r.source),
            points: totals,
        });
    }
    let episode = if series.is_empty() { None } else { episode_outcome(&series, config).ok() };
    ClientOutcomes { measures, episode }
}
