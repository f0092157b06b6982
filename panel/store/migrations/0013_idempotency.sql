-- Idempotency that survives a restart (panel/idempotency.py). A retried post finds its first
-- question by the key alone (its SHA-256, per event), not by the reader's cookie, which a
-- restart with a random secret, or a first post that never got its cookie, would lose.
-- `request_hash` is the SHA-256 of what was asked, so that the same key with another question
-- is refused (422 idempotency_mismatch) instead of answered with the first one. Questions
-- from before keep NULL in both and are still found by (reader, key).
ALTER TABLE questions ADD COLUMN key_hash TEXT;
ALTER TABLE questions ADD COLUMN request_hash TEXT;
CREATE UNIQUE INDEX questions_key_hash ON questions (event_id, key_hash);
