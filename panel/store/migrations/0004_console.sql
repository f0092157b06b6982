-- The panelists' console: drafts with their soft claims, and the backstage between staff.
-- Neither is ever part of the public log (event_log), so no reader surface can show them.

-- One draft per panelist per question. claimed_until is the soft claim ("being answered by"):
-- set while the answer box is open and renewed by typing; NULL once the box is closed.
CREATE TABLE answer_drafts (
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    panelist_id INTEGER NOT NULL REFERENCES panelists(id) ON DELETE CASCADE,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    body TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    claimed_until TEXT,
    PRIMARY KEY (question_id, panelist_id)
);
CREATE INDEX answer_drafts_event ON answer_drafts(event_id);

-- Notes between editors and panelists. audience: 'panel' (every panelist of the event),
-- 'panelist' (to_panelist only) or 'editors' (a panelist's flag). Editors see them all.
CREATE TABLE backstage_notes (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    audience TEXT NOT NULL CHECK (audience IN ('panel', 'panelist', 'editors')),
    to_panelist INTEGER REFERENCES panelists(id) ON DELETE CASCADE,
    question_id INTEGER REFERENCES questions(id) ON DELETE SET NULL,
    author_kind TEXT NOT NULL CHECK (author_kind IN ('editor', 'panelist')),
    author_id INTEGER,
    author_name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX backstage_notes_event ON backstage_notes(event_id, id);
