-- The PostgreSQL twin of ../0007_staff_sessions.sql: editors' and panelists' sessions, by the
-- SHA-256 of the random token in the cookie, and editors that an admin disabled.
CREATE TABLE staff_sessions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('editor', 'panelist')),
    editor_id BIGINT REFERENCES editors(id) ON DELETE CASCADE,
    panelist_id BIGINT REFERENCES panelists(id) ON DELETE CASCADE,
    invite_id BIGINT REFERENCES invites(id) ON DELETE CASCADE,
    event_id BIGINT REFERENCES events(id) ON DELETE CASCADE,
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

ALTER TABLE editors ADD COLUMN disabled_at TEXT;
