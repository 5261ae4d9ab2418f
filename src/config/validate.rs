//! What types alone cannot check. The rules that span sections come first (in live mode an
//! acknowledgement needs an outcome to send it with, `ack.outcome_id`; the listeners and
//! the metrics guard).
//!
//! Every other rule belongs to one section and sits in that section's `validate`.

use std::time::Duration;

use super::sections::{
    AckSettings, AdminSettings, HaloSettings, LearnSettings, LlmProvider, LlmSettings,
    ModelSettings, ReconcileSettings, ReportSettings, ServerSettings, StoreSettings,
    WebhookSettings, WorkerSettings,
};
use super::{invalid, parse_url, ConfigError, Mode, Settings};
use crate::halo::Field;

const DAY: Duration = Duration::from_secs(86_400);

impl Settings {
    /// Checks the cross-section rules, then each section.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ack.enabled && self.effective_mode() == Mode::Live && self.ack.outcome_id <= 0 {
            return Err(invalid(
                "ack.outcome_id",
                "must be the id of a Halo outcome (e.g. \"Email User\") while ack.enabled = true \
                 in live mode; run `halo-triage check` to list your outcomes",
            ));
        }
        self.listen_addr()?;
        self.admin_listen_addr()?;
        if self.admin.protect_metrics && self.admin.token.is_none() {
            return Err(invalid(
                "admin.protect_metrics",
                "needs admin.token: the metrics are guarded by it",
            ));
        }
        self.admin.validate()?;
        self.server.validate()?;
        self.webhook.validate()?;
        self.reconcile.validate()?;
        self.report.validate()?;
        self.store.validate()?;
        self.worker.validate()?;
        self.halo.validate()?;
        self.halo_credentials()?;
        self.ack.validate()?;
        self.llm.validate()?;
        self.model.validate()?;
        self.learn.validate()
    }
}

impl AdminSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.session.is_zero() || self.session > 30 * DAY {
            return Err(invalid(
                "admin.session_hours",
                "must be from 1 to 720 (30 days)",
            ));
        }
        if !self.ticket_link.contains("{id}") {
            return Err(invalid(
                "admin.ticket_link",
                "must contain {id}, where the ticket's number goes (e.g. /tickets?id={id})",
            ));
        }
        Ok(())
    }
}

impl LearnSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(field) = self
            .fields
            .iter()
            .find(|f| crate::halo::Field::learnable(f).is_none())
        {
            return Err(invalid(
                "learn.fields",
                format!(
                    "'{field}' is not a field a model can decide (team, category_1 … \
                     category_4, priority, tickettype)"
                ),
            ));
        }
        if self.months == 0 || self.max_tickets == 0 {
            return Err(invalid(
                "learn.months",
                "learn.months and learn.max_tickets must be at least 1",
            ));
        }
        Ok(())
    }
}

impl ModelSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.fill_threshold) {
            return Err(invalid("model.fill_threshold", "must be between 0 and 1"));
        }
        for (field, threshold) in &self.thresholds {
            if crate::halo::Field::learnable(field).is_none() {
                return Err(invalid(
                    "model.thresholds",
                    format!(
                        "'{field}' is not a field a model can decide (team, category_1 … \
                         category_4, priority_id, tickettype_id)"
                    ),
                ));
            }
            if !(0.0..=1.0).contains(threshold) {
                return Err(invalid(
                    "model.thresholds",
                    format!("{field} = {threshold} must be between 0 and 1"),
                ));
            }
        }
        Ok(())
    }
}

impl HaloSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.requests_per_5min == 0 {
            return Err(invalid("halo.requests_per_5min", "must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("halo.timeout_secs", "must be at least 1"));
        }
        if !(1..=100).contains(&self.batch_max) {
            // 100 is the largest page Halo lists, which bounds a read batch.
            return Err(invalid("halo.batch_max", "must be from 1 to 100"));
        }
        Ok(())
    }
}

