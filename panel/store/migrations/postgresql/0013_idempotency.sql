-- The PostgreSQL twin of ../0013_idempotency.sql: a retry is found by the key's hash per event.
ALTER TABLE questions ADD COLUMN key_hash TEXT;
ALTER TABLE questions ADD COLUMN request_hash TEXT;
CREATE UNIQUE INDEX questions_key_hash ON questions (event_id, key_hash);
