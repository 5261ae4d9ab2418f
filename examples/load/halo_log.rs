//! What the stand-in Halo received, and the checks and figures drawn from it: per ticket,
//! its updates and acknowledgements (elements of batched posts, each counted alone), the
//! time from webhook to update, and the requests by route and per ticket.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::{MockServer, Request};

use crate::{check, percentile, sorted_ms, Args, Load, Tickets, OUTCOME_ID};

/// Issue 16's target for alerts: every ticket updated this soon after the first delivery.
const ALERTS_WITHIN: Duration = Duration::from_secs(60);
/// Issue 16's target for alerts under Halo's rate budget: requests per ticket after start-up.
const ALERTS_REQUESTS_PER_TICKET: f64 = 0.1;

/// One ticket's update as it arrived.
struct Update {
    at: Instant,
    team: Option<String>,
}

#[derive(Default)]
struct Received {
    /// Each ticket's updates, in arrival order.
    updates: HashMap<i64, Vec<Update>>,
    /// Each ticket's actions, by outcome id.
    actions: HashMap<i64, Vec<i64>>,
    /// Actions saved so far; each takes the count as its id.
    actions_saved: i64,
}

/// Shared by the stand-in's answers (which record) and the report (which reads).
#[derive(Clone, Default)]
pub struct HaloLog(Arc<Mutex<Received>>);

impl HaloLog {
    fn lock(&self) -> MutexGuard<'_, Received> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one ticket update (an element of `POST /api/Tickets`).
    pub fn update(&self, update: &Value) {
        if let Some(id) = update["id"].as_i64() {
            let team = update["team"].as_str().map(String::from);
            let at = Instant::now();
            self.lock()
                .updates
                .entry(id)
                .or_default()
                .push(Update { at, team });
        }
    }

    /// Records one action (an element of `POST /api/Actions`); the id Halo gives it.
    pub fn action(&self, action: &Value) -> i64 {
        let mut received = self.lock();
        received.actions_saved += 1;
        if let Some(ticket) = action["ticket_id"].as_i64() {
            let outcome = action["outcome_id"].as_i64().unwrap_or_default();
            received.actions.entry(ticket).or_default().push(outcome);
        }
        received.actions_saved
    }
}

/// Prints the stand-in's figures and checks them against what the deliveries should get;
/// false when a check failed. `services` is how many services use the stand-in.
pub async fn report(
    server: &MockServer,
    log: &HaloLog,
    services: usize,
    load: &Load,
    args: &Args,
) -> bool {
    let tickets = Tickets::of(args);
    let ids = args.first_ticket..args.first_ticket + args.n;
    let mut ok = {
        let received = log.lock();
        check_updates(&received, ids.clone(), tickets.team())
            & check_acks(&received, ids, tickets.acknowledged())
            & update_times(&received, load, args.n, tickets == Tickets::Alert)
    };
    let requests = server.received_requests().await.unwrap_or_default();
    let after_startup = requests_by_route(&requests, services);
    let per_ticket = |requests: usize| requests as f64 / args.n as f64;
    println!(
        "requests to the stand-in Halo per ticket: {:.3} ({} in all), {:.3} after start-up ({after_startup})",
        per_ticket(requests.len()),
        requests.len(),
        per_ticket(after_startup)
    );
    if tickets == Tickets::Alert && args.budget {
        ok &= check(
            "alerts: at most 0.1 requests per ticket after start-up",
            per_ticket(after_startup) <= ALERTS_REQUESTS_PER_TICKET,
            format!("{:.3}", per_ticket(after_startup)),
        );
    }
    ok
}

/// Every ticket updated exactly once, to `team`.
fn check_updates(received: &Received, ids: Range<i64>, team: &str) -> bool {
    let updates: usize = received.updates.values().map(Vec::len).sum();
    let tickets = ids.end - ids.start;
    let not_once = ids
        .filter(|id| match received.updates.get(id).map(Vec::as_slice) {
            Some([update]) => update.team.as_deref() != Some(team),
            _ => true,
        })
        .count();
    check(
        &format!("stand-in Halo: one ticket update per ticket, to team {team}"),
        updates as i64 == tickets && not_once == 0,
        format!(
            "{updates} updates for {} tickets; {not_once} not updated exactly once to {team}",
            received.updates.len()
        ),
    )
}

