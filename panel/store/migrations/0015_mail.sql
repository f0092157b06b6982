-- Email (issue 17 item 2): panelists' private addresses, the durable outbox and scheduled
-- digests.
--
-- panelists.email is optional and never public: panel/store/people.py's row mapper leaves it
-- out of the Panelist value every page, frame and export is built from; only
-- panel/store/contacts.py reads it (for the desk's set-up page and the mailer).
ALTER TABLE panelists ADD COLUMN email TEXT;

-- One row per message, written in the same transaction as the action that causes it and
-- sent afterwards by the outbox task (panel/outbox.py), so a mail server outage loses
-- nothing and never blocks a request. A process claims a row by moving its next_try_at
-- forward and counting the attempt, so two processes never send one row at once, and a
-- process that dies mid-send leaves a row that is tried again later. dedupe_key (unique when
-- set; NULLs never clash) makes queueing the same message twice a no-op.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    event_id INTEGER REFERENCES events(id) ON DELETE SET NULL,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT NOT NULL,
    sent_at TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed'))
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_try_at);
CREATE INDEX mail_outbox_by_event ON mail_outbox (event_id, id);

-- The pre-event digest sent by the scheduler `hours_before` the event's start (so it follows
-- the event when its start moves); sent_at is set in the transaction that queues the mails,
-- which is what makes it happen once, across restarts and processes.
CREATE TABLE digest_schedules (
    event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
    hours_before INTEGER NOT NULL,
    include_pending INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
