//! halo-triage: HaloPSA webhook in → durable job → rules (then the LLM) decide → ticket
//! update and acknowledgement out. `main.rs` is a thin CLI over this library.
//!
//! The layers, top to bottom (each imports only from below it):
//!
//! | module      | what it is                                                          |
//! |-------------|---------------------------------------------------------------------|
//! | `app`       | builds the service from settings and runs it until a signal         |
//! | `cli`       | the commands besides `serve`: classify, check, jobs, halo           |
//! | `http`      | every route: webhook (via `ingest`), health, metrics, admin, the    |
//! |             | browser console (`http/console`: pages, sessions, CSRF)             |
//! | `tasks`     | background loops: reconciler, read-back, housekeeping, watchers     |
//! | `worker`    | the queue runtime: claim, lease, settle, retry, outage pause        |
//! | `ingest`    | stage 0: webhook body → stored delivery and jobs                    |
//! | `report`    | the agreement report: read-back comparisons, counted and rendered   |
//! | `pipeline`  | one job in README order: ticket, decide, labels, LLM, plan, write   |
//! | `triage`    | pure decisions: rules, sentiment, ack templates, the LLM stage      |
//! | `store`     | SQLite or Postgres: deliveries, jobs, decisions, ack ledger, caches |
//! | `halo`      | the Halo adapter: client, wire types, fields, lookups, webhooks     |
//! | `config`    | typed settings, validated per section; builds the Halo client      |
//! | leaves      | `telemetry` (logs, metrics), `ack_templates`, `text`, `clock`,      |
//! |             | `charts` (inline SVG)                                               |

mod ack_templates;
mod app;
mod charts;
pub mod cli;
mod clock;
mod config;
mod halo;
mod http;
mod ingest;
mod learn;
mod pipeline;
mod report;
mod store;
mod tasks;
mod telemetry;
mod text;
mod triage;
mod wake;
mod worker;

pub use app::{App, AppError};
pub use clock::now_ms;
pub use config::{Mode, Settings};
pub use halo::model::Ticket;
pub use store::{
    AckStatus, Backend, DecisionFilter, DecisionRecord, DeliveryOutcome, JobStatus, NewJob,
    ReadBack, Replay, Store,
};
pub use tasks::readback::ReadBackTask;
pub use tasks::reconcile::Reconciler;
pub use tasks::rules_watch::RulesHandle;
pub use telemetry::init as init_logging;
pub use triage::rules::schema_json;
pub use triage::RuleSet;
pub use worker::{JobOutcome, JobReport, Worker};

/// Training and prediction, for the benchmarks.
pub mod learning {
    pub use crate::learn::data::read;
    pub use crate::learn::{learn, train, Example};
    pub use crate::triage::model::Model;
}

/// The LLM request exactly as the service builds it, for measuring what a prompt costs.
pub mod llm_prompt {
    pub use crate::halo::Field;
    pub use crate::triage::llm::{
        id_choices, text_choices, ticket_message, Llm, Offer, OfferedField,
    };
}
