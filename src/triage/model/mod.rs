//! A learned classifier per field (`halo-triage learn`): TF-IDF features, one linear
//! scorer per label, and Platt-calibrated confidences. Pure: text in, ranked labels out.

pub mod features;
mod file;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::halo::Field;

pub use features::{Sparse, Vectorizer};
pub use file::ModelFileError;

/// What the file says about a model besides its numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    /// The Halo field it decides (`category_1`, `team`, …).
    pub field: String,
    /// When it was trained (RFC 3339, UTC).
    pub trained_at: String,
    /// Tickets it was trained on.
    pub examples: usize,
    /// The figures on the held-out part, as `learn` printed them (JSON, for `eval`,
    /// the console and the report).
    pub held_out: serde_json::Value,
}

/// The models in force, one per field.
#[derive(Debug, Clone, Default)]
pub struct ModelSet {
    pub models: BTreeMap<Field, Arc<Model>>,
}

impl ModelSet {
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

/// One trained model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub info: ModelInfo,
    pub labels: Vec<String>,
    pub vectorizer: Vectorizer,
    /// Per label, one weight per feature and then the bias: `labels.len() * (features + 1)`.
    pub weights: Vec<f32>,
    /// Per label, Platt's (A, B): P(label) = 1 / (1 + exp(A * score + B)), before the
    /// probabilities of all labels are scaled to sum to one.
    pub platt: Vec<(f32, f32)>,
}

/// The model's answer for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: String,
    /// Calibrated probability that `label` is right, 0 to 1.
    pub confidence: f64,
    /// Every label with its probability, most likely first.
    pub ranked: Vec<(String, f64)>,
    /// The terms that weighed most for `label` ("toner", "printer").
    pub terms: Vec<String>,
}

impl Model {
    /// What a decision records of the model: its field and training date.
    pub fn version(&self) -> String {
        format!("{} model trained {}", self.info.field, self.info.trained_at)
    }

    fn row(&self, label: usize) -> &[f32] {
        let width = self.vectorizer.len() + 1;
        &self.weights[label * width..(label + 1) * width]
    }

    /// The raw score of every label for a feature vector.
    pub fn scores(&self, x: &Sparse) -> Vec<f64> {
        (0..self.labels.len())
            .map(|label| {
                let row = self.row(label);
                let bias = f64::from(row[row.len() - 1]);
                bias + x
                    .iter()
                    .map(|(i, v)| f64::from(row[*i as usize] * v))
                    .sum::<f64>()
            })
            .collect()
    }

    /// Calibrated probabilities from raw scores, summing to one.
    pub fn probabilities(&self, scores: &[f64]) -> Vec<f64> {
        let raw: Vec<f64> = scores
            .iter()
            .zip(&self.platt)
            .map(|(s, (a, b))| 1.0 / (1.0 + (f64::from(*a) * s + f64::from(*b)).exp()))
            .collect();
        let total: f64 = raw.iter().sum();
        match total > 0.0 {
            true => raw.iter().map(|p| p / total).collect(),
            false => vec![1.0 / raw.len() as f64; raw.len()],
        }
    }

    pub fn predict(&self, text: &str) -> Prediction {
        let x = self.vectorizer.transform(text);
        let probabilities = self.probabilities(&self.scores(&x));
        let mut ranked: Vec<(String, f64)> =
            self.labels.iter().cloned().zip(probabilities).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = self
            .labels
            .iter()
            .position(|l| *l == ranked[0].0)
            .expect("a label of the model");
        Prediction {
            label: ranked[0].0.clone(),
            confidence: ranked[0].1,
            terms: self.weightiest_terms(best, &x, 3),
            ranked,
        }
    }

    /// The `n` terms of `x` that added most to `label`'s score.
    fn weightiest_terms(&self, label: usize, x: &Sparse, n: usize) -> Vec<String> {
        let row = self.row(label);
        let mut weighed: Vec<(u32, f32)> = x
            .iter()
            .map(|(i, v)| (*i, row[*i as usize] * v))
            .filter(|(_, w)| *w > 0.0)
            .collect();
        weighed.sort_by(|a, b| b.1.total_cmp(&a.1));
        weighed
            .iter()
            .take(n)
            .map(|(i, _)| self.vectorizer.terms()[*i as usize].clone())
            .collect()
    }
}
