"""Fills a migrated halo-triage SQLite store with 100,000 decisions for the benchmarks in
docs/benchmarks.md: each with a real decision's JSON, its client, team and matched rules,
its job (finished over the last 30 days, 1% dead), its rule hit counts, and four fields
read back (400,000 comparisons).

    HALO_TRIAGE__STORE__PATH=/tmp/store.db halo-triage report   # creates and migrates it
    python3 scripts/store_fixture.py /tmp/store.db
"""
import json
import random
import sqlite3
import sys
import time
from collections import Counter

random.seed(1)
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO deliveries (id, received_at, outcome, body) VALUES (1, 0, 'accepted', x'00')")
rules = ["vpn", "printers", "password", "alerts", "billing", "noise"]
teams = ["Service Desk", "Network", "Security", "Monitoring", "Accounts"]
clients = [f"Client {n:03d} Ltd" for n in range(200)]
now = int(time.time() * 1000)
month = 30 * 86_400_000
hits = Counter()


def decision(team, matched):
    reason = f"rule '{matched[0]}' matched: the text contains 'password'"
    source = {"kind": "rule", "name": matched[0]}
    fields = {
        "team": {"value": team, "source": source, "reason": reason},
        "category_1": {"value": "Accounts", "source": source, "reason": reason},
        "priority_id": {"value": 3, "source": source, "reason": reason},
    }
    trace = [
        {"rule": name, "reason": reason, "set": ["team"] if k == 0 else [], "overrode": [],
         "lost": [] if k == 0 else [["team", f"rule '{matched[0]}'"]], "effects": [], "stopped": False}
        for k, name in enumerate(matched)
    ]
    return json.dumps({
        "fields": fields, "custom": {}, "ack_template": None, "notes": [], "llm": "fill",
        "locked": [], "sentiment": {"mood": "neutral", "score": 0.0, "source": "lexicon"},
        "needs_review": [], "llm_call": None, "matched_rules": matched, "trace": trace,
    })


for i in range(1, 100001):
    at = now - int(month * i / 100000)
    team = random.choice(teams)
    matched = random.sample(rules, random.choice([1, 1, 2]))
    status = "dead" if i % 100 == 0 else "done"
    db.execute(
        "INSERT INTO jobs (id, delivery_row, ticket_id, event, payload, status, attempts,"
        " next_attempt_at, last_error, created_at, updated_at)"
        " VALUES (?, 1, ?, 'new ticket logged', '{}', ?, ?, 0, ?, ?, ?)",
        (i, i, status, 5 if status == "dead" else random.choice([1, 1, 1, 2]),
         "Halo answered 500: Database unavailable" if status == "dead" else None, at, at),
    )
    db.execute(
        "INSERT INTO decisions (id, job_id, ticket_id, mode, decision, ticket_update, notes,"
        " before, client, team, rules, applied, created_at, read_back_at)"
        " VALUES (?, ?, ?, 'shadow', ?, ?, '[]', '{}', ?, ?, ?, 0, ?, ?)",
        (i, i, i, decision(team, matched), json.dumps({"id": i, "team": team}),
         random.choice(clients), team, json.dumps(matched), at, now),
    )
    day = time.strftime("%Y-%m-%d", time.gmtime(at / 1000))
    for name in matched:
        hits[(name, day)] += 1
    for field in ["team", "category_1", "priority_id", "tickettype_id"]:
        ours = random.choice(teams)
        r = random.random()
        outcome = "agreed" if r < 0.7 else ("disagreed" if r < 0.85 else "untouched")
        theirs = ours if outcome != "disagreed" else random.choice(teams)
        db.execute(
            "INSERT INTO readbacks VALUES (?, ?, ?, 'shadow', 'rule', ?, ?, ?, ?, NULL, 0, ?, ?)",
            (i, field, i, random.choice(rules), ours, theirs, outcome, at, now),
        )
db.executemany("INSERT INTO rule_hits (rule, day, hits) VALUES (?, ?, ?)",
               [(rule, day, n) for (rule, day), n in hits.items()])
db.commit()
