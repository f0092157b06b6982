-- Livepanel schema, version 1. Times are UTC text in one fixed-width form (domain.iso).
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    intro_md TEXT NOT NULL DEFAULT '',
    related_json TEXT NOT NULL DEFAULT '[]',
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'Europe/London',
    moderation TEXT NOT NULL DEFAULT 'pre' CHECK (moderation IN ('pre', 'post')),
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'scheduled', 'live', 'closed', 'published')),
    last_seq INTEGER NOT NULL DEFAULT 0,
    slow_mode_seconds INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE slots (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'started', 'ended')),
    CHECK (ends_at > starts_at)
);
CREATE INDEX slots_event ON slots(event_id, starts_at);

CREATE TABLE panelists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    photo TEXT,
    created_at TEXT NOT NULL
);

-- Who sits on an event's panel: slot_id NULL means the core panel (all event long).
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    panelist_id INTEGER NOT NULL REFERENCES panelists(id) ON DELETE CASCADE,
    slot_id INTEGER REFERENCES slots(id) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX assignments_event ON assignments(event_id);

CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    panelist_id INTEGER NOT NULL REFERENCES panelists(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE editors (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'editor' CHECK (role IN ('editor', 'admin')),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    editor_id INTEGER NOT NULL REFERENCES editors(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    reader_id TEXT NOT NULL,
    client_key TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    reject_reason TEXT NOT NULL DEFAULT '',
    directed_to INTEGER REFERENCES panelists(id) ON DELETE SET NULL,
    pinned INTEGER NOT NULL DEFAULT 0,
    merged_into INTEGER REFERENCES questions(id) ON DELETE SET NULL,
    upvotes INTEGER NOT NULL DEFAULT 0,
    answered INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX questions_event ON questions(event_id, status, created_at);
CREATE INDEX questions_reader ON questions(event_id, reader_id);
-- A retried post (same reader, same Idempotency-Key) finds the first question.
CREATE UNIQUE INDEX questions_client_key ON questions(event_id, reader_id, client_key);

CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    panelist_id INTEGER REFERENCES panelists(id) ON DELETE SET NULL,
    editor_id INTEGER REFERENCES editors(id) ON DELETE SET NULL,
    body_md TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'withdrawn')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX answers_question ON answers(question_id, created_at);

CREATE TABLE upvotes (
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    reader_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (question_id, reader_id)
);

CREATE TABLE transcripts (
    event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    intro_md TEXT NOT NULL DEFAULT '',
    outro_md TEXT NOT NULL DEFAULT '',
    -- Curated order and visibility: [{"question_id": 1, "hidden": false}, ...]
    items_json TEXT NOT NULL DEFAULT '[]',
    published_at TEXT,
    updated_at TEXT NOT NULL
);

-- The public, gapless, per-event log that the live stream is a view of.
CREATE TABLE event_log (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (event_id, seq)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    event_id INTEGER REFERENCES events(id) ON DELETE SET NULL,
    target TEXT NOT NULL DEFAULT '',
    before_json TEXT NOT NULL DEFAULT '{}',
    after_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event ON audit_log(event_id, at);

CREATE TABLE reader_bans (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    reader_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (event_id, reader_id)
);
