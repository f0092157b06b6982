-- The post-event report's audience over time (panel/report.py): while an event is live, the
-- process that holds the scheduler lease samples its audience (readers across processes)
-- once a minute (panel/sampling.py). `at` is the minute, in UTC; the key makes a second
-- sample of the same minute (a lease that changed hands mid-minute) a no-op. Counts only:
-- nothing here identifies a reader.
CREATE TABLE audience_samples (
    event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    readers INTEGER NOT NULL CHECK (readers >= 0),
    PRIMARY KEY (event_id, at)
);
