//! Errors from talking to Halo, with the endpoint and Halo's own message.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum HaloError {
    #[error("{endpoint}: request failed: {source}")]
    Transport {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{endpoint}: Halo answered {status}: {message}")]
    Status {
        endpoint: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{endpoint}: unexpected answer: {message}")]
    Decode { endpoint: String, message: String },
    /// The caller's fence said no right before the request would have gone out (its job's
    /// lease was taken over during a wait): nothing was sent.
    #[error("{endpoint}: not sent: the write is no longer ours to make")]
    Fenced { endpoint: String },
    /// The failure of a batched request, the same for every element it carried.
    #[error(transparent)]
    Shared(std::sync::Arc<HaloError>),
    /// The task sending a batch ended without answering (it panicked, or the client is
    /// gone): the request may or may not have gone out.
    #[error("{endpoint}: the batch carrying this request ended without an answer")]
    Abandoned { endpoint: String },
}

impl HaloError {
    /// Worth trying again later: timeouts, connection errors, 408, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        match self {
            HaloError::Transport { source, .. } => !source.is_builder(),
            HaloError::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            HaloError::Decode { .. } | HaloError::Fenced { .. } => false,
            HaloError::Shared(error) => error.is_retryable(),
            HaloError::Abandoned { .. } => true,
        }
    }

    /// Certainly not processed by Halo: rate limited, or the connection never opened.
    /// Only then may a request that is not idempotent be repeated.
    pub fn was_unprocessed(&self) -> bool {
        match self {
            HaloError::Transport { source, .. } => source.is_connect(),
            HaloError::Status { status, .. } => *status == 429,
            HaloError::Decode { .. } | HaloError::Abandoned { .. } => false,
            HaloError::Fenced { .. } => true,
            HaloError::Shared(error) => error.was_unprocessed(),
        }
    }

    /// Halo refused the request as it was (a 4xx other than 408 and 429): sending it again
    /// unchanged would be refused again.
    pub fn is_refusal(&self) -> bool {
        self.status()
            .is_some_and(|status| (400..500).contains(&status) && !self.is_retryable())
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            HaloError::Status { status, .. } => Some(*status),
            HaloError::Shared(error) => error.status(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HaloError::Status { retry_after, .. } => *retry_after,
            HaloError::Shared(error) => error.retry_after(),
            _ => None,
        }
    }

    /// What an operator should look at for this failure.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self.status()? {
            400 => "Halo refused the request as invalid: check ids and names in the config and rules",
            401 => "check halo.client_id, halo.client_secret, halo.tenant and that the API application is active",
            403 => "the API application or the agent it logs in as lacks a permission (scopes, teams, ticket types)",
            404 => "check halo.base_url (the web app URL, without /api) and that the record exists",
            429 => "Halo's rate limit was reached: lower halo.requests_per_5min or other integrations' use",
            _ => return None,
        })
    }
}

/// Halo's error bodies vary (`{resultCode, errorMessage}`, `{Message}`, `{error}`, a field
/// dictionary, plain text): take the most readable part, bounded in size.
pub fn error_message(body: &str) -> String {
    const LIMIT: usize = 500;
    let text = match serde_json::from_str::<Value>(body) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(map)) => [
            "errorMessage",
            "error_description",
            "Message",
            "message",
            "error",
            "title",
        ]
        .iter()
        .find_map(|key| map.get(*key).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| Value::Object(map).to_string()),
        _ => body.trim().to_string(),
    };
    let text = if text.is_empty() {
        "(empty body)".to_string()
    } else {
        text
    };
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_leniently() {
        assert_eq!(
            error_message(
                r#"{"resultCode":1,"errorMessage":"CODE:APP03/2 Please select the CAB members"}"#
            ),
            "CODE:APP03/2 Please select the CAB members"
        );
        assert_eq!(error_message(r#"{"Message":"Denied"}"#), "Denied");
        assert_eq!(error_message("Rate Limit Reached"), "Rate Limit Reached");
        assert_eq!(
            error_message(r#"{"[0].id":["bad"]}"#),
            r#"{"[0].id":["bad"]}"#
        );
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(error_message(&"x".repeat(600)).chars().count(), 501);
    }
}
