-- The PostgreSQL twin of ../0009_desk_presence.sql: who has each event's desk open.
CREATE TABLE desk_presence (
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    editor_id BIGINT NOT NULL REFERENCES editors(id) ON DELETE CASCADE,
    question_id BIGINT REFERENCES questions(id) ON DELETE SET NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (event_id, editor_id)
);
