-- Leases: one row per job that only one process may do at a time (today: "scheduler").
-- A process holds the lease while `expires_at` is in the future and renews it well before;
-- when the holder dies, another takes the row over once it has expired (panel/scheduler.py).
-- Runtime state, not data: `livepanel copy` leaves it behind.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
