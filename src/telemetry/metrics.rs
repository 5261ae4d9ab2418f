//! Prometheus metrics at `GET /metrics`. The recorder is process-wide and installed once.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's metrics handle, installing the recorder on first use.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("the metrics recorder is installed once per process")
        })
        .clone()
}

/// The metrics text, in Prometheus' exposition format.
pub fn render() -> String {
    handle().render()
}

/// LLM calls by outcome: ok, error, cached, budget_exhausted.
pub fn llm_call(outcome: &'static str) {
    metrics::counter!("halo_triage_llm_calls_total", "outcome" => outcome).increment(1);
}

pub fn llm_tokens(tokens: u64) {
    metrics::counter!("halo_triage_llm_tokens_total").increment(tokens);
}

pub fn llm_latency(seconds: f64) {
    metrics::histogram!("halo_triage_llm_latency_seconds").record(seconds);
}

/// Tickets the reconciler queued because no webhook brought them.
pub fn reconciled(tickets: usize) {
    metrics::counter!("halo_triage_reconciled_tickets_total").increment(tickets as u64);
}

/// 1 while workers pause because Halo looks down, else 0.
pub fn halo_degraded(degraded: bool) {
    metrics::gauge!("halo_triage_halo_degraded").set(if degraded { 1.0 } else { 0.0 });
}

/// Webhook requests by what became of them: accepted, duplicate, ignored, unauthorized,
/// too_large, timeout, throttled, unreadable, invalid, unavailable.
pub fn delivery(outcome: &'static str) {
    metrics::counter!("halo_triage_deliveries_total", "outcome" => outcome).increment(1);
}

/// Deliveries written by one group commit of the store.
pub fn delivery_group(deliveries: usize) {
    metrics::histogram!("halo_triage_delivery_group_size").record(deliveries as f64);
}

/// Requests to Halo by endpoint (ids replaced by `{id}`) and HTTP status ("error" when no
/// answer came).
pub fn halo_request(endpoint: String, status: String) {
    metrics::counter!("halo_triage_halo_requests_total", "endpoint" => endpoint, "status" => status)
        .increment(1);
}

/// Requests left in Halo's rolling five-minute budget (`halo.requests_per_5min`).
pub fn halo_budget_left(left: usize) {
    metrics::gauge!("halo_triage_halo_rate_budget_remaining").set(left as f64);
}

/// One decided field, by who decided it (rule, default, llm).
pub fn decided_field(field: &'static str, source: &'static str) {
    metrics::counter!("halo_triage_decided_fields_total", "field" => field, "source" => source)
        .increment(1);
}

/// The queue as the store has it, refreshed at every scrape.
pub fn queue(jobs_by_status: &[(String, i64)], oldest_queued_age_secs: f64) {
    for status in ["queued", "running", "done", "dead"] {
        let count = jobs_by_status
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        metrics::gauge!("halo_triage_jobs", "status" => status).set(count as f64);
    }
    metrics::gauge!("halo_triage_oldest_queued_job_age_seconds").set(oldest_queued_age_secs);
}

/// Per field, how often people kept our value (read-back), and over how many tickets.
pub fn agreement(field: &'static str, ratio: Option<f64>, compared: i64) {
    if let Some(ratio) = ratio {
        metrics::gauge!("halo_triage_field_agreement_ratio", "field" => field).set(ratio);
    }
    metrics::gauge!("halo_triage_field_compared", "field" => field).set(compared as f64);
}

/// Per field, how often a person changed a value we wrote (live mode).
pub fn overrides(field: &'static str, ratio: Option<f64>) {
    if let Some(ratio) = ratio {
        metrics::gauge!("halo_triage_field_override_ratio", "field" => field).set(ratio);
    }
}
