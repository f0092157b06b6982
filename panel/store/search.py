"""Full-text search of the archive: the one place with dialect-specific search SQL.

Everything else about the archive (archive_items, archive_item_people) is portable SQL in
archive.py. SQLite answers with FTS5 (bm25 ranking, highlight() and snippet()); PostgreSQL
with the tsvector column `archive_items.search` (ts_rank, and ts_headline with the same start
and stop markers). Each has its own builder of a safe query from the reader's words, and
`search_sql` picks the pair by the dialect the store declares.

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
    e.status = 'published'
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


def _terms(text: str) -> list[str]:
    """The reader's words: at most MAX_TERMS, each cut to MAX_TERM_CHARS."""
    return [t[:MAX_TERM_CHARS] for t in _WORD.findall(text)][:MAX_TERMS]


# -- SQLite (FTS5) ----------------------------------------------------------------------
def match_query(text: str) -> str:
    """Reader input as a safe FTS5 query: each word quoted (no operators), all required."""
    return " ".join(f'"{t}"' for t in _terms(text))


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
WHERE archive_fts MATCH :query AND {_FILTERS}
ORDER BY score, e.starts_at DESC, i.position
LIMIT :limit OFFSET :offset
""",
    count=f"""
SELECT COUNT(*) AS n
FROM archive_fts
JOIN archive_items i ON i.id = archive_fts.rowid
JOIN events e ON e.id = i.event_id
JOIN transcripts t ON t.event_id = i.event_id
WHERE archive_fts MATCH :query AND {_FILTERS}
""",
    query=match_query,
)


# -- PostgreSQL (tsvector) ------------------------------------------------------------------
def words_query(text: str) -> str:
    """Reader input as the words plainto_tsquery takes: punctuation and operators dropped,
    every word required, as in the FTS5 query."""
    return " ".join(_terms(text))


# ts_rank's weights in the order D, C, B, A: answers (D), names (B) and the question (A)
# count 1 : 2 : 4, as the bm25 weights above.
_PG_WEIGHTS = f"'{{{ANSWERS_WEIGHT / 4}, 0, {PEOPLE_WEIGHT / 4}, {QUESTION_WEIGHT / 4}}}'"
# ts_headline's options: the markers are our constants (private-use characters), never input.
_PG_WHOLE = f"'StartSel={MARK_START}, StopSel={MARK_STOP}, HighlightAll=true'"
# MinWords is also what an answer without a match shows, from its start, as snippet() does.
_PG_SNIPPET = (
    f"'StartSel={MARK_START}, StopSel={MARK_STOP},"
    f" MaxWords={SNIPPET_TOKENS}, MinWords={SNIPPET_TOKENS - 8}'"
)
_PG_FROM = """
FROM archive_items i
CROSS JOIN plainto_tsquery('english', :query) AS q (query)
JOIN events e ON e.id = i.event_id
JOIN transcripts t ON t.event_id = i.event_id
WHERE i.search @@ q.query AND"""

POSTGRESQL = SearchSQL(
    hits=f"""
SELECT i.id AS item_id, i.event_id, i.question_id, i.position,
       e.slug, e.title, e.starts_at, e.timezone,
       ts_headline('english', i.question, q.query, {_PG_WHOLE}) AS question_marked,
       ts_headline('english', i.answers, q.query, {_PG_SNIPPET}) AS answers_marked,
       ts_rank({_PG_WEIGHTS}, i.search, q.query) AS score
{_PG_FROM} {_FILTERS}
ORDER BY score DESC, e.starts_at DESC, i.position
LIMIT :limit OFFSET :offset
""",
    count=f"""
SELECT COUNT(*) AS n
{_PG_FROM} {_FILTERS}
""",
    query=words_query,
)


DIALECTS = {"sqlite": SQLITE, "postgresql": POSTGRESQL}


def search_sql(dialect: str) -> SearchSQL:
    """The search statements of the store's declared dialect."""
    try:
        return DIALECTS[dialect]
    except KeyError:
        raise NotImplementedError(f"archive search is not written for {dialect} yet") from None


def marker_params() -> dict[str, str]:
    return {"mark_start": MARK_START, "mark_stop": MARK_STOP, "ellipsis": ELLIPSIS}


def indexable(text: str) -> str:
    """Text as it goes into the index: without the characters reserved for markers."""
    return _MARKERS.sub("", text)
