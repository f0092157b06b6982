-- Transparent moderation (panel/openness.py): the reason an editor chose to show the asker of
-- a rejected question, apart from the private `reject_reason` (audit only). Only that
-- asker ever sees it ("Your questions"); '' means "nothing shared".
ALTER TABLE questions ADD COLUMN public_reason TEXT NOT NULL DEFAULT '';
