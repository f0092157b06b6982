-- Readers' reports of a published question or answer ("rude", "identifies someone", "wrong",
-- "other"), for the editors only: never in event_log, never on a public page or in the
-- readers' API. One report per reader and item (a second one is the first one again).
-- target_kind is 'question' or 'answer'; target_id is that row's id.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('question', 'answer')),
    target_id INTEGER NOT NULL,
    reader_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    UNIQUE (reader_id, target_kind, target_id)
);
CREATE INDEX reports_by_event ON reports (event_id, target_kind, target_id);
