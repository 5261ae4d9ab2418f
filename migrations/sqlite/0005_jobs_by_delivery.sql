-- Pruning deletes deliveries no job refers to: without this index each one is a full scan
-- of jobs (and another for the foreign key check).
CREATE INDEX jobs_delivery ON jobs (delivery_row);
