"""Idempotency-Keys for questions: a retry finds the first question by its key, whatever cookie
it comes with (after a restart with a random secret, the reader's cookie no longer verifies;
a first post may never have received one). Keys are scoped to the event, as clients make them
random (a UUID); what was asked is kept as a hash, so the same key with another question is
refused rather than silently answered with the first one."""

from __future__ import annotations

import hashlib
import json

from panel.domain import Question, RuleError

MISMATCH = (
    "This Idempotency-Key was already used for a different question; "
    "use a new key for a new question."
)


def key_hash(key: str) -> str:
    """What is stored of the key: its SHA-256 (the lookup needs nothing more)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def request_hash(body: str, name: str, directed_to: int | None) -> str:
    """The SHA-256 of what was asked, after trimming and normalisation, so that a retry of
    the same question matches even if a client re-encodes it."""
    asked = json.dumps([body, name, directed_to], ensure_ascii=False)
    return hashlib.sha256(asked.encode("utf-8")).hexdigest()


def replayed(found: tuple[Question, str | None], asked: str) -> Question:
    """The question stored under the key, if it is the same question; else the 422."""
    question, stored = found
    if stored is not None and stored != asked:
        raise RuleError("idempotency_mismatch", MISMATCH)
    return question
