//! What a failed chat-completions request means for the next step: try again, ask again
//! without `json_schema`, or give up. OpenAI-compatible servers disagree on how they refuse
//! a `response_format` they do not take (llama-cpp-python answers 500 naming it, others
//! 400 or 422), so the refusal is recognised by status and by what the body names.

use async_openai::error::OpenAIError;

/// How much of a server's error body is kept in notes and logs (LiteLLM copies the whole
/// request schema back, kilobytes of it).
const ERROR_CHARS: usize = 300;

/// What to do after a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt: a timeout, a refused connection, a 429 or a 5xx.
    Transient(String),
    /// The server does not take the `json_schema` response format: ask in JSON mode.
    SchemaRefused(String),
    /// A 400 or 422 to a schema request that does not say why: the schema may be the
    /// cause (many servers say only "invalid request"), or not (LiteLLM's unknown model).
    /// Worth one request in JSON mode, to tell.
    MaybeSchemaRefused(String),
    /// Asking again will not help (bad key, unknown model, a request the server rejects).
    Permanent(String),
}

/// Reads `error` for a request that did (`sent_schema`) or did not carry a JSON Schema.
pub fn classify(error: &OpenAIError, sent_schema: bool) -> Failure {
    let names_the_format = |text: &str| {
        let text = text.to_ascii_lowercase();
        ["response_format", "json_schema", "json schema"]
            .iter()
            .any(|word| text.contains(word))
    };
    match error {
        OpenAIError::Reqwest(e) if e.is_timeout() => Failure::Transient("timed out".into()),
        OpenAIError::Reqwest(e) if e.is_connect() => {
            Failure::Transient(format!("cannot connect: {}", short(&e.to_string())))
        }
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let why = format!("HTTP {status}: {}", short(&message(&api.api_error.message)));
            let refused_format = sent_schema && names_the_format(&api.api_error.message);
            match status {
                _ if refused_format => Failure::SchemaRefused(why),
                400 | 422 if sent_schema => Failure::MaybeSchemaRefused(why),
                429 | 500..=599 => Failure::Transient(why),
                _ => Failure::Permanent(why),
            }
        }
        // An error body that is not OpenAI's JSON error object (some 4xx of local servers).
        OpenAIError::JSONDeserialize(_, body) if sent_schema && names_the_format(body) => {
            Failure::SchemaRefused(format!("the server refused the request: {}", short(body)))
        }
        other => Failure::Permanent(short(&other.to_string())),
    }
}

/// The message in an error body: async-openai passes a 5xx body on raw, and servers put
/// the message in `error.message`, `error`, `detail` (FastAPI) or `message`.
fn message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    let found = [
        &value["error"]["message"],
        &value["error"],
        &value["detail"],
        &value["message"],
    ]
    .into_iter()
    .find(|v| !v.is_null() && !v.is_object());
    match found {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => body.to_string(),
    }
}

/// `text` cut to a few hundred characters, saying how much was left out.
pub fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ERROR_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::error::{ApiError, ApiErrorResponse};

    fn api(status: u16, message: &str) -> OpenAIError {
        OpenAIError::ApiError(ApiErrorResponse {
            status_code: reqwest::StatusCode::from_u16(status).unwrap(),
            api_error: ApiError {
                message: message.into(),
                r#type: None,
                param: None,
                code: None,
                misalignment: None,
            },
        })
    }

    #[test]
    fn a_refused_response_format_is_told_from_an_outage() {
        let llama_cpp_python =
            "1 validation error: response_format.type Input should be 'text' or 'json_object'";
        assert!(matches!(
            classify(&api(500, llama_cpp_python), true),
            Failure::SchemaRefused(_)
        ));
        assert!(matches!(
            classify(&api(400, "Invalid request"), true),
            Failure::MaybeSchemaRefused(_)
        ));
        assert!(matches!(
            classify(&api(500, "upstream down"), true),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify(&api(429, "slow down"), true),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify(&api(400, "Invalid request"), false),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(&api(401, "bad key"), true),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(&api(404, "model 'x' not found"), true),
            Failure::Permanent(_)
        ));
    }

    #[test]
    fn the_message_is_read_out_of_an_error_body() {
        for body in [
            r#"{"error": {"message": "boom", "type": "server_error"}}"#,
            r#"{"error": "boom"}"#,
            r#"{"detail": "boom"}"#,
            "boom",
        ] {
            assert_eq!(message(body), "boom", "{body}");
        }
    }

    #[test]
    fn long_error_bodies_are_cut() {
        let schema = format!(
            "Invalid response_format: {}",
            "{\"enum\": [\"a\"]}".repeat(200)
        );
        let Failure::SchemaRefused(why) = classify(&api(500, &schema), true) else {
            panic!()
        };
        assert!(why.chars().count() < 400, "{why}");
        assert!(
            why.ends_with(&format!("({} bytes in all)", schema.len())),
            "{why}"
        );
    }
}
