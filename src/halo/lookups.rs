//! Halo's lookup lists, cached for `halo.lookup_ttl_secs` so each costs one request per TTL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use super::client::HaloClient;
use super::decode::decode_list;
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

/// Cheap to clone: every clone shares the cache.
#[derive(Clone)]
pub struct Lookups {
    halo: HaloClient,
    slots: Arc<Slots>,
}

struct Slots {
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
    /// Lookups read through `halo`, each kept for `ttl`.
    pub fn new(halo: HaloClient, ttl: Duration) -> Lookups {
        let slots = Slots {
            ttl,
            teams: Slot::default(),
            priorities: Slot::default(),
            ticket_types: Slot::default(),
            outcomes: Slot::default(),
            categories: Slot::default(),
            statuses: Slot::default(),
            agents: Slot::default(),
        };
        Lookups {
            halo,
            slots: Arc::new(slots),
        }
    }

    pub async fn teams(&self) -> Result<Arc<Vec<Team>>, HaloError> {
        self.get(&self.slots.teams, &TEAMS).await
    }

    pub async fn priorities(&self) -> Result<Arc<Vec<Priority>>, HaloError> {
        self.get(&self.slots.priorities, &PRIORITIES).await
    }

    pub async fn ticket_types(&self) -> Result<Arc<Vec<TicketType>>, HaloError> {
        self.get(&self.slots.ticket_types, &TICKET_TYPES).await
    }

    pub async fn outcomes(&self) -> Result<Arc<Vec<Outcome>>, HaloError> {
        self.get(&self.slots.outcomes, &OUTCOMES).await
    }

    pub async fn categories(&self) -> Result<Arc<Vec<Category>>, HaloError> {
        self.get(&self.slots.categories, &CATEGORIES).await
    }

    pub async fn statuses(&self) -> Result<Arc<Vec<Status>>, HaloError> {
        self.get(&self.slots.statuses, &STATUSES).await
    }

    pub async fn agents(&self) -> Result<Arc<Vec<Agent>>, HaloError> {
        self.get(&self.slots.agents, &AGENTS).await
    }

    /// The cached list, fetched once by whoever asks first after it expired.
    async fn get<T: DeserializeOwned>(
        &self,
        slot: &Slot<T>,
        endpoint: &Endpoint,
    ) -> Result<Arc<Vec<T>>, HaloError> {
        let mut entry = slot.entry.lock().await;
        if let Some((fetched, items)) = entry.as_ref() {
            if fetched.elapsed() < self.slots.ttl {
                return Ok(items.clone());
            }
        }
        let value = self
            .halo
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
