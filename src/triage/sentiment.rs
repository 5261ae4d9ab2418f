//! Offline sentiment: a small lexicon scorer tuned for helpdesk tickets, so every decision
//! carries the customer's mood even without an LLM.
//!
//! Method (after VADER, much reduced): each word of the lexicon adds its valence (−3 … +3);
//! a negation among the two words before it flips and damps it (× −0.5); an intensifier
//! just before it, or the word in capitals, multiplies it by 1.5; exclamation marks push the
//! total further from zero. The total is squashed to −1 … +1 with x / √(x² + 15).
//! Ordinary ticket words ("error", "problem", "issue") are deliberately not in the lexicon:
//! every ticket has them, and they say nothing about how the customer feels.

use serde::{Deserialize, Serialize};

use crate::text::comparable;

/// Five levels, from the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    VeryNegative,
    Negative,
    Neutral,
    Positive,
    VeryPositive,
}

/// A ticket's sentiment and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub mood: Mood,
    /// −1 (very negative) … +1 (very positive).
    pub score: f64,
    /// "lexicon" for this scorer.
    pub source: String,
}

const LEXICON: &[(&str, f64)] = &[
    ("angry", -3.0),
    ("furious", -3.0),
    ("livid", -3.0),
    ("unacceptable", -3.0),
    ("terrible", -3.0),
    ("awful", -3.0),
    ("useless", -3.0),
    ("worst", -3.0),
    ("disgraceful", -3.0),
    ("ridiculous", -2.5),
    ("pathetic", -2.5),
    ("frustrated", -2.0),
    ("frustrating", -2.0),
    ("annoyed", -2.0),
    ("annoying", -2.0),
    ("disappointed", -2.0),
    ("disappointing", -2.0),
    ("upset", -2.0),
    ("complaint", -2.0),
    ("incompetent", -2.5),
    ("shocking", -2.0),
    ("fed", -1.0),
    ("sick", -1.0),
    ("desperate", -2.0),
    ("worried", -1.5),
    ("unhappy", -2.0),
    ("poor", -1.5),
    ("bad", -1.5),
    ("slow", -0.5),
    ("again", -0.5),
    ("still", -0.5),
    ("nobody", -1.0),
    ("ignored", -2.0),
    ("waiting", -0.5),
    ("thanks", 1.5),
    ("thank", 1.5),
    ("cheers", 1.0),
    ("appreciate", 2.0),
    ("appreciated", 2.0),
    ("great", 2.0),
    ("good", 1.5),
    ("excellent", 3.0),
    ("brilliant", 2.5),
    ("fantastic", 3.0),
    ("helpful", 2.0),
    ("love", 2.5),
    ("pleased", 2.0),
    ("happy", 2.0),
    ("perfect", 2.5),
    ("kind", 1.0),
    ("quick", 1.0),
    ("resolved", 1.0),
];

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "can't",
    "cannot", "won't", "hardly",
];

const INTENSIFIERS: &[&str] = &[
    "very",
    "really",
    "extremely",
    "so",
    "totally",
    "completely",
    "absolutely",
    "incredibly",
];

fn valence(word: &str) -> Option<f64> {
    LEXICON.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// Scores `text` (summary and details).
pub fn score(text: &str) -> Sentiment {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let lower: Vec<String> = words.iter().map(|w| comparable(w)).collect();
    let mut total = 0.0;
    for (i, word) in lower.iter().enumerate() {
        let Some(mut value) = valence(word) else {
            continue;
        };
        let shouting = words[i].len() >= 3 && words[i].chars().all(|c| !c.is_lowercase());
        if shouting || (i >= 1 && INTENSIFIERS.contains(&lower[i - 1].as_str())) {
            value *= 1.5;
        }
        let negated = lower[i.saturating_sub(2)..i]
            .iter()
            .any(|w| NEGATIONS.contains(&w.as_str()));
        if negated {
            value *= -0.5;
        }
        total += value;
    }
    let exclamations = text.matches('!').count().min(3) as f64;
    if total != 0.0 {
        total += total.signum() * 0.3 * exclamations;
    }
    let score = total / (total * total + 15.0).sqrt();
    let mood = match score {
        s if s <= -0.6 => Mood::VeryNegative,
        s if s <= -0.2 => Mood::Negative,
        s if s < 0.2 => Mood::Neutral,
        s if s < 0.6 => Mood::Positive,
        _ => Mood::VeryPositive,
    };
    Sentiment {
        mood,
        score: (score * 1000.0).round() / 1000.0,
        source: "lexicon".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mood(text: &str) -> Mood {
        score(text).mood
    }

    #[test]
    fn ordinary_tickets_are_neutral() {
        assert_eq!(
            mood("Outlook error: cannot open attachment. Issue since Monday."),
            Mood::Neutral
        );
        assert_eq!(mood(""), Mood::Neutral);
    }

    #[test]
    fn angry_and_grateful_customers_are_told_apart() {
        assert_eq!(
            mood("This is UNACCEPTABLE. Third time the printer is broken, totally useless!!"),
            Mood::VeryNegative
        );
        assert_eq!(mood("I am frustrated, the VPN drops again"), Mood::Negative);
        assert_eq!(
            mood("Thanks, really appreciate the quick help"),
            Mood::VeryPositive
        );
        assert_eq!(mood("Thanks in advance"), Mood::Positive);
    }

    #[test]
    fn negation_flips_and_damps() {
        let plain = score("the new laptop is good").score;
        let negated = score("the new laptop is not good").score;
        assert!(
            plain > 0.0 && negated < 0.0 && negated.abs() < plain,
            "{plain} {negated}"
        );
    }

    #[test]
    fn scores_stay_within_bounds() {
        let rant = "awful ".repeat(200);
        let s = score(&rant).score;
        assert!((-1.0..=1.0).contains(&s));
    }
}
