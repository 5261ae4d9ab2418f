-- Tokens spent with the LLM per UTC day, for llm.daily_token_budget.
CREATE TABLE llm_usage (
    day    TEXT    PRIMARY KEY,             -- YYYY-MM-DD (UTC)
    tokens INTEGER NOT NULL
);

-- Answers by request digest (model, prompt version, labels on offer, ticket text), so an
-- identical ticket within llm.cache_window_secs (an alert flood) costs no new call.
CREATE TABLE llm_cache (
    key        TEXT    PRIMARY KEY,
    content    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
