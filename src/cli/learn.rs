//! `halo-triage learn` and `halo-triage eval`: train a field's model from an export, and
//! judge a model on labelled tickets.

use std::io::Write;
use std::path::Path;

use crate::config::{ConfigError, Settings};
use crate::halo::Field;
use crate::halo::{HaloError, Lookups};
use crate::learn::data::{self, DataError};
use crate::learn::{self, evaluate, report, Example};
use crate::store::{Store, StoreError};
use crate::triage::model::{Model, ModelFileError};

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelFileError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("reading the history from Halo: {0}")]
    Halo(#[from] HaloError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
    let labels = learn::labels(&examples);
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

/// Trains a model per `learn.fields` from the configured Halo's closed tickets (or, with
/// `since`, the tickets read back since that date: the values people set after the
/// service decided) and writes each to `model.dir/<field>.model`; returns what to print. Progress goes to stderr: one
/// line rewritten in place on a terminal, a line per page otherwise (for logs).
pub async fn learn_from_halo(
    settings: &Settings,
    since: Option<&str>,
) -> Result<String, LearnError> {
    let halo = settings.halo_client()?.ok_or_else(|| {
        LearnError::Input(
            "no Halo credentials (halo.base_url, halo.client_id, halo.client_secret): set them, \
             or learn from an export with --from FILE --text COL --label COL --field NAME --out FILE"
                .into(),
        )
    })?;
    let since_ms = since
        .map(|since| {
            crate::report::parse_since(since)
                .map(|ms| (since, ms))
                .map_err(|e| LearnError::Input(format!("--since: {e}")))
        })
        .transpose()?;
    // The running service's budget, shared through the store: learning pages through many
    // tickets, and must not take Halo's limit from the service.
    let store = Store::connect(&settings.store).await?;
    halo.share_budget(std::sync::Arc::new(store.clone()));
    let lookups = Lookups::new(halo.clone(), settings.halo.lookup_ttl);
    let fields: Vec<_> = settings
        .learn
        .fields
        .iter()
        .filter_map(|f| Field::learnable(f))
        .collect();
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut progress = |read: usize, total: Option<u64>| {
        let total = total.map_or(String::new(), |t| format!(" of {t}"));
        match terminal {
            true => eprint!("\rread {read}{total} closed tickets"),
            false => eprintln!("learn: read {read}{total} closed tickets"),
        }
    };
    let (tickets, read) = match since_ms {
        Some((since, since_ms)) => {
            let ids = store.tickets_read_back_since(since_ms).await?;
            let tickets = crate::learn::halo::by_ids(&halo, &ids, &mut progress).await?;
            (tickets, format!("read back since {since}"))
        }
        None => {
            let days = i64::from(settings.learn.months) * 30;
            let since = crate::halo::date_param(crate::clock::now_ms() - days * 86_400_000);
            let max = settings.learn.max_tickets;
            let tickets = crate::learn::halo::closed_since(&halo, &since, max, &mut progress);
            (tickets.await?, format!("closed since {since}"))
        }
    };
    if terminal {
        eprintln!();
    }
    let history = crate::learn::halo::label(&lookups, &fields, &tickets).await?;
    let mut report = format!("{} tickets {read} read from Halo\n", history.read);
    for field in &fields {
        let examples = history.examples.get(field).map_or(&[][..], Vec::as_slice);
        let (empty, unusable) = history.left_out.get(field).copied().unwrap_or_default();
        let labels = learn::labels(examples);
        report.push_str(&format!(
            "\n== {field}: {} tickets with a label, {empty} without one, {unusable} whose label \
             is no longer in use in Halo (left out)\n",
            examples.len()
        ));
        if labels.len() < 2 {
            report.push_str("not trained: a model needs two or more labels\n");
            continue;
        }
        let (model, evaluation) = learn::learn(examples, field.name());
        let out = settings.model.dir.join(format!("{}.model", field.name()));
        model.save(&out)?;
        report.push_str(&format!(
            "held out 20% (by a hash of the text, per label):\n{evaluation}\nwrote {}\n",
            out.display()
        ));
    }
    Ok(report)
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
