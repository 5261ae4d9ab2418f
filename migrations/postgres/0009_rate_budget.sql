-- Halo's rate budget, shared by every replica (../sqlite/0009_rate_budget.sql says how).
CREATE TABLE rate_budgets (
    name   TEXT   PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);
