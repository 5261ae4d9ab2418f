//! A stand-in Halo that keeps its tickets as the real one does: an update shows in the
//! next read and the next list, a posted action in the next list of actions, and a test can
//! change or close a ticket as an agent would.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{as_halo_answers, fixture_json, mount_halo, ticket_id_in_path, ActionsLog, Refusals};

/// The tickets as Halo holds them, and the updates it received for each.
#[derive(Default)]
pub struct HaloTickets {
    pub tickets: BTreeMap<i64, Value>,
    pub updates: BTreeMap<i64, usize>,
    /// How long a read of one ticket (`GET /api/Tickets/{id}`) takes to answer.
    pub single_read_delay: Duration,
}

pub struct StatefulHalo {
    pub server: MockServer,
    pub state: Arc<Mutex<HaloTickets>>,
    pub actions: ActionsLog,
    /// What its ticket updates refuse (its actions': `actions.refusals`).
    pub update_refusals: Refusals,
}

/// The example ticket with `id` and `summary`.
pub fn ticket(id: i64, summary: &str) -> Value {
    let mut ticket = fixture_json("ticket.json");
    ticket["id"] = json!(id);
    ticket["summary"] = json!(summary);
    ticket
}

/// A full-object "New Ticket Logged" delivery of `ticket`.
pub fn delivery_of(ticket: &Value) -> String {
    let mut delivery = fixture_json("webhook-new-ticket-full.json");
    delivery["id"] = json!(format!("delivery-{}", ticket["id"]));
    delivery["object_id"] = ticket["id"].clone();
    delivery["ticket"] = ticket.clone();
    delivery.to_string()
}

/// The query of a request, by key.
pub fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

