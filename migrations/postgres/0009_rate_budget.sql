-- Halo's rate budget, shared by every replica: when the next request would be due if
-- requests went out evenly (GCRA; unix ms by the database's clock). Postgres only: the
-- processes on a SQLite store share one host, and a file beside the database
-- (src/store/rate.rs).
CREATE TABLE rate_budgets (
    name   TEXT   PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);
