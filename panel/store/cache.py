"""`WriterCache`: what nearly every write job reads about its event, kept by the one writer.

A reader's question reads its event, the panel and the event's bans before its one INSERT.
These change rarely (an editor's action), so the SQLite writer keeps them between jobs, and
only the writer: the cache lives on the writer's connection and is read and changed on the
writer's thread alone, inside its write transactions. It stays right because:

- every statement the writer runs that may change a cached table forgets what it may have
  changed, before it runs (`wrote`; `UPDATE events` forgets the events, anything else that
  names a cached table forgets everything, as foreign keys cascade);
- a job that fails after such a statement is rolled back, and so is the cache (`clear`), as
  what was read after the change is now wrong; a group whose COMMIT fails clears it too;
- a commit by any other connection (another process on the same file, such as a
  `livepanel` command) is seen at the start of the next group through SQLite's
  `PRAGMA data_version`, and clears it.

Nothing is cached on read connections, and a missing row is never cached. A backend shared
by several processes without such a signal (PostgreSQL) must not use this cache across
transactions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# The tables whose rows are cached (events, the panel, bans), and those whose changes cascade
# into them (deleting a slot deletes its assignments).
CACHED_TABLES = ("events", "slots", "panelists", "assignments", "reader_bans")
_NAMES = re.compile(r"\b(" + "|".join(CACHED_TABLES) + r")\b", re.IGNORECASE)
_READS = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")
MISSING = object()


@lru_cache(maxsize=1024)
def _forgets(sql: str) -> str:
    """What a statement makes stale: "" nothing, "events" the events, "all" everything."""
    words = sql.lstrip().split(None, 1)
    if not words or words[0].upper() in _READS:
        return ""
    tables = {name.lower() for name in _NAMES.findall(sql)}
    if not tables:
        return ""
    if tables == {"events"} and words[0].upper() == "UPDATE":
        return "events"  # an UPDATE of events rows cascades nowhere
    return "all"


class WriterCache:
    """Values by kind and key: "event" id → Event, "slug" slug → id, "lineup" id → Lineup,
    "bans" id → the banned readers."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[Any, Any]] = {}
        # Counts forgetting: a job that saw it move and then failed must clear the cache.
        self.generation = 0

    def get(self, kind: str, key: Any) -> Any:
        values = self._kinds.get(kind)
        return MISSING if values is None else values.get(key, MISSING)

    def put(self, kind: str, key: Any, value: Any) -> None:
        if value is not None:
            self._kinds.setdefault(kind, {})[key] = value

    def wrote(self, sql: str) -> None:
        """Forget what `sql` may change; called before the writer runs any statement."""
        scope = _forgets(sql)
        if scope == "events":
            self.generation += 1
            self._kinds.pop("event", None)
            self._kinds.pop("slug", None)
        elif scope:
            self.clear()

    def clear(self) -> None:
        self.generation += 1
        self._kinds.clear()

    def __len__(self) -> int:
        return sum(len(values) for values in self._kinds.values())
