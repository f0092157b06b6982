-- The PostgreSQL twin of ../0008_leases.sql: which process holds each single-holder job.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
