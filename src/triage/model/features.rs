//! Ticket text as a sparse TF-IDF vector: lower-cased words of two or more letters or
//! digits (scikit-learn's default token pattern), single words and pairs of neighbours,
//! sublinear term frequency, smoothed IDF, unit length.

use std::collections::HashMap;

/// A sparse vector: (feature index, value), indices ascending.
pub type Sparse = Vec<(u32, f32)>;

/// The terms a model knows and how rare each was in training.
#[derive(Debug, Clone)]
pub struct Vectorizer {
    /// The terms, sorted: a term's position is its feature index.
    terms: Vec<String>,
    /// Per feature index: ln((1 + documents) / (1 + documents with the term)) + 1.
    pub idf: Vec<f32>,
    /// A term's hash -> its feature index. Hashes rather than the terms themselves keep one
    /// copy of each string; a lookup checks the term, so a stray hash match is no match.
    index: HashMap<u64, u32>,
}

impl PartialEq for Vectorizer {
    fn eq(&self, other: &Self) -> bool {
        self.terms == other.terms && self.idf == other.idf
    }
}

fn hash(term: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    // Fixed keys: the same term hashes the same in every process.
    BuildHasherDefault::<DefaultHasher>::default().hash_one(term)
}

/// The words of lower-cased text: runs of letters, digits or `_`, two characters or longer.
fn word_slices(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.chars().nth(1).is_some())
}

/// Calls `each` with every term of `text`: its words, then each pair of neighbouring
/// words ("new toner"), built in one reused buffer.
pub fn for_each_term(text: &str, mut each: impl FnMut(&str)) {
    let lower = text.to_lowercase();
    let words: Vec<&str> = word_slices(&lower).collect();
    let mut pair = String::new();
    for word in &words {
        each(word);
    }
    for window in words.windows(2) {
        pair.clear();
        pair.push_str(window[0]);
        pair.push(' ');
        pair.push_str(window[1]);
        each(&pair);
    }
}

/// Every term of `text`, as [`for_each_term`] gives them.
pub fn terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for_each_term(text, |term| terms.push(term.to_string()));
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
        Vectorizer::new(kept.into_iter().map(|(term, _)| term).collect(), idf)
    }

    /// A vectorizer for `terms` (sorted, distinct) and their IDF.
    pub fn new(terms: Vec<String>, idf: Vec<f32>) -> Vectorizer {
        let index = terms
            .iter()
            .enumerate()
            .map(|(i, term)| (hash(term), i as u32))
            .collect();
        Vectorizer { terms, idf, index }
    }

    /// The terms, in feature order.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    fn find(&self, term: &str) -> Option<u32> {
        let index = *self.index.get(&hash(term))?;
        (self.terms[index as usize] == term).then_some(index)
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    /// `text` as a unit-length TF-IDF vector over the known terms (empty when it has none).
    pub fn transform(&self, text: &str) -> Sparse {
        let mut found: Vec<u32> = Vec::new();
        for_each_term(text, |term| {
            if let Some(index) = self.find(term) {
                found.push(index);
            }
        });
        found.sort_unstable();
        let mut vector: Sparse = Vec::with_capacity(found.len());
        for run in found.chunk_by(|a, b| a == b) {
            let (index, tf) = (run[0], run.len() as f32);
            vector.push((index, (1.0 + tf.ln()) * self.idf[index as usize]));
        }
        let norm = vector.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, value) in &mut vector {
                *value /= norm;
            }
        }
        vector
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_follow_scikit_learns_token_pattern_and_pair_neighbours() {
        assert_eq!(
            terms("Printer's TONER, a 4th-floor HP_2 x"),
            [
                "printer",
                "toner",
                "4th",
                "floor",
                "hp_2",
                "printer toner",
                "toner 4th",
                "4th floor",
                "floor hp_2"
            ]
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
        let printer = vectorizer.find("printer").unwrap();
        let idf = vectorizer.idf[printer as usize];
        assert!((idf - ((5.0f32 / 4.0).ln() + 1.0)).abs() < 1e-6);
        assert!(vectorizer.transform("nothing known here").is_empty());
    }
}
