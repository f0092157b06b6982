-- Merging keeps everything and can be undone (panel/merging.py). `merge_undo` holds what a
-- merge changed on the duplicate (JSON: status before and after, pinned, the upvotes it gave
-- the kept question, whether the kept question was answered), so "Separate" restores it.
-- `moved_from` is the question an answer was written for, while a merge shows it under the
-- kept question.
ALTER TABLE questions ADD COLUMN merge_undo TEXT;
ALTER TABLE answers ADD COLUMN moved_from INTEGER REFERENCES questions(id) ON DELETE SET NULL;
-- Merges made before this hid the duplicate's answers: show them under the kept question.
UPDATE answers SET moved_from = question_id,
    question_id = (SELECT q.merged_into FROM questions q WHERE q.id = answers.question_id)
  WHERE question_id IN (SELECT id FROM questions WHERE merged_into IS NOT NULL);
UPDATE questions SET answered = 1
  WHERE answered = 0 AND id IN (SELECT merged_into FROM questions WHERE merged_into IS NOT NULL AND answered <> 0);
