//! Training a model for one field from labelled tickets (`halo-triage learn`), and
//! judging it (`halo-triage eval`). The model itself, and prediction, live in
//! `triage::model`; this layer only makes and measures models.

mod calibrate;
pub mod data;
pub mod evaluate;
pub mod halo;
pub mod report;
mod svm;

use sha2::{Digest, Sha256};

use crate::triage::model::{Model, ModelInfo, Sparse, Vectorizer};
use evaluate::Evaluation;
use svm::SvmSettings;

/// One labelled ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// Terms must appear in this many tickets to be features.
const MIN_DOCUMENT_FREQUENCY: usize = 2;
/// Folds whose out-of-fold scores calibrate the confidences.
const CALIBRATION_FOLDS: u64 = 3;

/// The distinct labels of `examples`, sorted.
pub fn labels(examples: &[Example]) -> Vec<String> {
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

/// A stable number from a text: the split and the folds depend on the text alone.
fn text_hash(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Splits off `share` of each label's examples (those whose text hashes lowest) as the
/// held-out part: (training, held out).
pub fn hold_out(examples: &[Example], share: f64) -> (Vec<Example>, Vec<Example>) {
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for label in labels(examples) {
        let mut group: Vec<&Example> = examples.iter().filter(|e| e.label == label).collect();
        group.sort_by_key(|e| text_hash(&e.text));
        let cut = (group.len() as f64 * share).round() as usize;
        held.extend(group[..cut].iter().map(|e| (*e).clone()));
        train.extend(group[cut..].iter().map(|e| (*e).clone()));
    }
    (train, held)
}

/// One SVM per label over `rows` of `xs`, trained side by side on the machine's cores;
/// the rows of weights, label by label.
fn train_labels(xs: &[Sparse], labels: &[usize], classes: usize, features: usize) -> Vec<Vec<f32>> {
    let settings = SvmSettings::default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows: Vec<Vec<f32>> = vec![Vec::new(); classes];
    let chunk = classes.div_ceil(threads);
    std::thread::scope(|scope| {
        for (part, slots) in rows.chunks_mut(chunk).enumerate() {
            let settings = &settings;
            scope.spawn(move || {
                for (offset, slot) in slots.iter_mut().enumerate() {
                    let class = part * chunk + offset;
                    let positive: Vec<bool> = labels.iter().map(|l| *l == class).collect();
                    *slot = svm::train_binary(xs, &positive, features, settings);
                }
            });
        }
    });
    rows
}

fn score(row: &[f32], x: &Sparse) -> f64 {
    f64::from(row[row.len() - 1])
        + x.iter()
            .map(|(i, v)| f64::from(row[*i as usize] * v))
            .sum::<f64>()
}

/// Trains the model for `field` on `examples` (at least two labels). The confidences are
/// calibrated on scores from models that did not see the ticket (three folds), and the
/// final model is trained on everything.
pub fn train(examples: &[Example], field: &str, held_out: serde_json::Value) -> Model {
    let labels = labels(examples);
    let vectorizer = Vectorizer::fit(
        examples.iter().map(|e| e.text.as_str()),
        MIN_DOCUMENT_FREQUENCY,
    );
    let features = vectorizer.len();
    let xs: Vec<Sparse> = examples
        .iter()
        .map(|e| vectorizer.transform(&e.text))
        .collect();
    let ys: Vec<usize> = examples
        .iter()
        .map(|e| labels.binary_search(&e.label).expect("a collected label"))
        .collect();
    let folds: Vec<u64> = examples
        .iter()
        .map(|e| text_hash(&e.text) % CALIBRATION_FOLDS)
        .collect();
    let mut out_of_fold = vec![vec![0f64; labels.len()]; examples.len()];
    for fold in 0..CALIBRATION_FOLDS {
        let inside: Vec<usize> = (0..xs.len()).filter(|i| folds[*i] != fold).collect();
        let fold_xs: Vec<Sparse> = inside.iter().map(|i| xs[*i].clone()).collect();
        let fold_ys: Vec<usize> = inside.iter().map(|i| ys[*i]).collect();
        let rows = train_labels(&fold_xs, &fold_ys, labels.len(), features);
        for i in (0..xs.len()).filter(|i| folds[*i] == fold) {
            for (class, row) in rows.iter().enumerate() {
                out_of_fold[i][class] = score(row, &xs[i]);
            }
        }
    }
    let platt = (0..labels.len())
        .map(|class| {
            let scores: Vec<f64> = out_of_fold.iter().map(|s| s[class]).collect();
            let positive: Vec<bool> = ys.iter().map(|y| *y == class).collect();
            calibrate::platt(&scores, &positive)
        })
        .collect();
    let weights = train_labels(&xs, &ys, labels.len(), features).concat();
    Model {
        info: ModelInfo {
            field: field.to_string(),
            trained_at: jiff::Timestamp::now().to_string(),
            examples: examples.len(),
            held_out,
        },
        labels,
        vectorizer,
        weights,
        platt,
    }
}

/// The model's predictions for `texts`, in order: (label, confidence).
pub fn predict_all(model: &Model, texts: &[&str]) -> Vec<(String, f64)> {
    texts
        .iter()
        .map(|text| {
            let prediction = model.predict(text);
            (prediction.label, prediction.confidence)
        })
        .collect()
}

/// Holds out 20% (stratified, by a hash of the text), trains on the rest and evaluates
/// on the held-out part; then trains on everything, with those figures inside.
pub fn learn(examples: &[Example], field: &str) -> (Model, Evaluation) {
    let (train_part, held) = hold_out(examples, 0.2);
    let trial = train(&train_part, field, serde_json::Value::Null);
    let texts: Vec<&str> = held.iter().map(|e| e.text.as_str()).collect();
    let truth: Vec<String> = held.iter().map(|e| e.label.clone()).collect();
    let evaluation = evaluate::evaluate(&trial.labels, &truth, &predict_all(&trial, &texts));
    let figures = serde_json::to_value(&evaluation).expect("figures are JSON");
    (train(examples, field, figures), evaluation)
}
