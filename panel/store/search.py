"""Full-text search of the archive: the one place with dialect-specific search SQL.

Everything else about the archive (archive_items, archive_item_people) is portable SQL in
archive.py. SQLite answers with FTS5 (bm25 ranking, highlight() and snippet()); a PostgreSQL
backend supplies its own `SearchSQL` (a tsvector column on archive_items, ts_rank and
ts_headline with the same start and stop markers, and its own query builder) and
`search_sql` picks it by the dialect the store declares.

Highlighting is made safe in two steps: the database wraps matches in private-use
characters that can never come from user text (they are stripped before indexing), then
`render.marked_html`, outside the store, escapes the whole snippet and only afterwards turns
the markers into <mark>.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from panel.domain import MARK_START, MARK_STOP

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
    """What one dialect needs: `query` turns reader input into that dialect's search query;
    both statements take it as :query, with :person; hits also :limit and :offset."""

    hits: str
    count: str
    query: Callable[[str], str]


# -- SQLite (FTS5) ----------------------------------------------------------------------
def match_query(text: str) -> str:
    """Reader input as a safe FTS5 query: each word quoted (no operators), all required."""
    terms = [t[:MAX_TERM_CHARS] for t in _WORD.findall(text)][:MAX_TERMS]
    return " ".join(f'"{t}"' for t in terms)


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
    query=match_query,
)


DIALECTS = {"sqlite": SQLITE}


def search_sql(dialect: str) -> SearchSQL:
    """The search statements of the store's declared dialect (only SQLite so far)."""
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise NotImplementedError(f"archive search is not written for {dialect} yet") from None


def marker_params() -> dict[str, str]:
    return {"mark_start": MARK_START, "mark_stop": MARK_STOP, "ellipsis": ELLIPSIS}


def indexable(text: str) -> str:
    """Text as it goes into the index: without the characters reserved for markers."""
    return _MARKERS.sub("", text)