/// One acknowledgement (an action with the acknowledgement's outcome) per ticket when the
/// rule sends one, else none.
fn check_acks(received: &Received, ids: Range<i64>, acknowledged: bool) -> bool {
    let acks = |id: i64| {
        let outcomes = received.actions.get(&id).map_or(&[][..], Vec::as_slice);
        outcomes.iter().filter(|&&o| o == OUTCOME_ID).count()
    };
    let expected = usize::from(acknowledged);
    let all: usize = ids.clone().map(acks).sum();
    let wrong = ids.filter(|&id| acks(id) != expected).count();
    let actions: usize = received.actions.values().map(Vec::len).sum();
    check(
        match acknowledged {
            true => "stand-in Halo: one acknowledgement per ticket",
            false => "stand-in Halo: no acknowledgement (the rule sends none)",
        },
        wrong == 0,
        format!(
            "{all} acknowledgements ({actions} actions in all); {wrong} tickets with another count"
        ),
    )
}

/// Prints the time from each webhook to its ticket's first update, and from the first
/// delivery to the last ticket's; for `alerts`, checks the last is within the target.
fn update_times(received: &Received, load: &Load, n: i64, alerts: bool) -> bool {
    let arrivals: Vec<(Instant, Instant)> = load
        .due
        .iter()
        .filter_map(|(id, due)| Some((*due, received.updates.get(id)?.first()?.at)))
        .collect();
    let latencies = sorted_ms(arrivals.iter().map(|(due, at)| at.duration_since(*due)));
    if !latencies.is_empty() {
        let at = |p: f64| percentile(&latencies, p);
        println!(
            "webhook to ticket update ms ({} tickets): p50 {:.0}  p99 {:.0}  max {:.0}",
            latencies.len(),
            at(0.50),
            at(0.99),
            at(1.0)
        );
    }
    let last = arrivals
        .iter()
        .map(|(_, at)| at.duration_since(load.started))
        .max();
    if let Some(last) = last {
        println!(
            "last ticket updated {:.2} s after the first delivery",
            last.as_secs_f64()
        );
    }
    !alerts
        || check(
            "alerts: every ticket updated within 60 s of the first delivery",
            arrivals.len() as i64 == n && last.is_some_and(|last| last <= ALERTS_WITHIN),
            format!("{} of {n} tickets updated", arrivals.len()),
        )
}

/// Prints the requests by route, all and after start-up; the number after start-up. Each
/// of the `services` fetches the token and each lookup once when it first needs them (its
/// first job): those are start-up; renewals and refreshes later on are not.
fn requests_by_route(requests: &[Request], services: usize) -> usize {
    let mut routes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for request in requests {
        let (all, after) = routes.entry(route(request)).or_default();
        *all += 1;
        *after += usize::from(!fetched_at_start(request) || *all > services);
    }
    println!("requests to the stand-in Halo by route (all / after start-up):");
    for (route, (all, after)) in &routes {
        println!("  {route:<32} {all:>6} / {after}");
    }
    routes.values().map(|(_, after)| after).sum()
}

/// The token, or a lookup (a GET of anything but tickets and actions).
fn fetched_at_start(request: &Request) -> bool {
    let path = request.url.path();
    path == "/auth/token"
        || (request.method.as_str() == "GET"
            && !path.starts_with("/api/Tickets")
            && path != "/api/Actions")
}

/// The route a request counts under: a ticket read by id, the ticket list, or the method
/// and path.
fn route(request: &Request) -> String {
    let path = request.url.path();
    match request.method.as_str() {
        "GET" if path.starts_with("/api/Tickets/") => "GET /api/Tickets/{id}".into(),
        "GET" if path == "/api/Tickets" => "GET /api/Tickets (list)".into(),
        "POST" if path == "/auth/token" => "POST /auth/token (token)".into(),
        method => format!("{method} {path}"),
    }
}
