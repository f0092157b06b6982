-- The PostgreSQL twin of ../0018_log_rewrites.sql: how many times forget-reader rewrote frames
-- of an event's log, so every process drops the frames it keeps in memory.
ALTER TABLE events ADD COLUMN log_rewrites BIGINT NOT NULL DEFAULT 0;
