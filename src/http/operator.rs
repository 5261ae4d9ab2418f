//! What the operator's routes, the admin API and the console, read and act on: one state
//! for both, built once from the settings and the service's handles.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::throttle::Throttle;
use crate::config::{Mode, ReportSettings};
use crate::halo::HaloClient;
use crate::report::LatestReport;
use crate::store::Store;
use crate::tasks::model_watch::ModelsHandle;
use crate::tasks::rules_watch::RulesHandle;
use crate::wake::Wake;
use crate::worker::Outage;

pub struct Operator {
    pub store: Store,
    pub token: SecretString,
    /// Shared with the webhook: failed sign-ins and bearer tokens count together.
    pub throttle: Arc<Throttle>,
    /// Wakes idle workers when a replay queues work.
    pub wake: Wake,
    /// How long a console sign-in lasts.
    pub session: Duration,
    pub mode: Mode,
    /// `None` without Halo credentials (no budget to show, no ticket links).
    pub halo: Option<HaloClient>,
    /// `halo.base_url` joined with `admin.ticket_link`, `{id}` still in it.
    pub ticket_link: Option<String>,
    pub rules: Arc<RulesHandle>,
    /// The models in force (their held-out figures, and the corrections since each was
    /// trained).
    pub models: Arc<ModelsHandle>,
    pub outage: Outage,
    pub report: ReportSettings,
    pub latest_report: Arc<LatestReport>,
    pub llm_enabled: bool,
    pub llm_daily_tokens: u64,
}
