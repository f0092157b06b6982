-- Livepanel schema, version 2: published transcripts and the archive's full-text search.

-- What the public sees is a snapshot taken at (re)publication, so curation can go on
-- privately afterwards. NULL while the transcript is not public.
ALTER TABLE transcripts ADD COLUMN published_json TEXT;
-- The last time a published transcript was published again ("updated").
ALTER TABLE transcripts ADD COLUMN republished_at TEXT;
-- 1 when the editors changed the curation since the snapshot was taken.
ALTER TABLE transcripts ADD COLUMN pending_changes INTEGER NOT NULL DEFAULT 0;

-- One row per question in a published transcript: what search returns and filters on.
-- Portable SQL; only the full-text index below is SQLite's own.
CREATE TABLE archive_items (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    question_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    question TEXT NOT NULL,
    answers TEXT NOT NULL,
    people TEXT NOT NULL DEFAULT '',
    UNIQUE (event_id, question_id)
);
CREATE INDEX archive_items_event ON archive_items(event_id, position);

-- Who answered each item, for the archive's panelist filter.
CREATE TABLE archive_item_people (
    item_id INTEGER NOT NULL REFERENCES archive_items(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (item_id, name)
);
CREATE INDEX archive_item_people_name ON archive_item_people(name);

-- SQLite only: an FTS5 index over archive_items (external content, so the text is stored
-- once), kept in step by triggers. PostgreSQL will use a tsvector column and a GIN index.
CREATE VIRTUAL TABLE archive_fts USING fts5(
    question, answers, people,
    content = 'archive_items', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER archive_items_ai AFTER INSERT ON archive_items BEGIN
    INSERT INTO archive_fts (rowid, question, answers, people)
    VALUES (new.id, new.question, new.answers, new.people);
END;

CREATE TRIGGER archive_items_ad AFTER DELETE ON archive_items BEGIN
    INSERT INTO archive_fts (archive_fts, rowid, question, answers, people)
    VALUES ('delete', old.id, old.question, old.answers, old.people);
END;

CREATE TRIGGER archive_items_au AFTER UPDATE ON archive_items BEGIN
    INSERT INTO archive_fts (archive_fts, rowid, question, answers, people)
    VALUES ('delete', old.id, old.question, old.answers, old.people);
    INSERT INTO archive_fts (rowid, question, answers, people)
    VALUES (new.id, new.question, new.answers, new.people);
END;
