-- The PostgreSQL twin of ../0017_audience_samples.sql: the audience, sampled once a minute
-- while an event is live, for the post-event report. Counts only.
CREATE TABLE audience_samples (
    event_id BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    readers BIGINT NOT NULL CHECK (readers >= 0),
    PRIMARY KEY (event_id, at)
);