impl ServerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.header_read_timeout.is_zero() || self.header_read_timeout > Duration::from_secs(600)
        {
            return Err(invalid(
                "server.header_read_timeout_secs",
                "must be between 1 and 600",
            ));
        }
        if self.request_body_timeout.is_zero()
            || self.request_body_timeout > Duration::from_secs(600)
        {
            return Err(invalid(
                "server.request_body_timeout_secs",
                "must be between 1 and 600",
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid("server.max_connections", "must be at least 1"));
        }
        if self.auth_failures_per_minute == 0 {
            return Err(invalid(
                "server.auth_failures_per_minute",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

impl WebhookSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.path.starts_with('/') {
            return Err(invalid("webhook.path", "must start with '/'"));
        }
        if self.username.is_some() != self.password.is_some() {
            return Err(invalid(
                "webhook.password",
                "webhook.username and webhook.password must be set together",
            ));
        }
        if axum::http::HeaderName::try_from(self.token_header.as_str()).is_err() {
            return Err(invalid(
                "webhook.token_header",
                "is not a valid header name",
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(invalid("webhook.max_body_bytes", "must be greater than 0"));
        }
        if !(1..=10_000).contains(&self.max_batch) {
            return Err(invalid("webhook.max_batch", "must be between 1 and 10000"));
        }
        if self.events.iter().all(|event| event.trim().is_empty()) {
            return Err(invalid("webhook.events", "must name at least one event"));
        }
        Ok(())
    }
}

impl ReconcileSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100).contains(&self.page_size) {
            return Err(invalid(
                "reconcile.page_size",
                "must be between 1 and 100 (Halo's maximum)",
            ));
        }
        if self.max_pages == 0 {
            return Err(invalid("reconcile.max_pages", "must be at least 1"));
        }
        if self.overlap > 30 * DAY {
            return Err(invalid(
                "reconcile.overlap_secs",
                "must be at most 2592000 (30 days)",
            ));
        }
        Ok(())
    }
}

impl ReportSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=100).contains(&self.page_size) {
            return Err(invalid(
                "report.page_size",
                "must be between 1 and 100 (Halo's maximum)",
            ));
        }
        if self.max_requests_per_pass == 0 {
            return Err(invalid(
                "report.max_requests_per_pass",
                "must be at least 1",
            ));
        }
        if self.settle > 90 * DAY {
            return Err(invalid(
                "report.settle_secs",
                "must be at most 7776000 (90 days)",
            ));
        }
        if !(self.ready_agreement > 0.0 && self.ready_agreement <= 1.0) {
            return Err(invalid(
                "report.ready_agreement",
                "must be above 0 and at most 1",
            ));
        }
        if self.ready_min < 1 {
            return Err(invalid("report.ready_min", "must be at least 1"));
        }
        Ok(())
    }
}

impl StoreSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.retention > 36_500 * DAY {
            return Err(invalid(
                "store.retention_days",
                "must be at most 36500 (0 keeps everything)",
            ));
        }
        if !(1..=1_000).contains(&self.max_connections) {
            return Err(invalid(
                "store.max_connections",
                "must be from 1 to 1000 (Postgres connections per process)",
            ));
        }
        Ok(())
    }
}

impl WorkerSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.outage_after_failures == 0 {
            return Err(invalid(
                "worker.outage_after_failures",
                "must be at least 1",
            ));
        }
        if self.outage_pause.is_zero() || self.outage_pause > DAY {
            return Err(invalid(
                "worker.outage_pause_secs",
                "must be between 1 and 86400",
            ));
        }
        if self.outage_max_pause < self.outage_pause || self.outage_max_pause > DAY {
            return Err(invalid(
                "worker.outage_max_pause_secs",
                "must be between worker.outage_pause_secs and 86400",
            ));
        }
        if self.shutdown_grace > Duration::from_secs(3_600) {
            return Err(invalid(
                "worker.shutdown_grace_secs",
                "must be at most 3600",
            ));
        }
        if self.max_attempts == 0 {
            return Err(invalid("worker.max_attempts", "must be at least 1"));
        }
        if self.lease_renew.is_zero() {
            return Err(invalid("worker.lease_renew_secs", "must be at least 1"));
        }
        // Two renewals may fail to land (a busy store) before the lease runs out.
        if self.lease < 3 * self.lease_renew {
            return Err(invalid(
                "worker.lease_secs",
                format!(
                    "must be at least three times worker.lease_renew_secs ({})",
                    (3 * self.lease_renew).as_secs()
                ),
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(invalid("worker.poll_interval_ms", "must be at least 1"));
        }
        Ok(())
    }
}

impl AckSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        self.templates().map(drop)
    }
}

impl LlmSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        parse_url("llm.base_url", &self.base_url)?;
        if self.model.trim().is_empty() && self.provider == LlmProvider::OpenAi {
            return Err(invalid("llm.model", "names the model to use"));
        }
        if self.provider == LlmProvider::Azure && self.azure_deployment.trim().is_empty() {
            return Err(invalid(
                "llm.azure_deployment",
                "is needed with provider = \"azure\"",
            ));
        }
        if self.timeout.is_zero() {
            return Err(invalid("llm.timeout_secs", "must be at least 1"));
        }
        if self.max_concurrency == 0 {
            return Err(invalid("llm.max_concurrency", "must be at least 1"));
        }
        if self.max_input_chars == 0 {
            return Err(invalid("llm.max_input_chars", "must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.fill_threshold) {
            return Err(invalid(
                "llm.fill_threshold",
                "is a confidence between 0 and 1",
            ));
        }
        for field in self.thresholds.keys() {
            if !Field::ALL.iter().any(|f| f.name() == field) {
                return Err(invalid(
                    "llm.thresholds",
                    format!("'{field}' is not a field"),
                ));
            }
        }
        Ok(())
    }
}
