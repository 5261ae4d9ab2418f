//! The agreement report: how often the people working the tickets kept what halo-triage
//! decided, field by field and source by source, from the read-backs in the store
//! (`compare.rs` makes them; `tasks/readback.rs` runs the reading). The same report is
//! printed by `halo-triage report`, served at `GET /admin/report` and turned into gauges.

pub mod compare;
mod text;

pub use text::render;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

use crate::config::ReportSettings;
use crate::halo::Field;
use crate::store::{Store, StoreError};
use crate::triage::model::ModelSet;

/// Rules, disagreements and tickets shown: the worst few are what an operator acts on.
const WORST: usize = 10;
const TICKETS_SHOWN: u32 = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Decisions made from this date on (as asked), or `null` for all.
    pub since: Option<String>,
    /// Decisions read back, and decisions waiting to settle.
    pub decisions_read_back: i64,
    pub decisions_pending: i64,
    pub fields: Vec<FieldReport>,
    /// Rules whose values people changed most often.
    pub worst_rules: Vec<RuleReport>,
    /// Fields at or above `report.ready_agreement` over at least `report.ready_min` tickets.
    pub ready: Vec<String>,
    pub ready_agreement: f64,
    pub ready_min: i64,
    pub disagreements: Vec<Disagreement>,
    /// Per learned model: the corrections read back since it was trained.
    pub corrections: Vec<Corrections>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FieldReport {
    pub field: &'static str,
    /// Fields a person judged (moved, or kept on a closed ticket), and of them those that
    /// ended with our value.
    pub compared: i64,
    pub agreed: i64,
    pub agreement: Option<f64>,
    /// Our value stood on an open ticket no one had changed: not counted as agreement.
    pub untouched: i64,
    /// Left for review, and of those the ones a person then filled in.
    pub review: i64,
    pub review_filled: i64,
    /// Halo's answer did not carry the field.
    pub unread: i64,
    /// Of `compared`, the values we wrote (live mode): kept or changed by a person.
    pub live: LiveFigures,
    pub by_source: Vec<SourceReport>,
    /// Our value against theirs, for compared fields.
    pub confusion: Vec<Cell>,
    pub ready: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveFigures {
    pub compared: i64,
    pub kept: i64,
    pub changed: i64,
    pub override_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// rule, default, model or llm.
    pub source: String,
    /// The rule's name or the model's version.
    pub name: String,
    pub compared: i64,
    pub agreed: i64,
    pub agreement: Option<f64>,
    pub untouched: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub ours: String,
    pub theirs: Option<String>,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    pub rule: String,
    pub field: &'static str,
    pub compared: i64,
    pub overridden: i64,
    pub agreement: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub field: &'static str,
    pub ours: String,
    pub theirs: Option<String>,
    pub count: i64,
    /// The most recent tickets, at most five.
    pub tickets: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Corrections {
    pub field: String,
    pub trained_at: String,
    pub corrections: i64,
}

/// The agreement report last counted over all decisions, and when (unix ms): the
/// read-back counts it again after each pass, the console shows it without counting.
#[derive(Default)]
pub struct LatestReport(Mutex<Option<Arc<(Report, i64)>>>);

impl LatestReport {
    pub fn get(&self) -> Option<Arc<(Report, i64)>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Counts the report over all decisions again, keeps it, and gives it back.
    pub async fn recount(
        &self,
        store: &Store,
        settings: &ReportSettings,
        models: &ModelSet,
    ) -> Result<Arc<(Report, i64)>, StoreError> {
        let report = build(store, 0, None, settings, models).await?;
        let latest = Arc::new((report, crate::clock::now_ms()));
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(latest.clone());
        Ok(latest)
    }
}

/// A `--since` or `?since=` date: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time; unix ms.
pub fn parse_since(since: &str) -> Result<i64, String> {
    let since = since.trim();
    let at = since
        .parse::<jiff::Timestamp>()
        .or_else(|_| format!("{since}T00:00:00Z").parse::<jiff::Timestamp>());
    at.map(|at| at.as_millisecond()).map_err(|_| {
        format!(
            "'{since}' is not a date: give YYYY-MM-DD or an RFC 3339 time (2026-11-01T00:00:00Z)"
        )
    })
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The report over decisions made since `since_ms` (`since` is how it was asked, for the
/// heading); `models` are the models in force, for the corrections since each was trained.
pub async fn build(
    store: &Store,
    since_ms: i64,
    since: Option<String>,
    settings: &ReportSettings,
    models: &ModelSet,
) -> Result<Report, StoreError> {
    let counts = store.read_back_counts(since_ms).await?;
    let mut fields: BTreeMap<&'static str, FieldReport> = BTreeMap::new();
    let mut sources: BTreeMap<(&'static str, String, String), SourceReport> = BTreeMap::new();
    let mut disagreed: BTreeMap<(&'static str, String, Option<String>), i64> = BTreeMap::new();
    for row in &counts {
        let Some(field) = Field::ALL.into_iter().find(|f| f.name() == row.field) else {
            continue;
        };
        let name = field.name();
        let report = fields.entry(name).or_insert_with(|| FieldReport {
            field: name,
            ..FieldReport::default()
        });
        let n = row.count;
        let judged = matches!(row.outcome.as_str(), "agreed" | "disagreed");
        let agreed = row.outcome == "agreed";
        match row.outcome.as_str() {
            "untouched" => report.untouched += n,
            "review" => {
                report.review += n;
                report.review_filled += if row.theirs.is_some() { n } else { 0 };
            }
            "unread" => report.unread += n,
            _ => {}
        }
        if judged {
            report.compared += n;
            report.agreed += if agreed { n } else { 0 };
            if row.mode == "live" {
                report.live.compared += n;
                *if agreed {
                    &mut report.live.kept
                } else {
                    &mut report.live.changed
                } += n;
            }
            let ours = row.ours.clone().unwrap_or_default();
            if !agreed {
                *disagreed
                    .entry((name, ours.clone(), row.theirs.clone()))
                    .or_default() += n;
            }
            report.confusion.push(Cell {
                ours,
                theirs: row.theirs.clone(),
                count: n,
            });
        }
        if let Some(kind) = &row.source_kind {
            if judged || row.outcome == "untouched" {
                let key = (name, kind.clone(), row.source_name.clone());
                let source = sources.entry(key).or_insert_with(|| SourceReport {
                    source: kind.clone(),
                    name: row.source_name.clone(),
                    compared: 0,
                    agreed: 0,
                    agreement: None,
                    untouched: 0,
                });
                match (judged, agreed) {
                    (true, true) => {
                        source.compared += n;
                        source.agreed += n;
                    }
                    (true, false) => source.compared += n,
                    (false, _) => source.untouched += n,
                }
            }
        }
    }
    let mut worst_rules = Vec::new();
    for ((field, kind, name), mut source) in sources {
        source.agreement = ratio(source.agreed, source.compared);
        if kind == "rule" && source.compared > source.agreed {
            worst_rules.push(RuleReport {
                rule: name,
                field,
                compared: source.compared,
                overridden: source.compared - source.agreed,
                agreement: source.agreement,
            });
        }
        if let Some(report) = fields.get_mut(field) {
            report.by_source.push(source);
        }
    }
    worst_rules.sort_by(|a, b| {
        (b.overridden, b.compared, &a.rule).cmp(&(a.overridden, a.compared, &b.rule))
    });
    worst_rules.truncate(WORST);
    let mut ready = Vec::new();
    for report in fields.values_mut() {
        report.agreement = ratio(report.agreed, report.compared);
        report.live.override_rate = ratio(report.live.changed, report.live.compared);
        report.ready = report.compared >= settings.ready_min
            && report
                .agreement
                .is_some_and(|a| a >= settings.ready_agreement);
        if report.ready {
            ready.push(report.field.to_string());
        }
        report
            .by_source
            .sort_by_key(|s| std::cmp::Reverse(s.compared));
        report.confusion = merge(std::mem::take(&mut report.confusion));
    }
    let mut cells: Vec<_> = disagreed.into_iter().collect();
    cells.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    let mut disagreements = Vec::new();
    for ((field, ours, theirs), count) in cells.into_iter().take(WORST) {
        let tickets = store
            .disagreeing_tickets(since_ms, field, &ours, theirs.as_deref(), TICKETS_SHOWN)
            .await?;
        disagreements.push(Disagreement {
            field,
            ours,
            theirs,
            count,
            tickets,
        });
    }
    let mut corrections = Vec::new();
    for (field, model) in &models.models {
        if let Ok(trained) = model.info.trained_at.parse::<jiff::Timestamp>() {
            corrections.push(Corrections {
                field: field.name().to_string(),
                trained_at: model.info.trained_at.clone(),
                corrections: store
                    .corrections_since(field.name(), trained.as_millisecond())
                    .await?,
            });
        }
    }
    let ordered = Field::ALL
        .into_iter()
        .filter_map(|f| fields.remove(f.name()));
    Ok(Report {
        since,
        decisions_read_back: store.decisions_read_back(since_ms).await?,
        decisions_pending: store.pending_read_backs().await?,
        fields: ordered.collect(),
        worst_rules,
        ready,
        ready_agreement: settings.ready_agreement,
        ready_min: settings.ready_min,
        disagreements,
        corrections,
    })
}

/// One cell per (ours, theirs), largest first: rows of several sources add up.
fn merge(cells: Vec<Cell>) -> Vec<Cell> {
    let mut merged: BTreeMap<(String, Option<String>), i64> = BTreeMap::new();
    for cell in cells {
        *merged.entry((cell.ours, cell.theirs)).or_default() += cell.count;
    }
    let mut merged: Vec<Cell> = merged
        .into_iter()
        .map(|((ours, theirs), count)| Cell {
            ours,
            theirs,
            count,
        })
        .collect();
    merged.sort_by_key(|c| std::cmp::Reverse(c.count));
    merged
}

impl Report {
    /// Sets the agreement and override gauges, per field.
    pub fn publish(&self) {
        for field in &self.fields {
            crate::telemetry::metrics::agreement(field.field, field.agreement, field.compared);
            crate::telemetry::metrics::overrides(field.field, field.live.override_rate);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_times_are_accepted_since() {
        assert_eq!(super::parse_since("2026-11-01"), Ok(1_793_491_200_000));
        assert_eq!(
            super::parse_since("2026-11-01T01:00:00Z"),
            Ok(1_793_494_800_000)
        );
        assert!(super::parse_since("last week")
            .unwrap_err()
            .contains("YYYY-MM-DD"));
    }
}
