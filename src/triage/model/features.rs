//! Ticket text as a sparse TF-IDF vector: lower-cased words of two or more letters or
//! digits (scikit-learn's default token pattern), single words and pairs of neighbours,
//! sublinear term frequency, smoothed IDF, unit length.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A sparse vector: (feature index, value), indices ascending.
pub type Sparse = Vec<(u32, f32)>;

/// The terms a model knows and how rare each was in training.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Vectorizer {
    /// Term -> feature index.
    pub vocabulary: HashMap<String, u32>,
    /// Per feature index: ln((1 + documents) / (1 + documents with the term)) + 1.
    pub idf: Vec<f32>,
}

/// The words of `text`: runs of letters, digits or `_`, two characters or longer, lower-cased.
pub fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            current.push(c);
        } else {
            if current.chars().nth(1).is_some() {
                words.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if current.chars().nth(1).is_some() {
        words.push(current);
    }
    words
}

/// Every term of `text`: its words, then each pair of neighbouring words.
pub fn terms(text: &str) -> Vec<String> {
    let words = words(text);
    let pairs = words
        .windows(2)
        .map(|pair| format!("{} {}", pair[0], pair[1]));
    let mut terms: Vec<String> = pairs.collect();
    terms.splice(0..0, words);
    terms
}

impl Vectorizer {
    /// Learns the terms found in at least `min_df` of `texts`.
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>, min_df: usize) -> Vectorizer {
        let mut document_frequency: HashMap<String, u32> = HashMap::new();
        let mut documents = 0usize;
        for text in texts {
            documents += 1;
            let mut seen = terms(text);
            seen.sort_unstable();
            seen.dedup();
            for term in seen {
                *document_frequency.entry(term).or_default() += 1;
            }
        }
        let mut kept: Vec<(String, u32)> = document_frequency
            .into_iter()
            .filter(|(_, df)| *df as usize >= min_df)
            .collect();
        // Sorted, so the same texts always give the same feature indices.
        kept.sort_unstable();
        let idf = kept
            .iter()
            .map(|(_, df)| ((1.0 + documents as f64) / (1.0 + f64::from(*df))).ln() as f32 + 1.0)
            .collect();
        let vocabulary = kept
            .into_iter()
            .enumerate()
            .map(|(index, (term, _))| (term, index as u32))
            .collect();
        Vectorizer { vocabulary, idf }
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    /// `text` as a unit-length TF-IDF vector over the known terms (empty when it has none).
    pub fn transform(&self, text: &str) -> Sparse {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for term in terms(text) {
            if let Some(index) = self.vocabulary.get(&term) {
                *counts.entry(*index).or_default() += 1;
            }
        }
        let mut vector: Sparse = counts
            .into_iter()
            .map(|(index, tf)| {
                let weight = (1.0 + (tf as f32).ln()) * self.idf[index as usize];
                (index, weight)
            })
            .collect();
        vector.sort_unstable_by_key(|(index, _)| *index);
        let norm = vector.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, value) in &mut vector {
                *value /= norm;
            }
        }
        vector
    }

    /// The term of each feature index (for explaining a prediction).
    pub fn terms_by_index(&self) -> Vec<&str> {
        let mut terms = vec![""; self.len()];
        for (term, index) in &self.vocabulary {
            terms[*index as usize] = term;
        }
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_scikit_learns_token_pattern() {
        assert_eq!(
            words("Printer's TONER, a 4th-floor HP_2 x"),
            ["printer", "toner", "4th", "floor", "hp_2"]
        );
        assert_eq!(
            terms("new toner please"),
            ["new", "toner", "please", "new toner", "toner please"]
        );
    }

    #[test]
    fn vectors_are_sublinear_tf_idf_of_unit_length() {
        let texts = [
            "toner toner printer",
            "printer jam",
            "vpn down",
            "vpn printer",
        ];
        let vectorizer = Vectorizer::fit(texts, 2);
        // Only terms in two or more texts: printer (3), vpn (2).
        assert_eq!(vectorizer.len(), 2);
        let vector = vectorizer.transform("printer printer vpn");
        let norm: f32 = vector.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        let printer = vectorizer.vocabulary["printer"];
        let idf = vectorizer.idf[printer as usize];
        assert!((idf - ((5.0f32 / 4.0).ln() + 1.0)).abs() < 1e-6);
        assert!(vectorizer.transform("nothing known here").is_empty());
    }
}
