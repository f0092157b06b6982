-- Upvote counts are announced to readers at most once per question per window (panel/votes.py),
-- not once per vote. `upvotes_shown` is the count the last public frame of the question
-- carried; a question whose `upvotes` differs still owes readers a frame, and the partial
-- index finds those without scanning every question.
ALTER TABLE questions ADD COLUMN upvotes_shown BIGINT NOT NULL DEFAULT 0;
UPDATE questions SET upvotes_shown = upvotes;
CREATE INDEX questions_votes_unshown ON questions (id) WHERE upvotes <> upvotes_shown;