impl StatefulHalo {
    /// Holds `tickets`; its ticket updates take `update_delay` to answer but count at once,
    /// like a server that commits before it replies.
    pub async fn start(tickets: Vec<Value>, update_delay: Duration) -> StatefulHalo {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(HaloTickets::default()));
        for ticket in tickets {
            let id = ticket["id"].as_i64().unwrap();
            state.lock().unwrap().tickets.insert(id, ticket);
        }
        let updates = state.clone();
        let refusals = Refusals::default();
        let judge = refusals.clone();
        Mock::given(method("POST"))
            .and(path("/api/Tickets"))
            .respond_with(move |request: &Request| {
                let body: Value = serde_json::from_slice(&request.body).unwrap();
                let elements = body.as_array().unwrap();
                let (elements, refused) = match judge.judge(elements, "id") {
                    Some((kept, answer)) => (kept, Some(answer)),
                    None => (elements.clone(), None),
                };
                let mut state = updates.lock().unwrap();
                let saved = elements
                    .iter()
                    .map(|update| {
                        let id = update["id"].as_i64().unwrap();
                        *state.updates.entry(id).or_default() += 1;
                        let ticket = state.tickets.get_mut(&id).unwrap();
                        for (key, value) in update.as_object().unwrap() {
                            ticket[key] = value.clone();
                        }
                        ticket.clone()
                    })
                    .collect();
                refused.unwrap_or_else(|| {
                    ResponseTemplate::new(200)
                        .set_body_json(as_halo_answers(saved))
                        .set_delay(update_delay)
                })
            })
            .with_priority(1)
            .mount(&server)
            .await;
        let reads = state.clone();
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/Tickets/\d+$"))
            .respond_with(move |request: &Request| {
                let id = ticket_id_in_path(request);
                let state = reads.lock().unwrap();
                match state.tickets.get(&id) {
                    Some(ticket) => ResponseTemplate::new(200)
                        .set_body_json(ticket)
                        .set_delay(state.single_read_delay),
                    None => ResponseTemplate::new(404),
                }
            })
            .with_priority(1)
            .mount(&server)
            .await;
        let lists = state.clone();
        Mock::given(method("GET"))
            .and(path("/api/Tickets"))
            .respond_with(move |request: &Request| {
                let listed = list(&lists.lock().unwrap().tickets, &query(request));
                ResponseTemplate::new(200).set_body_json(listed)
            })
            .with_priority(2)
            .mount(&server)
            .await;
        let actions = ActionsLog::mount(&server, ResponseTemplate::new(201), true).await;
        mount_halo(&server).await;
        StatefulHalo {
            server,
            state,
            actions,
            update_refusals: refusals,
        }
    }

    /// Each of `tickets` was updated once, to `team`, and acknowledged once.
    pub fn assert_triaged_once(&self, tickets: impl IntoIterator<Item = i64>, team: &str) {
        let tickets: Vec<i64> = tickets.into_iter().collect();
        let state = self.state.lock().unwrap();
        for id in &tickets {
            assert_eq!(state.updates.get(id), Some(&1), "ticket {id} updated once");
        }
        drop(state);
        self.assert_acknowledged_once(tickets, team);
    }

    /// Each of `tickets` was routed to `team` and acknowledged once.
    pub fn assert_acknowledged_once(&self, tickets: impl IntoIterator<Item = i64>, team: &str) {
        let state = self.state.lock().unwrap();
        let posted = self.actions.posted.lock().unwrap();
        for id in tickets {
            assert_eq!(state.tickets[&id]["team"], team, "ticket {id} routed");
            let acks = posted.iter().filter(|a| a["ticket_id"] == id).count();
            assert_eq!(acks, 1, "ticket {id} acknowledged once");
        }
    }

    /// The tickets as Halo holds them now.
    pub fn tickets(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.tickets.values().cloned().collect()
    }

    /// An agent sets `field` of ticket `id` to `value`.
    pub fn agent_sets(&self, id: i64, field: &str, value: Value) {
        self.state.lock().unwrap().tickets.get_mut(&id).unwrap()[field] = value;
    }

    /// An agent closes ticket `id`, now.
    pub fn agent_closes(&self, id: i64) {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let mut state = self.state.lock().unwrap();
        let ticket = state.tickets.get_mut(&id).unwrap();
        ticket["hasbeenclosed"] = json!(true);
        ticket["status_id"] = json!(9);
        ticket["dateclosed"] = json!(now);
    }

    /// The queries of the ticket lists Halo answered (`GET /api/Tickets`), in order.
    pub async fn list_queries(&self) -> Vec<HashMap<String, String>> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| r.method.as_str() == "GET" && r.url.path() == "/api/Tickets")
            .map(query)
            .collect()
    }
}

/// `GET /api/Tickets` as Halo answers it: by `ticketids`, or closed since `startdate`
/// (`datesearch=datecleared`), or opened ones; paged as asked.
fn list(tickets: &BTreeMap<i64, Value>, query: &HashMap<String, String>) -> Value {
    let chosen: Vec<&Value> = match (query.get("ticketids"), query.get("datesearch")) {
        (Some(ids), _) => {
            let ids: Vec<i64> = ids.split(',').map(|id| id.parse().unwrap()).collect();
            tickets
                .values()
                .filter(|t| ids.contains(&t["id"].as_i64().unwrap()))
                .collect()
        }
        (None, Some(search)) if search == "datecleared" => {
            let since = query.get("startdate").cloned().unwrap_or_default();
            tickets
                .values()
                .filter(|t| t["hasbeenclosed"] == true)
                .filter(|t| {
                    t["dateclosed"]
                        .as_str()
                        .is_some_and(|d| d >= since.as_str())
                })
                .collect()
        }
        _ => tickets
            .values()
            .filter(|t| t["hasbeenclosed"] != true)
            .collect(),
    };
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let size = number("page_size", 50);
    let page = number("page_no", 1);
    let shown: Vec<&Value> = chosen
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .copied()
        .collect();
    json!({"record_count": chosen.len(), "tickets": shown})
}
