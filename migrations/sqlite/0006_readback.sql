-- What the ticket held, before triage, in each field the decision set or left for review
-- (a JSON object; null for an empty field): the read-back tells a field a person left
-- alone from one they set.
ALTER TABLE decisions ADD COLUMN before TEXT NOT NULL DEFAULT '{}';
-- When the decision was read back from Halo (unix ms); NULL while it waits to settle.
ALTER TABLE decisions ADD COLUMN read_back_at INTEGER;
CREATE INDEX decisions_pending ON decisions (created_at) WHERE read_back_at IS NULL;

-- Per decision and field, what the ticket held once it had settled, against our value.
CREATE TABLE readbacks (
    decision_id INTEGER NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
    field       TEXT    NOT NULL,
    ticket_id   INTEGER NOT NULL,
    -- live: our value was written to the ticket; shadow: it was not (shadow mode, a kept
    -- field, a failed write), so what the ticket holds is a person's or Halo's.
    mode        TEXT    NOT NULL CHECK (mode IN ('live', 'shadow')),
    source_kind TEXT,                       -- rule | default | model | llm; NULL: review
    source_name TEXT    NOT NULL DEFAULT '',
    ours        TEXT,                       -- NULL: left for review
    theirs      TEXT,                       -- NULL: empty at read-back
    outcome     TEXT    NOT NULL CHECK (outcome IN ('agreed', 'disagreed', 'untouched', 'review', 'unread')),
    -- service: the value we wrote is still there; other: someone changed the field after
    -- the decision (a person or a Halo rule); NULL: Halo's answer does not say.
    set_by      TEXT,
    closed      INTEGER NOT NULL,
    decided_at  INTEGER NOT NULL,
    read_at     INTEGER NOT NULL,
    PRIMARY KEY (decision_id, field)
);
-- The report counts by these columns, from this index alone (no table lookups): a
-- twelfth of the time of a scan through a date index at 400,000 rows.
CREATE INDEX readbacks_counts
    ON readbacks (field, outcome, ours, theirs, mode, source_kind, source_name, decided_at);
CREATE INDEX readbacks_read ON readbacks (read_at);

-- Background tasks that must run on one process per store at a time (the read-back):
-- held until until_ms, renewed by its holder.
CREATE TABLE task_leases (
    name     TEXT    PRIMARY KEY,
    owner    TEXT    NOT NULL,
    until_ms INTEGER NOT NULL
);
