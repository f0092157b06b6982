-- Editors' and panelists' sessions live here, not in the cookie: the cookie carries only a
-- random token, and `id` is its SHA-256. Deleting a row ends that session at once, in every
-- process (panel/sessions.py). An editor session has `editor_id`; a panelist session has the
-- panelist, the invite it was opened with, and that invite's event.
CREATE TABLE staff_sessions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('editor', 'panelist')),
    editor_id INTEGER REFERENCES editors(id) ON DELETE CASCADE,
    panelist_id INTEGER REFERENCES panelists(id) ON DELETE CASCADE,
    invite_id INTEGER REFERENCES invites(id) ON DELETE CASCADE,
    event_id INTEGER REFERENCES events(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    CHECK (
        (kind = 'editor' AND editor_id IS NOT NULL AND invite_id IS NULL)
        OR (kind = 'panelist' AND editor_id IS NULL AND panelist_id IS NOT NULL
            AND invite_id IS NOT NULL AND event_id IS NOT NULL)
    )
);
CREATE INDEX staff_sessions_editor ON staff_sessions (editor_id);
CREATE INDEX staff_sessions_invite ON staff_sessions (invite_id);

-- A disabled editor cannot sign in, and their sessions and API tokens stop working.
ALTER TABLE editors ADD COLUMN disabled_at TEXT;
