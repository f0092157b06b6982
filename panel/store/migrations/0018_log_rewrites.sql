-- How many times `livepanel forget-reader` rewrote frames of an event's log (panel/forgetting.py).
-- Everywhere else a logged frame never changes behind its seq, so each process keeps recent
-- frames in memory (the hub's ring and replay pages); when this count moves, the presence tick
-- drops them, and catch-ups read the log as it is now (panel/live/hub.py, `log_rewritten`).
ALTER TABLE events ADD COLUMN log_rewrites INTEGER NOT NULL DEFAULT 0;
