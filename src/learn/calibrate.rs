//! Platt scaling: a sigmoid from a raw score to a probability, fitted by Newton's method
//! with a backtracking line search (Lin, Lin and Weng, "A note on Platt's probabilistic
//! outputs", 2007), on scores the model gave to examples it was not trained on.

/// Fits (A, B) so that P(positive | score) = 1 / (1 + exp(A * score + B)).
pub fn platt(scores: &[f64], positive: &[bool]) -> (f32, f32) {
    let ones = positive.iter().filter(|p| **p).count() as f64;
    let zeros = positive.len() as f64 - ones;
    // Targets pulled off 0 and 1, as Platt does, so a separable set does not diverge.
    let high = (ones + 1.0) / (ones + 2.0);
    let low = 1.0 / (zeros + 2.0);
    let t: Vec<f64> = positive
        .iter()
        .map(|p| if *p { high } else { low })
        .collect();
    let (mut a, mut b) = (0.0f64, ((zeros + 1.0) / (ones + 1.0)).ln());
    let objective = |a: f64, b: f64| -> f64 {
        scores
            .iter()
            .zip(&t)
            .map(|(s, t)| {
                let f = s * a + b;
                if f >= 0.0 {
                    t * f + (1.0 + (-f).exp()).ln()
                } else {
                    (t - 1.0) * f + (1.0 + f.exp()).ln()
                }
            })
            .sum()
    };
    let mut value = objective(a, b);
    for _ in 0..100 {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (1e-12, 1e-12, 0.0, 0.0, 0.0);
        for (s, t) in scores.iter().zip(&t) {
            let f = s * a + b;
            let (p, q) = if f >= 0.0 {
                ((-f).exp() / (1.0 + (-f).exp()), 1.0 / (1.0 + (-f).exp()))
            } else {
                (1.0 / (1.0 + f.exp()), f.exp() / (1.0 + f.exp()))
            };
            let d2 = p * q;
            h11 += s * s * d2;
            h22 += d2;
            h21 += s * d2;
            let d1 = t - p;
            g1 += s * d1;
            g2 += d1;
        }
        if g1.abs() < 1e-5 && g2.abs() < 1e-5 {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let next = objective(na, nb);
            if next < value + 1e-4 * step * gd {
                (a, b, value) = (na, nb, next);
                break;
            }
            step /= 2.0;
        }
        if step < 1e-10 {
            break;
        }
    }
    (a as f32, b as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_scores_mean_higher_probabilities() {
        let scores = [-2.0, -1.5, -1.0, -0.2, 0.1, 0.3, 1.0, 1.5, 2.0, -0.1];
        let positive = [
            false, false, false, true, false, true, true, true, true, false,
        ];
        let (a, b) = platt(&scores, &positive);
        let p = |s: f32| 1.0 / (1.0 + (a * s + b).exp());
        assert!(a < 0.0, "{a}");
        assert!(p(2.0) > 0.8 && p(-2.0) < 0.2, "{} {}", p(2.0), p(-2.0));
    }
}
