//! `eval --report`: one self-contained HTML page (inline SVG and CSS, nothing fetched)
//! with the figures, the confusion matrix as a heat map and the precision-coverage curve.

use maud::{html, Markup, DOCTYPE};

use super::evaluate::Evaluation;
use crate::charts;

/// The confusion matrix of an evaluation: true labels down, the model's across.
pub fn confusion(evaluation: &Evaluation) -> Markup {
    let labels: Vec<String> = evaluation.labels.iter().map(|l| l.label.clone()).collect();
    let counts: Vec<Vec<i64>> = evaluation
        .confusion
        .iter()
        .map(|row| row.iter().map(|c| *c as i64).collect())
        .collect();
    charts::heat_map(&labels, &labels, &counts, "confusion matrix")
}

/// The precision-coverage curve of an evaluation, with its coverage points marked.
pub fn curve(evaluation: &Evaluation) -> Markup {
    let marks: Vec<(f64, f64)> = evaluation
        .coverage
        .iter()
        .map(|c| (c.precision, c.coverage))
        .collect();
    charts::precision_curve(&evaluation.curve, &marks)
}

/// The coverage points as a list.
pub fn coverage(evaluation: &Evaluation) -> Markup {
    html! {
        ul {
            @for c in &evaluation.coverage {
                li {
                    "at precision " (format!("{:.2}", c.precision)) ": "
                    strong { (format!("{:.1}%", 100.0 * c.coverage)) }
                    " of tickets (confidence ≥ " (format!("{:.3}", c.threshold)) ")"
                }
            }
        }
    }
}

/// The figures per label.
pub fn per_label(evaluation: &Evaluation) -> Markup {
    html! {
        table {
            thead { tr { th { "label" } th { "precision" } th { "recall" } th { "F1" } th { "support" } } }
            tbody {
                @for l in &evaluation.labels {
                    tr {
                        th scope="row" { (l.label) }
                        td { (format!("{:.3}", l.precision)) }
                        td { (format!("{:.3}", l.recall)) }
                        td { (format!("{:.3}", l.f1)) }
                        td { (l.support) }
                    }
                }
            }
        }
    }
}

/// The whole page for `model_name` on `data_name`.
pub fn html(evaluation: &Evaluation, model_name: &str, data_name: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Model evaluation: " (model_name) }
                style { "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;text-align:right}th[scope=row]{text-align:left}svg text{font-size:12px}" }
            }
            body {
                h1 { "Model evaluation" }
                p { "Model " code { (model_name) } " on " code { (data_name) } ": " (evaluation.examples) " tickets." }
                p {
                    "Macro-F1 " strong { (format!("{:.4}", evaluation.macro_f1)) }
                    ", accuracy " (format!("{:.4}", evaluation.accuracy))
                    ", expected calibration error " (format!("{:.4}", evaluation.calibration_error)) "."
                }
                h2 { "Coverage" }
                (coverage(evaluation))
                h2 { "Precision against coverage" }
                (curve(evaluation))
                h2 { "Per label" }
                (per_label(evaluation))
                h2 { "Confusion matrix" }
                p { "Rows: the true label; columns: the model's; shade: share of the row." }
                (confusion(evaluation))
            }
        }
    }
    .into_string()
}
