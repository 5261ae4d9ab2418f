-- Halo's rate budget, shared by every process on this store (replicas, a `learn` run beside
-- the service): the time (unix ms, the database's clock) at which the next request would be
-- due if requests went out evenly (GCRA's theoretical arrival time). A request may go while
-- that is at most a burst's worth of periods ahead of now.
CREATE TABLE rate_budgets (
    name   TEXT    PRIMARY KEY,
    tat_ms INTEGER NOT NULL
);
