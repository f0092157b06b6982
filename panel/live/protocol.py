"""The wire format of the live stream, in one place (its JS mirror is static/js/live.js)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from panel.domain import Frame, iso

# Public frame types (readers may receive these).
EVENT_STATUS = "event.status"
SLOT_STARTED = "slot.started"
SLOT_ENDED = "slot.ended"
QUESTION_PUBLISHED = "question.published"
QUESTION_UPDATED = "question.updated"
QUESTION_WITHDRAWN = "question.withdrawn"
ANSWER_PUBLISHED = "answer.published"
ANSWER_UPDATED = "answer.updated"
ANSWER_WITHDRAWN = "answer.withdrawn"
PRESENCE = "presence"
STREAM_RESET = "stream.reset"
ERROR = "error"
PONG = "pong"
# Public frames without a seq (panel/openness.py): an event's question counts, and "something
# changed for the asker of question N" (the id only; the asker's page fetches the rest).
COUNTS = "counts"
ASKER_NOTICE = "asker.notice"
# Staff-only notice: something in the event's queue changed; carries ids, never text.
QUEUE_CHANGED = "queue.changed"

# Close codes.
CLOSE_GOING_AWAY = 1001  # the server is shutting down; reconnect (to another process) by since
CLOSE_INVALID_DATA = 1007  # a text frame that is not UTF-8
CLOSE_POLICY = 1008  # unknown event, bad `since`, failed authentication or Origin check
CLOSE_TOO_BIG = 1009  # a client frame over the size limit
CLOSE_TRY_AGAIN = 1013  # the reader could not keep up; resume with ?since=<last seq>

CATCH_UP_BATCH = 200  # frames per message while catching up


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def frame_dict(frame: Frame) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": frame.seq,
        "type": frame.type,
        "at": iso(frame.at),
        "data": frame.data,
    }
    if frame.seq is None:
        del out["seq"]
    return out


def encode(frame: Frame) -> str:
    """Serialise a frame once; the same text goes to every socket."""
    return _dumps(frame_dict(frame))


def encode_batch(texts: Sequence[str]) -> str:
    """Several already-encoded frames as one message (a JSON array in seq order)."""
    return texts[0] if len(texts) == 1 else "[" + ",".join(texts) + "]"


def catch_up_messages(texts: Sequence[str]) -> Iterator[str]:
    """Already-encoded frames as catch-up messages of at most CATCH_UP_BATCH frames each."""
    for start in range(0, len(texts), CATCH_UP_BATCH):
        yield encode_batch(texts[start : start + CATCH_UP_BATCH])


def unlogged(type_: str, data: dict[str, Any], at: datetime) -> str:
    return _dumps({"type": type_, "at": iso(at), "data": data})


def is_unlogged(text: str, type_: str) -> bool:
    """Whether `text`, encoded by `unlogged`, is a frame of `type_` (its first key)."""
    return text.startswith(f'{{"type":"{type_}",')


def stream_reset(last_seq: int, at: datetime) -> str:
    return unlogged(STREAM_RESET, {"last_seq": last_seq}, at)


def error(code: str, message: str, at: datetime) -> str:
    return unlogged(ERROR, {"code": code, "message": message}, at)
