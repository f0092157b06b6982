-- Answers' Markdown is rendered (markdown-it, then nh3) once, when the answer is written, and
-- stored here; pages, frames and the API read it instead of rendering on every view.
-- NULL means "not rendered yet": rows written before this migration. SQL cannot render
-- Markdown, so Services.running() renders those once, in Python, through the writer
-- (Answers.render_missing); until then payloads.answer renders them on the fly.
ALTER TABLE answers ADD COLUMN body_html TEXT;
