"""The rendered public Q&A list of an event page, kept per event and version.

The list is the same for every reader at one version of the event: its public state changes
exactly when the event's log seq (`events.last_seq`) does, and the rest of what the list
shows (panelists' names and roles, the event's time zone) is in the key. The per-page CSRF
token of the upvote forms is not stored: the list is rendered with a random placeholder
and split there, and each page joins the parts with its own token (an empty one for a reader
without a session, whose public page a CDN may keep and serve to anyone).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class RenderedList:
    """The Q&A list's HTML, cut where the page's CSRF token goes."""

    parts: tuple[str, ...]
    count: int

    def html(self, token: str) -> Markup:
        return Markup(str(escape(token)).join(self.parts))


class PageCache:
    """The newest rendered list of the most recently viewed events, at most `size` lists.

    An event may have one list per `variant` (its order: "top" or "newest")."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        # A fresh placeholder per cache: readers' text can neither guess nor contain it.
        self.placeholder = f"csrf-{secrets.token_hex(16)}"
        self._lists: OrderedDict[tuple[int, str], tuple[int, Hashable, RenderedList]] = (
            OrderedDict()
        )

    def get(self, event_id: int, key: Hashable, variant: str = "") -> RenderedList | None:
        found = self._lists.get((event_id, variant))
        if found is None or found[1] != key:
            return None
        self._lists.move_to_end((event_id, variant))
        return found[2]

    def put(
        self, event_id: int, seq: int, key: Hashable, html: str, count: int, variant: str = ""
    ) -> RenderedList:
        """Keep the list unless a newer seq of the event is already kept; returns it either way."""
        rendered = RenderedList(tuple(html.split(self.placeholder)), count)
        kept = self._lists.get((event_id, variant))
        if kept is None or kept[0] <= seq:
            self._lists[(event_id, variant)] = (seq, key, rendered)
            self._lists.move_to_end((event_id, variant))
            while len(self._lists) > self.size:
                self._lists.popitem(last=False)
        return rendered

    def forget(self, event_id: int) -> None:
        for kept in [k for k in self._lists if k[0] == event_id]:
            del self._lists[kept]

    def clear(self) -> None:
        self._lists.clear()
