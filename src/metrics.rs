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
