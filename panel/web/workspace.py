"""The moderation desk as a workspace: its three columns, text search and status filter.

Everything here is read from the GET query string, so a filtered desk works without
JavaScript, survives a reload, and the live refresh (which re-sends location.search) keeps it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from panel.domain import Question

# The columns, in reading order (and in the order they stack on a phone).
COLUMNS = {"pending": "Incoming", "published": "Published", "answered": "Answered"}
STATUSES = {"all": "All columns", **COLUMNS}
MAX_SEARCH = 200


@dataclass(frozen=True)
class Filters:
    """What the editor asked to see: words to find, and which column(s)."""

    search: str
    status: str

    def shows(self, column: str) -> bool:
        return self.status in ("all", column)

    def keeps(self, question: Question) -> bool:
        """Case-insensitive: the search text in the question or in the asker's name."""
        if not self.search:
            return True
        needle = self.search.casefold()
        return needle in question.body.casefold() or needle in question.display_name.casefold()


def filters(request: Request) -> Filters:
    status = request.query_params.get("status", "all")
    return Filters(
        search=" ".join(request.query_params.get("q", "").split())[:MAX_SEARCH],
        status=status if status in STATUSES else "all",
    )


def columns(
    wanted: Filters, pending: list[Question], published: list[Question]
) -> dict[str, list[Question]]:
    """The questions of each shown column, filtered; a column the status filter hides is absent."""
    split = {
        "pending": pending,
        "published": [q for q in published if not q.answered],
        "answered": [q for q in published if q.answered],
    }
    return {
        name: [q for q in questions if wanted.keeps(q)]
        for name, questions in split.items()
        if wanted.shows(name)
    }
