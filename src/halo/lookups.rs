//! Halo's lookup lists, cached for `halo.lookup_ttl_secs` so each costs one request per TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::client::{decode_list, HaloClient};
use super::model::{Agent, Category, Outcome, Priority, Status, Team, TicketType};
use super::HaloError;

/// One cached list and when it was fetched.
struct Slot<T> {
    entry: Mutex<Option<(Instant, Arc<Vec<T>>)>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            entry: Mutex::new(None),
        }
    }
}

/// Where each lookup lives and the key a wrapped answer keeps it under.
struct Endpoint {
    path: &'static str,
    query: &'static [(&'static str, &'static str)],
    key: &'static str,
}

const TEAMS: Endpoint = Endpoint {
    path: "Team",
    query: &[("type", "reqs")],
    key: "teams",
};
const PRIORITIES: Endpoint = Endpoint {
    path: "Priority",
    query: &[],
    key: "priorities",
};
const TICKET_TYPES: Endpoint = Endpoint {
    path: "TicketType",
    query: &[("showall", "true")],
    key: "tickettypes",
};
const OUTCOMES: Endpoint = Endpoint {
    path: "Outcome",
    query: &[],
    key: "outcomes",
};
const CATEGORIES: Endpoint = Endpoint {
    path: "Category",
    query: &[],
    key: "categories",
};
const STATUSES: Endpoint = Endpoint {
    path: "Status",
    query: &[("type", "ticket")],
    key: "statuses",
};
const AGENTS: Endpoint = Endpoint {
    path: "Agent",
    query: &[],
    key: "agents",
};

pub struct Lookups {
    ttl: Duration,
    teams: Slot<Team>,
    priorities: Slot<Priority>,
    ticket_types: Slot<TicketType>,
    outcomes: Slot<Outcome>,
    categories: Slot<Category>,
    statuses: Slot<Status>,
    agents: Slot<Agent>,
}

impl Lookups {
    pub(super) fn new(ttl: Duration) -> Lookups {
        Lookups {
            ttl,
            teams: Slot::default(),
            priorities: Slot::default(),
            ticket_types: Slot::default(),
            outcomes: Slot::default(),
            categories: Slot::default(),
            statuses: Slot::default(),
            agents: Slot::default(),
        }
    }

    pub async fn teams(&self, halo: &HaloClient) -> Result<Arc<Vec<Team>>, HaloError> {
        self.get(halo, &self.teams, &TEAMS).await
    }

    pub async fn priorities(&self, halo: &HaloClient) -> Result<Arc<Vec<Priority>>, HaloError> {
        self.get(halo, &self.priorities, &PRIORITIES).await
    }

    pub async fn ticket_types(&self, halo: &HaloClient) -> Result<Arc<Vec<TicketType>>, HaloError> {
        self.get(halo, &self.ticket_types, &TICKET_TYPES).await
    }

    pub async fn outcomes(&self, halo: &HaloClient) -> Result<Arc<Vec<Outcome>>, HaloError> {
        self.get(halo, &self.outcomes, &OUTCOMES).await
    }

    pub async fn categories(&self, halo: &HaloClient) -> Result<Arc<Vec<Category>>, HaloError> {
        self.get(halo, &self.categories, &CATEGORIES).await
    }

    pub async fn statuses(&self, halo: &HaloClient) -> Result<Arc<Vec<Status>>, HaloError> {
        self.get(halo, &self.statuses, &STATUSES).await
    }

    pub async fn agents(&self, halo: &HaloClient) -> Result<Arc<Vec<Agent>>, HaloError> {
        self.get(halo, &self.agents, &AGENTS).await
    }

    /// The cached list, fetched once by whoever asks first after it expired.
    async fn get<T: DeserializeOwned>(
        &self,
        halo: &HaloClient,
        slot: &Slot<T>,
        endpoint: &Endpoint,
    ) -> Result<Arc<Vec<T>>, HaloError> {
        let mut entry = slot.entry.lock().await;
        if let Some((fetched, items)) = entry.as_ref() {
            if fetched.elapsed() < self.ttl {
                return Ok(items.clone());
            }
        }
        let value = halo
            .request(Method::GET, endpoint.path, endpoint.query, None)
            .await?;
        let items = Arc::new(decode_list(
            &format!("GET /api/{}", endpoint.path),
            value,
            endpoint.key,
        )?);
        *entry = Some((Instant::now(), items.clone()));
        Ok(items)
    }
}
