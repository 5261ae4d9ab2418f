//! Acknowledgement templates: the subject and body of the email action sent to the user.

use minijinja::Environment;
use serde::Serialize;

use crate::config::{AckSettings, ConfigError};

const SUBJECT: &str = "subject";
const BODY: &str = "body";

/// What a template can refer to.
#[derive(Debug, Clone, Serialize)]
pub struct AckContext {
    pub ticket_id: i64,
    pub summary: String,
    pub client_name: String,
    pub user_name: String,
    pub team: String,
    pub marker: String,
}

/// The rendered acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckMessage {
    pub subject: String,
    pub body_html: String,
}

/// The marker that identifies our acknowledgement on a ticket, so it is never sent twice.
pub fn marker(ticket_id: i64) -> String {
    format!("halo-triage:ack:{ticket_id}")
}

/// Compiled subject and body templates.
pub struct AckTemplates {
    env: Environment<'static>,
}

impl AckTemplates {
    /// Compiles both templates and proves the body carries the marker.
    pub fn compile(settings: &AckSettings) -> Result<AckTemplates, ConfigError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name == BODY {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.add_template_owned(SUBJECT, settings.subject.clone())
            .map_err(|e| template_error("ack.subject", e))?;
        env.add_template_owned(BODY, settings.body.clone())
            .map_err(|e| template_error("ack.body", e))?;
        let templates = AckTemplates { env };
        let sample = AckContext {
            ticket_id: 1,
            summary: "sample".into(),
            client_name: "Client".into(),
            user_name: "User".into(),
            team: "Team".into(),
            marker: marker(1),
        };
        let rendered = templates
            .render(&sample)
            .map_err(|e| ConfigError::Invalid {
                key: "ack.body",
                message: e.to_string(),
            })?;
        if !rendered.body_html.contains(&sample.marker) {
            return Err(ConfigError::Invalid {
                key: "ack.body",
                message: "must contain {{ marker }} so a second acknowledgement is never sent"
                    .into(),
            });
        }
        Ok(templates)
    }

    pub fn render(&self, context: &AckContext) -> Result<AckMessage, minijinja::Error> {
        let subject = self.env.get_template(SUBJECT)?.render(context)?;
        let body_html = self.env.get_template(BODY)?.render(context)?;
        Ok(AckMessage {
            subject: subject.trim().to_string(),
            body_html: body_html.trim().to_string(),
        })
    }
}

fn template_error(key: &'static str, error: minijinja::Error) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: format!("template does not compile: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(subject: &str, body: &str) -> AckSettings {
        AckSettings {
            enabled: true,
            outcome_id: 21,
            subject: subject.into(),
            body: body.into(),
        }
    }

    #[test]
    fn body_is_html_escaped_and_subject_is_not() {
        let templates = AckTemplates::compile(&settings(
            "Re: {{ summary }}",
            "<p>{{ summary }}</p>{{ marker }}",
        ))
        .unwrap();
        let message = templates
            .render(&AckContext {
                ticket_id: 7,
                summary: "<b>Printer</b> & scanner".into(),
                client_name: String::new(),
                user_name: String::new(),
                team: String::new(),
                marker: marker(7),
            })
            .unwrap();
        assert_eq!(message.subject, "Re: <b>Printer</b> & scanner");
        assert_eq!(
            message.body_html,
            "<p>&lt;b&gt;Printer&lt;&#x2f;b&gt; &amp; scanner</p>halo-triage:ack:7"
        );
    }

    #[test]
    fn a_body_without_marker_or_with_bad_syntax_is_refused() {
        let err = AckTemplates::compile(&settings("x", "<p>hi</p>"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("marker"));
        let err = AckTemplates::compile(&settings("{{ oops", "{{ marker }}"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("ack.subject"));
    }
}
