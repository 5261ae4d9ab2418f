//! The integration tests, one binary (one link of tokio, sqlx, reqwest and wiremock): the
//! real app on port 0 with its own temporary store, stand-ins for Halo and the LLM that
//! speak their wire formats, and the real binary where a test needs a process.
//!
//! `tests/metrics.rs` is a binary of its own: the Prometheus recorder is process-wide, so
//! its counters would add up the work of every test that runs beside it here.

mod common;

mod admin;
mod batch_memory;
mod batching;
mod cli;
mod connections;
mod console;
mod console_browser;
mod console_pages;
mod crash;
mod fence;
mod halo_credentials;
mod halo_failures;
mod hostile_bodies;
mod hostile_html;
mod ingest;
mod labels;
mod learn;
mod learn_halo;
mod lease;
mod litellm;
mod llm;
mod llm_servers;
mod migrate_store;
mod model_pipeline;
mod outage;
mod pipeline;
mod prompt_size;
mod reconcile;
mod replicas;
mod report;
mod rules;
mod shutdown;
mod store;
mod webhook_fuzz;
