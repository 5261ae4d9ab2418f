//! Model: per learned field, the figures on the held-out tickets it was judged on when it
//! was trained, and its precision-coverage curve.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::layout;
use super::session::Session;
use crate::http::Operator;
use crate::learn::evaluate::Evaluation;
use crate::learn::report;

pub async fn page(
    State(console): State<Arc<Operator>>,
    Extension(session): Extension<Session>,
) -> Response {
    let models = console.models.current();
    let errors = console.models.status().errors;
    let body = html! {
        @for error in &errors { p.error role="alert" { "Refused: " (error) } }
        @if models.models.is_empty() {
            p { "No model is loaded. Train one from your closed tickets with "
                code { "halo-triage learn" } " and put the file in " code { "model.dir" } "." }
        }
        @for (field, model) in &models.models {
            section {
                h2 { (field.name()) }
                p { (model.version()) ": " (model.info.examples) " tickets, " (model.labels.len()) " labels." }
                @match serde_json::from_value::<Evaluation>(model.info.held_out.clone()) {
                    Ok(evaluation) => {
                        p {
                            "On " (evaluation.examples) " held-out tickets: macro-F1 " strong { (format!("{:.3}", evaluation.macro_f1)) }
                            ", accuracy " (format!("{:.3}", evaluation.accuracy))
                            ", calibration error " (format!("{:.3}", evaluation.calibration_error)) "."
                        }
                        (report::coverage(&evaluation))
                        (report::curve(&evaluation))
                        details {
                            summary { "Per label" }
                            (report::per_label(&evaluation))
                        }
                    }
                    Err(_) => p { "This model file carries no held-out figures." }
                }
            }
        }
    };
    layout::page(session.csrf(), "/ui/model", "Model", body)
}
