-- The browser console (/ui).

-- Signed-in operators: the SHA-256 of the session cookie (the store never holds a cookie
-- that would let anyone in), the CSRF token every form of that session carries, and when
-- the session ends (unix ms).
CREATE TABLE console_sessions (
    id_hash    TEXT    PRIMARY KEY,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Decisions searchable by client and team (prefix, any case) without reading their JSON,
-- and the names of the rules that matched (a JSON array) for the rule hit counts. The team
-- is the one decided, else the ticket's own; decisions made before this migration get
-- them from their JSON and their job's delivery.
ALTER TABLE decisions ADD COLUMN client TEXT COLLATE NOCASE;
ALTER TABLE decisions ADD COLUMN team TEXT COLLATE NOCASE;
ALTER TABLE decisions ADD COLUMN rules TEXT NOT NULL DEFAULT '[]';
UPDATE decisions SET
    client = (SELECT json_extract(jobs.payload, '$.ticket.client_name') FROM jobs
              WHERE jobs.id = decisions.job_id),
    team = coalesce(json_extract(decision, '$.fields.team.value'),
                    (SELECT json_extract(jobs.payload, '$.ticket.team') FROM jobs
                     WHERE jobs.id = decisions.job_id)),
    rules = coalesce(json_extract(decision, '$.matched_rules'), '[]');
CREATE INDEX decisions_client ON decisions (client);
CREATE INDEX decisions_team ON decisions (team);

-- Matches per rule and UTC day, kept in step with the decisions (a retried job's earlier
-- decision is taken off before its new one counts), so the rules page reads 30 rows per
-- rule at most instead of a month of decisions.
CREATE TABLE rule_hits (
    rule TEXT    NOT NULL,
    day  TEXT    NOT NULL,                  -- YYYY-MM-DD (UTC)
    hits INTEGER NOT NULL,
    PRIMARY KEY (rule, day)
) WITHOUT ROWID;
INSERT INTO rule_hits (rule, day, hits)
    SELECT matched.value, date(decisions.created_at / 1000, 'unixepoch'), count(*)
    FROM decisions, json_each(decisions.rules) AS matched
    GROUP BY 1, 2;

-- The last day's finished, retried and dead jobs by hour, from the index alone.
CREATE INDEX jobs_updated ON jobs (updated_at, status, attempts);

-- LLM calls per day besides their tokens (a failed call spends none but still counts).
ALTER TABLE llm_usage ADD COLUMN calls INTEGER NOT NULL DEFAULT 0;
