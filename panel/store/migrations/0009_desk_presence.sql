-- Desk presence: which editors have an event's moderation desk open, and which question each
-- is on. One row per editor and event, renewed by the desk page every ~10 s; a row whose
-- seen_at is more than 30 s old has lapsed (panel/presence.py). Runtime state, not data:
-- `livepanel copy-db` leaves it behind, and nothing here is audited.
CREATE TABLE desk_presence (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    editor_id INTEGER NOT NULL REFERENCES editors(id) ON DELETE CASCADE,
    question_id INTEGER REFERENCES questions(id) ON DELETE SET NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (event_id, editor_id)
);
