//! Reading the model's answer: JSON only, labels only from the offer. Anything else is
//! rejected here, field by field, so a bad label can never reach Halo.

use serde_json::Value;

use super::offer::{Choice, Offer};
use super::prompt::SENTIMENTS;
use crate::halo::Field;
use crate::triage::sentiment::{Mood, Sentiment};

/// One field the model chose a label for.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub field: Field,
    pub choice: Choice,
    pub confidence: f64,
}

/// The validated answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub suggestions: Vec<Suggestion>,
    /// Labels the model invented (not on offer), as notes.
    pub rejected: Vec<String>,
    pub sentiment: Option<Sentiment>,
    pub language: Option<String>,
    pub rationale: Option<String>,
}

/// The answer is not usable JSON of the expected shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed answer: {0}")]
pub struct Malformed(pub String);

pub fn parse(content: &str, offer: &Offer) -> Result<Answer, Malformed> {
    // Some local models wrap JSON in a code fence despite JSON mode.
    let trimmed = content
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let value: Value =
        serde_json::from_str(trimmed).map_err(|e| Malformed(format!("not JSON: {e}")))?;
    let fields = value
        .get("fields")
        .and_then(Value::as_object)
        .ok_or_else(|| Malformed("no `fields` object".into()))?;
    let mut answer = Answer::default();
    for offered in &offer.fields {
        let Some(entry) = fields.get(offered.field.name()) else {
            continue;
        };
        let label = match entry.get("value") {
            Some(Value::String(label)) => label.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        let confidence = entry
            .get("confidence")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
            .clamp(0.0, 1.0);
        match offer.find(offered.field, &label) {
            Some(choice) => answer.suggestions.push(Suggestion {
                field: offered.field,
                choice: choice.clone(),
                confidence,
            }),
            None => answer.rejected.push(format!(
                "the LLM chose {} '{label}', which is not on offer: rejected",
                offered.field
            )),
        }
    }
    let mood = value
        .get("sentiment")
        .and_then(Value::as_str)
        .and_then(|s| SENTIMENTS.iter().position(|m| *m == s))
        .map(|i| {
            [
                Mood::VeryNegative,
                Mood::Negative,
                Mood::Neutral,
                Mood::Positive,
                Mood::VeryPositive,
            ][i]
        });
    if let Some(mood) = mood {
        let score = value
            .get("sentiment_score")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        answer.sentiment = Some(Sentiment {
            mood,
            score: score.clamp(-1.0, 1.0),
            source: "llm".into(),
        });
    }
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(300).collect::<String>())
            .filter(|s| !s.trim().is_empty())
    };
    answer.language = text("language");
    answer.rationale = text("rationale");
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo::FieldValue;
    use crate::triage::llm::offer::{id_choices, text_choices, OfferedField};

    fn offer() -> Offer {
        Offer {
            fields: vec![
                OfferedField {
                    field: Field::Team,
                    choices: text_choices(["Network", "Service Desk"]),
                },
                OfferedField {
                    field: Field::PriorityId,
                    choices: id_choices([(2, "High".to_string()), (3, "Medium".to_string())]),
                },
            ],
        }
    }

    #[test]
    fn labels_on_offer_are_kept_and_invented_ones_rejected() {
        let answer = parse(
            r#"{"fields": {"team": {"value": "network", "confidence": 1.7},
                           "priority_id": {"value": "Urgent!!", "confidence": 0.9}},
                "sentiment": "negative", "sentiment_score": -0.4, "language": "en",
                "rationale": "VPN drops"}"#,
            &offer(),
        )
        .unwrap();
        assert_eq!(answer.suggestions.len(), 1);
        assert_eq!(
            answer.suggestions[0].choice.value,
            FieldValue::Text("Network".into())
        );
        assert_eq!(answer.suggestions[0].confidence, 1.0);
        assert_eq!(
            answer.rejected,
            ["the LLM chose priority_id 'Urgent!!', which is not on offer: rejected"]
        );
        assert_eq!(answer.sentiment.unwrap().mood, Mood::Negative);
        assert_eq!(answer.language.as_deref(), Some("en"));
    }

    #[test]
    fn id_labels_map_back_to_ids_and_nulls_are_skipped() {
        let answer = parse(
            "```json\n{\"fields\": {\"team\": {\"value\": null, \"confidence\": 0.2}, \"priority_id\": {\"value\": \"High\", \"confidence\": 0.8}}}\n```",
            &offer(),
        )
        .unwrap();
        assert_eq!(answer.suggestions.len(), 1);
        assert_eq!(answer.suggestions[0].choice.value, FieldValue::Id(2));
    }

    #[test]
    fn malformed_answers_say_why() {
        assert!(parse("I think it's the network team", &offer())
            .unwrap_err()
            .0
            .contains("not JSON"));
        assert_eq!(
            parse("{\"team\": \"Network\"}", &offer()).unwrap_err().0,
            "no `fields` object"
        );
    }
}
