-- Every authenticated request Halo sent us, kept raw: accepted, duplicate, ignored or
-- quarantined (unparseable), so nothing that reached us is ever lost.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,           -- unix milliseconds
    outcome     TEXT    NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'ignored', 'quarantined')),
    error       TEXT,
    body        BLOB    NOT NULL
);

-- One unit of triage work per ticket and event, deduplicated by Halo's delivery id and by
-- (ticket, event).
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    delivery_row     INTEGER NOT NULL REFERENCES deliveries (id),
    halo_delivery_id TEXT UNIQUE,
    ticket_id        INTEGER NOT NULL,
    event            TEXT    NOT NULL,      -- lower-cased event name
    payload          TEXT    NOT NULL,      -- the delivery object as JSON
    status           TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (ticket_id, event)
);
CREATE INDEX jobs_due ON jobs (status, next_attempt_at);

-- What was decided for a ticket, and why; one row per job, replaced when the job is retried.
CREATE TABLE decisions (
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL UNIQUE REFERENCES jobs (id),
    ticket_id      INTEGER NOT NULL,
    mode           TEXT    NOT NULL,        -- live | shadow
    decision       TEXT    NOT NULL,        -- JSON: every field with value, source and reason
    ticket_update  TEXT    NOT NULL,        -- JSON: what is (or in shadow mode would be) sent
    notes          TEXT    NOT NULL,        -- JSON array: fields kept, acknowledgement skipped, ...
    applied        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE INDEX decisions_ticket ON decisions (ticket_id);

-- The acknowledgement of each ticket: 'sending' is written before the POST, 'sent' after,
-- so a crash in between is detected and resolved by looking for our marker on the ticket.
CREATE TABLE acknowledgements (
    ticket_id  INTEGER PRIMARY KEY,
    status     TEXT    NOT NULL CHECK (status IN ('sending', 'sent')),
    action_id  INTEGER,
    updated_at INTEGER NOT NULL
);
