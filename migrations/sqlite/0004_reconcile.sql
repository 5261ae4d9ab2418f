-- How far the reconciler has looked: the start of its last successful pass (unix ms).
CREATE TABLE watermarks (
    name  TEXT    PRIMARY KEY,
    at_ms INTEGER NOT NULL
);
