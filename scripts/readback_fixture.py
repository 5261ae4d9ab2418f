"""Fills a halo-triage SQLite store with 100,000 read-back decisions (four fields each,
400,000 comparisons) for timing `halo-triage report` (docs/benchmarks.md).

    HALO_TRIAGE__STORE__PATH=/tmp/rb.db halo-triage report   # creates and migrates it
    python3 scripts/readback_fixture.py /tmp/rb.db
"""
import random
import sqlite3
import sys

random.seed(1)
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO deliveries (id, received_at, outcome, body) VALUES (1, 0, 'accepted', x'00')")
rules = ["vpn", "printers", "password", "alerts", "billing", "noise"]
teams = ["Service Desk", "Network", "Security", "Monitoring", "Accounts"]
now = 1796000000000
for i in range(1, 100001):
    db.execute(
        "INSERT INTO jobs (id, delivery_row, ticket_id, event, payload, status, next_attempt_at,"
        " created_at, updated_at) VALUES (?, 1, ?, 'new', '{}', 'done', 0, 0, 0)",
        (i, i),
    )
    db.execute(
        "INSERT INTO decisions (id, job_id, ticket_id, mode, decision, ticket_update, notes,"
        " applied, created_at, read_back_at) VALUES (?, ?, ?, 'shadow', '{}', '{}', '[]', 0, ?, ?)",
        (i, i, i, now - i * 1000, now),
    )
    for field in ["team", "category_1", "priority_id", "tickettype_id"]:
        ours = random.choice(teams)
        r = random.random()
        outcome = "agreed" if r < 0.7 else ("disagreed" if r < 0.85 else "untouched")
        theirs = ours if outcome != "disagreed" else random.choice(teams)
        db.execute(
            "INSERT INTO readbacks VALUES (?, ?, ?, 'shadow', 'rule', ?, ?, ?, ?, NULL, 0, ?, ?)",
            (i, field, i, random.choice(rules), ours, theirs, outcome, now - i * 1000, now),
        )
db.commit()
