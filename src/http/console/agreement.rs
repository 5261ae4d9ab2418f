//! Agreement: the shadow agreement report per field (what people kept of what we decided,
//! read back from Halo), as bars, and for each field our values against theirs as a heat
//! map. It shows the report the read-back counted after its last pass, or the one counted
//! at start when no read-back runs; one is counted here only when neither has been yet
//! (a view before the read-back's first pass).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::{html, Markup};

use super::layout::{self, percent, when};
use super::session::Session;
use super::store_error;
use crate::charts;
use crate::http::Operator;
use crate::report::{Cell, FieldReport};

/// Labels a heat map shows at most per side, the most frequent first; the rest are added
/// up as "other".
const LABELS: usize = 12;
const EMPTY: &str = "(empty)";
const OTHER: &str = "(other)";

pub async fn page(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
) -> Response {
    let latest = match console.latest_report.get() {
        Some(latest) => latest,
        None => {
            let models = console.models.current();
            let recounted = console
                .latest_report
                .recount(&console.store, &console.report, &models)
                .await;
            match recounted {
                Ok(latest) => latest,
                Err(error) => return store_error(error),
            }
        }
    };
    let (report, counted_at) = (&latest.0, latest.1);
    let bars: Vec<(String, Option<f64>, String)> = report
        .fields
        .iter()
        .map(|f| {
            let note = format!("{} of {} ({})", f.agreed, f.compared, percent(f.agreement));
            (f.field.to_string(), f.agreement, note)
        })
        .collect();
    let body = html! {
        p {
            (report.decisions_read_back) " decisions read back, " (report.decisions_pending) " waiting to settle. "
            "Counted " (when(counted_at)) "."
        }
        p.hint {
            "A field counts once a person has judged it: changed it after our decision, or closed the ticket with it. "
            "Ready means at least " (percent(Some(report.ready_agreement))) " agreement over at least " (report.ready_min) " tickets."
        }
        @if report.fields.is_empty() {
            p { "Nothing has been read back yet. The read-back runs every " code { "report.interval_secs" }
                " once Halo credentials are set, and reads a decision " code { "report.settle_secs" } " after it was made." }
        } @else {
            (charts::bars(&bars, "agreement per field"))
            table {
                thead { tr { th { "Field" } th { "Compared" } th { "Agreed" } th { "Agreement" } th { "Untouched" } th { "Review" } th { "Live kept/changed" } th { "Override rate" } th { "Ready" } } }
                tbody {
                    @for f in &report.fields {
                        tr {
                            th scope="row" { (f.field) }
                            td { (f.compared) } td { (f.agreed) } td { (percent(f.agreement)) }
                            td { (f.untouched) } td { (f.review) }
                            td { (f.live.kept) " / " (f.live.changed) }
                            td { (percent(f.live.override_rate)) }
                            td { @if f.ready { strong { "ready" } } }
                        }
                    }
                }
            }
            @if !report.worst_rules.is_empty() {
                h2 { "Rules people overrode most" }
                table {
                    thead { tr { th { "Rule" } th { "Field" } th { "Compared" } th { "Overridden" } th { "Agreement" } } }
                    tbody {
                        @for rule in &report.worst_rules {
                            tr { td { (rule.rule) } td { (rule.field) } td { (rule.compared) } td { (rule.overridden) } td { (percent(rule.agreement)) } }
                        }
                    }
                }
            }
            @for field in report.fields.iter().filter(|f| !f.confusion.is_empty()) {
                (heat_map(field))
            }
        }
    };
    layout::page(session.csrf(), "/ui/agreement", "Agreement", body)
}

/// What people set (down) against what we decided (across) for one field.
fn heat_map(field: &FieldReport) -> Markup {
    let theirs = |cell: &Cell| cell.theirs.clone().unwrap_or_else(|| EMPTY.into());
    let rows = most_frequent(field.confusion.iter().map(|c| (theirs(c), c.count)));
    let columns = most_frequent(field.confusion.iter().map(|c| (c.ours.clone(), c.count)));
    let place = |labels: &[String], label: &str| {
        labels
            .iter()
            .position(|l| l == label)
            .unwrap_or(labels.len() - 1)
    };
    let mut counts = vec![vec![0i64; columns.len()]; rows.len()];
    for cell in &field.confusion {
        let (i, j) = (place(&rows, &theirs(cell)), place(&columns, &cell.ours));
        counts[i][j] += cell.count;
    }
    html! {
        section {
            h2 { (field.field) ": ours against theirs" }
            p.hint { "Rows: what the ticket ended with; columns: what we decided; shade: share of the row." }
            (charts::heat_map(&rows, &columns, &counts, &format!("{} agreement heat map", field.field)))
        }
    }
}

/// The `LABELS - 1` most frequent labels, then "(other)" when there are more.
fn most_frequent(labels: impl Iterator<Item = (String, i64)>) -> Vec<String> {
    let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
    for (label, count) in labels {
        *totals.entry(label).or_default() += count;
    }
    let mut ranked: Vec<(String, i64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if ranked.len() <= LABELS {
        let kept: BTreeSet<String> = ranked.into_iter().map(|(l, _)| l).collect();
        return kept.into_iter().collect();
    }
    let mut kept: Vec<String> = ranked
        .into_iter()
        .take(LABELS - 1)
        .map(|(l, _)| l)
        .collect();
    kept.sort();
    kept.push(OTHER.into());
    kept
}
