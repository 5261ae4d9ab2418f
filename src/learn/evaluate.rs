//! How good a model is on labelled tickets it did not learn from: macro-F1, accuracy,
//! per-label figures, the confusion matrix, coverage at a precision (the share of tickets
//! the model may decide alone, most confident first, while staying that precise) and how
//! well its confidences are calibrated.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The precisions coverage is reported at.
pub const PRECISIONS: [f64; 3] = [0.90, 0.95, 0.98];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LabelFigures {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Coverage at one precision: confident answers from `threshold` up are that precise.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Coverage {
    pub precision: f64,
    pub coverage: f64,
    /// The lowest confidence within the covered share (1.0 when nothing is covered).
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub labels: Vec<LabelFigures>,
    /// `confusion[true][predicted]`, in the order of `labels`.
    pub confusion: Vec<Vec<usize>>,
    pub coverage: Vec<Coverage>,
    /// Expected calibration error over ten confidence bins (0 is perfect).
    pub calibration_error: f64,
    /// The precision-coverage curve: (coverage, precision) of the most confident k, for
    /// k in steps of 1% of the examples.
    pub curve: Vec<(f64, f64)>,
}

/// Scores `predicted` (label, confidence) against `truth`; `labels` orders the table
/// (labels in `truth` the model does not know are added at the end).
pub fn evaluate(labels: &[String], truth: &[String], predicted: &[(String, f64)]) -> Evaluation {
    let mut names: Vec<String> = labels.to_vec();
    for label in truth {
        if !names.contains(label) {
            names.push(label.clone());
        }
    }
    let index = |label: &str| {
        names
            .iter()
            .position(|n| n == label)
            .expect("a listed label")
    };
    let mut confusion = vec![vec![0usize; names.len()]; names.len()];
    for (t, (p, _)) in truth.iter().zip(predicted) {
        confusion[index(t)][index(p)] += 1;
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let figures: Vec<LabelFigures> = names
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let hits = confusion[i][i];
            let support: usize = confusion[i].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[i]).sum();
            let (precision, recall) = (ratio(hits, predicted), ratio(hits, support));
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            LabelFigures {
                label: label.clone(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let present: Vec<&LabelFigures> = figures.iter().filter(|f| f.support > 0).collect();
    let macro_f1 = present.iter().map(|f| f.f1).sum::<f64>() / present.len().max(1) as f64;
    let correct: Vec<bool> = truth
        .iter()
        .zip(predicted)
        .map(|(t, (p, _))| t == p)
        .collect();
    let accuracy = ratio(correct.iter().filter(|c| **c).count(), truth.len());

    // Most confident first; the running precision of the top k.
    let mut order: Vec<usize> = (0..truth.len()).collect();
    order.sort_by(|a, b| predicted[*b].1.total_cmp(&predicted[*a].1));
    let mut running = Vec::with_capacity(order.len());
    let mut hits = 0;
    for (k, i) in order.iter().enumerate() {
        hits += usize::from(correct[*i]);
        running.push(hits as f64 / (k + 1) as f64);
    }
    let n = truth.len().max(1) as f64;
    let coverage = PRECISIONS
        .iter()
        .map(|target| {
            let covered = running
                .iter()
                .rposition(|p| *p >= *target)
                .map_or(0, |k| k + 1);
            Coverage {
                precision: *target,
                coverage: covered as f64 / n,
                threshold: covered
                    .checked_sub(1)
                    .map_or(1.0, |k| predicted[order[k]].1),
            }
        })
        .collect();
    let step = (truth.len() / 100).max(1);
    let curve = (1..=truth.len())
        .filter(|k| k % step == 0 || *k == truth.len())
        .map(|k| (k as f64 / n, running[k - 1]))
        .collect();
    let mut bins = [(0usize, 0f64, 0usize); 10];
    for (i, (_, confidence)) in predicted.iter().enumerate() {
        let bin = ((confidence * 10.0) as usize).min(9);
        bins[bin].0 += 1;
        bins[bin].1 += confidence;
        bins[bin].2 += usize::from(correct[i]);
    }
    let calibration_error = bins
        .iter()
        .filter(|(count, _, _)| *count > 0)
        .map(|(count, confidence, hits)| {
            let c = *count as f64;
            (c / n) * (confidence / c - *hits as f64 / c).abs()
        })
        .sum();
    Evaluation {
        examples: truth.len(),
        accuracy,
        macro_f1,
        labels: figures,
        confusion,
        coverage,
        calibration_error,
        curve,
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} tickets: macro-F1 {:.4}, accuracy {:.4}",
            self.examples, self.macro_f1, self.accuracy
        )?;
        writeln!(
            f,
            "\n{:<24} {:>9} {:>9} {:>9} {:>8}",
            "label", "precision", "recall", "F1", "support"
        )?;
        for l in &self.labels {
            writeln!(
                f,
                "{:<24} {:>9.3} {:>9.3} {:>9.3} {:>8}",
                l.label, l.precision, l.recall, l.f1, l.support
            )?;
        }
        writeln!(
            f,
            "\nconfusion (rows: true label, columns: predicted, in the order above)"
        )?;
        for (label, row) in self.labels.iter().zip(&self.confusion) {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:>6}")).collect();
            writeln!(f, "{:<24} {}", label.label, cells.join(""))?;
        }
        writeln!(
            f,
            "\ncoverage: the share the model may decide alone at a precision"
        )?;
        for c in &self.coverage {
            writeln!(
                f,
                "  at precision {:.2}: {:.1}% of tickets (confidence >= {:.3})",
                c.precision,
                100.0 * c.coverage,
                c.threshold
            )?;
        }
        write!(
            f,
            "\ncalibration: expected calibration error {:.4} (10 bins; 0 = confidences match accuracy)",
            self.calibration_error
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_on_a_small_known_case() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let truth: Vec<String> = ["A", "A", "B", "B"].map(String::from).to_vec();
        let predicted = vec![
            ("A".to_string(), 0.9),
            ("B".to_string(), 0.6),
            ("B".to_string(), 0.8),
            ("B".to_string(), 0.7),
        ];
        let e = evaluate(&labels, &truth, &predicted);
        assert_eq!(e.accuracy, 0.75);
        assert_eq!(e.confusion, vec![vec![1, 1], vec![0, 2]]);
        // A: P 1, R 0.5, F1 2/3; B: P 2/3, R 1, F1 0.8.
        assert!((e.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
        // The three most confident are right; the fourth (0.6) is wrong.
        assert_eq!(e.coverage[0].coverage, 0.75);
        assert_eq!(e.coverage[0].threshold, 0.7);
        assert_eq!(e.curve.last(), Some(&(1.0, 0.75)));
    }
}
