-- Tokens reserved by LLM calls in flight, so concurrent workers (and, later, replicas)
-- see each other's calls before their answers are counted: a call starts only while the
-- tokens spent and reserved today are under llm.daily_token_budget. A reservation left by
-- a crash ends with its day.
ALTER TABLE llm_usage ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;
