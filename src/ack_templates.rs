//! Acknowledgement templates: the subject and body of the email action sent to the user.
//! The defaults come from `ack.*`; rules files may name more (`[ack_templates]`). A leaf:
//! the settings, the rules and the pipeline all use it.

use minijinja::Environment;
use serde::Serialize;

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

/// A template that cannot be used, and which of the two it is.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the subject template: {0}")]
    Subject(String),
    #[error("the body template: {0}")]
    Body(String),
}

/// Compiled subject and body templates.
#[derive(Debug)]
pub struct AckTemplates {
    env: Environment<'static>,
}

impl AckTemplates {
    /// Compiles both templates and proves the body carries the marker.
    pub fn compile(subject: &str, body: &str) -> Result<AckTemplates, TemplateError> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| {
            if name == BODY {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.add_template_owned(SUBJECT, subject.to_string())
            .map_err(|e| TemplateError::Subject(format!("does not compile: {e}")))?;
        env.add_template_owned(BODY, body.to_string())
            .map_err(|e| TemplateError::Body(format!("does not compile: {e}")))?;
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
            .map_err(|e| TemplateError::Body(e.to_string()))?;
        if !rendered.body_html.contains(&sample.marker) {
            return Err(TemplateError::Body(
                "must contain {{ marker }} so a second acknowledgement is never sent".into(),
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_html_escaped_and_subject_is_not() {
        let templates =
            AckTemplates::compile("Re: {{ summary }}", "<p>{{ summary }}</p>{{ marker }}").unwrap();
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
        let err = AckTemplates::compile("x", "<p>hi</p>").err().unwrap();
        assert!(matches!(err, TemplateError::Body(_)));
        assert!(err.to_string().contains("marker"));
        let err = AckTemplates::compile("{{ oops", "{{ marker }}")
            .err()
            .unwrap();
        assert!(matches!(err, TemplateError::Subject(_)));
    }
}
