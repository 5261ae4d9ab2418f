//! `halo-triage learn` and `halo-triage eval`: train a field's model from an export, and
//! judge a model on labelled tickets.

use std::io::Write;
use std::path::Path;

use crate::learn::data::{self, DataError};
use crate::learn::{self, evaluate, report, Example};
use crate::triage::model::{Model, ModelFileError};

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelFileError),
    #[error("{0}")]
    Input(String),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Trains the model for `field` from `from` and writes it to `out`; returns what to print:
/// the held-out evaluation and what was written.
pub fn learn_from_file(
    from: &Path,
    text: &[String],
    label: &str,
    field: &str,
    out: &Path,
) -> Result<String, LearnError> {
    let rows = data::read(from, text, Some(label))?;
    let total = rows.len();
    let examples: Vec<Example> = rows
        .into_iter()
        .filter_map(|row| {
            let label = row.label.filter(|l| !l.is_empty())?;
            (!row.text.trim().is_empty()).then_some(Example {
                text: row.text,
                label,
            })
        })
        .collect();
    let mut labels: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.len() < 2 {
        return Err(LearnError::Input(format!(
            "{}: {} labelled tickets with {} distinct labels in '{label}'; a model needs two or more",
            from.display(),
            examples.len(),
            labels.len()
        )));
    }
    let skipped = total - examples.len();
    let started = std::time::Instant::now();
    let (model, evaluation) = learn::learn(&examples, field);
    model.save(out)?;
    Ok(format!(
        "{} tickets read, {skipped} without a label or text left out, {} labels\n\
         held out 20% (by a hash of the text, per label):\n\n{evaluation}\n\n\
         trained on all {} tickets ({:.1} s for the held-out run and the final model, {} terms); wrote {}\n",
        total,
        model.labels.len(),
        examples.len(),
        started.elapsed().as_secs_f64(),
        model.vectorizer.len(),
        out.display()
    ))
}

/// Evaluates the model at `model_path` on `from`; writes the predictions (JSON Lines, one
/// per input row, in order) and the HTML report when asked. Returns what to print.
pub fn eval(
    model_path: &Path,
    from: &Path,
    text: &[String],
    label: &str,
    predictions: Option<&Path>,
    report_path: Option<&Path>,
) -> Result<String, LearnError> {
    let model = Model::load(model_path)?;
    let rows = data::read(from, text, Some(label))?;
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let predicted = learn::predict_all(&model, &texts);
    if let Some(path) = predictions {
        let write = |source| LearnError::Write {
            path: path.display().to_string(),
            source,
        };
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(write)?);
        for (label, confidence) in &predicted {
            let line = serde_json::json!({"predicted": label, "confidence": confidence});
            writeln!(file, "{line}").map_err(write)?;
        }
        file.flush().map_err(write)?;
    }
    let labelled: Vec<(String, (String, f64))> = rows
        .iter()
        .zip(&predicted)
        .filter_map(|(row, p)| Some((row.label.clone().filter(|l| !l.is_empty())?, p.clone())))
        .collect();
    if labelled.is_empty() {
        return Err(LearnError::Input(format!(
            "{}: no row has a label in '{label}' to compare with",
            from.display()
        )));
    }
    let (truth, scored): (Vec<String>, Vec<(String, f64)>) = labelled.into_iter().unzip();
    let evaluation = evaluate::evaluate(&model.labels, &truth, &scored);
    if let Some(path) = report_path {
        let page = report::html(
            &evaluation,
            &model_path.display().to_string(),
            &from.display().to_string(),
        );
        std::fs::write(path, page).map_err(|source| LearnError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(format!(
        "model {} (field {}, trained {} on {} tickets) on {}:\n{evaluation}\n",
        model_path.display(),
        model.info.field,
        model.info.trained_at,
        model.info.examples,
        from.display()
    ))
}
