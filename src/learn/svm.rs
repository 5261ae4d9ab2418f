//! A linear SVM per label (one against the rest), trained as LIBLINEAR trains
//! scikit-learn's `LinearSVC`: L2-regularised squared hinge loss, solved in the dual by
//! coordinate descent (Hsieh et al., ICML 2008), with a bias as an extra constant feature.
//!
//! Written here because no maintained Rust crate trains a linear model on sparse input of
//! this size (linfa-svm and smartcore take dense matrices: 38,000 tickets × 100,000 terms
//! would not fit in memory); the algorithm is short and standard.

use crate::triage::model::Sparse;

/// Settings as `LinearSVC`'s defaults: C = 1; stop when the projected gradient's spread is
/// under `tolerance` or after `max_passes` passes over the data.
pub struct SvmSettings {
    pub c: f64,
    pub tolerance: f64,
    pub max_passes: usize,
}

impl Default for SvmSettings {
    fn default() -> Self {
        SvmSettings {
            c: 1.0,
            tolerance: 0.1,
            max_passes: 1000,
        }
    }
}

/// A small deterministic generator for the visiting order (the same data always gives the
/// same model).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Trains one binary SVM: `positive[i]` says whether example `i` has the label. Returns
/// one weight per feature and then the bias (`features + 1` values).
pub fn train_binary(
    examples: &[Sparse],
    positive: &[bool],
    features: usize,
    settings: &SvmSettings,
) -> Vec<f32> {
    let n = examples.len();
    let mut w = vec![0f64; features + 1];
    let mut alpha = vec![0f64; n];
    // Squared hinge: the dual's diagonal gains 1 / (2C); the bias feature adds 1 to x·x.
    let diagonal = 1.0 / (2.0 * settings.c);
    let q: Vec<f64> = examples
        .iter()
        .map(|x| x.iter().map(|(_, v)| f64::from(v * v)).sum::<f64>() + 1.0 + diagonal)
        .collect();
    let y: Vec<f64> = positive
        .iter()
        .map(|p| if *p { 1.0 } else { -1.0 })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..settings.max_passes {
        for i in (1..n).rev() {
            order.swap(i, random.below(i + 1));
        }
        let (mut largest, mut smallest) = (f64::NEG_INFINITY, f64::INFINITY);
        for &i in &order {
            let x = &examples[i];
            let margin = w[features]
                + x.iter()
                    .map(|(j, v)| w[*j as usize] * f64::from(*v))
                    .sum::<f64>();
            let gradient = y[i] * margin - 1.0 + diagonal * alpha[i];
            let projected = if alpha[i] == 0.0 {
                gradient.min(0.0)
            } else {
                gradient
            };
            largest = largest.max(projected);
            smallest = smallest.min(projected);
            if projected.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - gradient / q[i]).max(0.0);
                let step = (alpha[i] - old) * y[i];
                for (j, v) in x {
                    w[*j as usize] += step * f64::from(*v);
                }
                w[features] += step;
            }
        }
        if largest - smallest <= settings.tolerance {
            break;
        }
    }
    w.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_points_are_separated() {
        let examples: Vec<Sparse> = vec![
            vec![(0, 1.0)],
            vec![(0, 0.9), (1, 0.1)],
            vec![(1, 1.0)],
            vec![(1, 0.8), (2, 0.2)],
        ];
        let positive = [true, true, false, false];
        let w = train_binary(&examples, &positive, 3, &SvmSettings::default());
        for (x, p) in examples.iter().zip(positive) {
            let score = w[3] + x.iter().map(|(j, v)| w[*j as usize] * v).sum::<f32>();
            assert_eq!(score > 0.0, p, "{score}");
        }
    }
}
