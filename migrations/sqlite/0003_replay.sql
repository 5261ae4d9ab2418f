-- A replayed dead job gets max_attempts again: attempts keep counting (they fence stale
-- workers out), and the budget is counted from the value they had at the replay.
ALTER TABLE jobs ADD COLUMN attempts_at_replay INTEGER NOT NULL DEFAULT 0;
