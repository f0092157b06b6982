"""Full-text search of the archive: the one place with dialect-specific search SQL.

Everything else about the archive (archive_items, archive_item_people) is portable SQL in
repo.py. SQLite answers with FTS5 (bm25 ranking, highlight() and snippet()); a PostgreSQL
backend supplies its own `SearchSQL` (a tsvector column on archive_items, ts_rank and
ts_headline with the same start and stop markers) and `search_sql` picks it by dialect.

Highlighting is made safe in two steps: the database wraps matches in private-use
characters that can never come from user text (they are stripped before indexing), then
`marked_html` escapes the whole snippet and only afterwards turns the markers into <mark>.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

MARK_START = "\ue000"
MARK_STOP = "\ue001"
ELLIPSIS = "…"
SNIPPET_TOKENS = 28
MAX_TERMS = 12
MAX_TERM_CHARS = 64
_WORD = re.compile(r"\w+", re.UNICODE)
_MARKERS = re.compile(f"[{MARK_START}{MARK_STOP}]")

# Column weights for ranking: a term in the question counts four times one in an answer.
QUESTION_WEIGHT = 4.0
ANSWERS_WEIGHT = 1.0
PEOPLE_WEIGHT = 2.0

_FILTERS = """
    archive_fts MATCH :query
    AND e.status = 'published'
    AND t.published_json IS NOT NULL
    AND (:person = '' OR EXISTS (
        SELECT 1 FROM archive_item_people p WHERE p.item_id = i.id AND p.name = :person))
"""


@dataclass(frozen=True)
class SearchSQL:
    """The statements one dialect needs; both take :query and :person, hits :limit/:offset."""

    hits: str
    count: str


# -- SQLite (FTS5) ----------------------------------------------------------------------
SQLITE = SearchSQL(
    hits=f"""
SELECT i.id AS item_id, i.event_id, i.question_id, i.position,
       e.slug, e.title, e.starts_at, e.timezone,
       highlight(archive_fts, 0, :mark_start, :mark_stop) AS question_marked,
       snippet(archive_fts, 1, :mark_start, :mark_stop, :ellipsis, {SNIPPET_TOKENS})
           AS answers_marked,
       bm25(archive_fts, {QUESTION_WEIGHT}, {ANSWERS_WEIGHT}, {PEOPLE_WEIGHT}) AS score
FROM archive_fts
JOIN archive_items i ON i.id = archive_fts.rowid
JOIN events e ON e.id = i.event_id
JOIN transcripts t ON t.event_id = i.event_id
WHERE {_FILTERS}
ORDER BY score, e.starts_at DESC, i.position
LIMIT :limit OFFSET :offset
""",
    count=f"""
SELECT COUNT(*) AS n
FROM archive_fts
JOIN archive_items i ON i.id = archive_fts.rowid
JOIN events e ON e.id = i.event_id
JOIN transcripts t ON t.event_id = i.event_id
WHERE {_FILTERS}
""",
)


def search_sql(conn: Any) -> SearchSQL:
    """The search statements for the connection's dialect (only SQLite so far)."""
    dialect = getattr(conn, "dialect", "sqlite")
    if dialect != "sqlite":
        raise NotImplementedError(f"archive search is not written for {dialect} yet")
    return SQLITE


def marker_params() -> dict[str, str]:
    return {"mark_start": MARK_START, "mark_stop": MARK_STOP, "ellipsis": ELLIPSIS}


def match_query(text: str) -> str:
    """Reader input as a safe FTS5 query: each word quoted (no operators), all required."""
    terms = [t[:MAX_TERM_CHARS] for t in _WORD.findall(text)][:MAX_TERMS]
    return " ".join(f'"{t}"' for t in terms)


def indexable(text: str) -> str:
    """Text as it goes into the index: without the characters reserved for markers."""
    return _MARKERS.sub("", text)


def marked_html(marked: str) -> Markup:
    """Escape a database snippet, then turn only our markers into balanced <mark> elements."""
    out: list[str] = []
    open_mark = False
    for piece in re.split(f"([{MARK_START}{MARK_STOP}])", marked):
        if piece == MARK_START and not open_mark:
            out.append("<mark>")
            open_mark = True
        elif piece == MARK_STOP and open_mark:
            out.append("</mark>")
            open_mark = False
        elif piece not in (MARK_START, MARK_STOP):
            out.append(html.escape(piece, quote=False))
    if open_mark:
        out.append("</mark>")
    return Markup("".join(out))
