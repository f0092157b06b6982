-- The editor desk: blocked terms per event, and why a question is held for review.
ALTER TABLE events ADD COLUMN blocked_terms TEXT NOT NULL DEFAULT '';
ALTER TABLE questions ADD COLUMN held_reason TEXT NOT NULL DEFAULT '';
