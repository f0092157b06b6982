"""Forgetting a reader on request (`livepanel forget-reader QUESTION_ID`).

The reader points the editors to one of their questions; every question, upvote and report
of the same reader (the reader id in their cookie) is then cut loose from that id, and the
display names they gave are erased wherever they were kept: the question rows, the public
log's frames, published transcripts and digest letters in the mail outbox. Kept, and why
(docs/security.md):
- the question text, which panelists answered and the transcript quotes (an editor can
  edit or reject it through moderation);
- upvote and report rows, each under a pseudonym of its own, so counts stay true;
- a ban, so that asking to be forgotten does not lift it (it holds only the cookie id).
One transaction; the audit entry records counts, never what was erased."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from panel.clock import Clock
from panel.digest import unname_letter
from panel.domain import Actor, RuleError
from panel.live import protocol as p
from panel.questions import publish_question
from panel.store import Store
from panel.writes import Tx, Writer

PSEUDONYM_PREFIX = "forgotten:"


def pseudonym() -> str:
    """A reader id no cookie holds: ties a kept row to nobody, not even to its siblings."""
    return PSEUDONYM_PREFIX + secrets.token_hex(12)


@dataclass(frozen=True)
class Forgotten:
    """What an erasure changed, as counts (all the audit log keeps of it)."""

    questions: int
    names: int
    upvotes: int
    reports: int
    frames: int
    transcripts: int
    mails: int


class Forgetting:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.write = Writer(store, clock)

    async def forget_reader(self, question_id: int, actor: Actor) -> Forgotten:
        """Erase the identifying data of whoever asked `question_id`, in every event."""

        async def job(tx: Tx) -> Forgotten:
            asked = await tx.question(question_id)
            if asked.reader_id.startswith(PSEUDONYM_PREFIX):
                raise RuleError("conflict", "The reader of that question was forgotten already.")
            rows = await tx.repo.questions_of_reader(asked.reader_id)
            named = {int(r["id"]): (str(r["display_name"]), str(r["body"])) for r in rows}
            named = {qid: nb for qid, nb in named.items() if nb[0]}
            for row in rows:
                await tx.repo.unlink_question(int(row["id"]), pseudonym())
            kept = {
                table: await _rekey(tx, table, asked.reader_id) for table in ("upvotes", "reports")
            }
            events = sorted({int(r["event_id"]) for r in rows})
            frames = await _unname_frames(tx, events, set(named))
            transcripts = await _unname_transcripts(tx, events, named)
            mails = await _unname_mail(tx, events, named)
            # Pages open now drop the name too: the public questions' views, once more.
            for row in rows:
                question = await tx.question(int(row["id"]))
                if question.id in named and question.status == "approved":
                    await publish_question(tx, question.id, p.QUESTION_UPDATED)
            done = Forgotten(
                len(rows),
                len(named),
                kept["upvotes"],
                kept["reports"],
                frames,
                transcripts,
                mails,
            )
            await tx.audit(
                "reader.forget",
                f"question:{question_id}",
                event_id=asked.event_id,
                before={},
                after=asdict(done),
            )
            return done

        return await self.write(actor, job)


async def _rekey(tx: Tx, table: str, reader_id: str) -> int:
    rows = await tx.repo.reader_rows(table, reader_id)
    for row in rows:
        await tx.repo.rekey_reader_row(table, int(row["key"]), reader_id, pseudonym())
    return len(rows)


async def _unname_frames(tx: Tx, events: list[int], question_ids: set[int]) -> int:
    """Logged frames (replayed to every reader who catches up) lose the asker's name, and
    the events whose log changed say so, for the frames each server keeps in memory."""
    changed: Counter[int] = Counter()
    if not question_ids:
        return 0
    for row in await tx.repo.question_frames(events):
        data = json.loads(row["payload"])
        view = data.get("question")
        if isinstance(view, dict) and view.get("id") in question_ids and view.get("name"):
            view["name"] = ""
            await tx.repo.rewrite_frame(int(row["event_id"]), int(row["seq"]), data)
            changed[int(row["event_id"])] += 1
    if changed:
        await tx.repo.count_log_rewrite(sorted(changed))
    return changed.total()


async def _unname_transcripts(tx: Tx, events: list[int], named: dict[int, tuple[str, str]]) -> int:
    """Published transcripts lose the name on the reader's items and on the "also asked"
    credits of their merged duplicates (matched by name and text: the credit has no id)."""
    changed = 0
    credits = set(named.values())
    for row in await tx.repo.published_documents(events):
        document = json.loads(row["published_json"])
        if _unname_document(document, set(named), credits):
            await tx.repo.rewrite_document(int(row["event_id"]), document)
            changed += 1
    return changed


async def _unname_mail(tx: Tx, events: list[int], named: dict[int, tuple[str, str]]) -> int:
    """Digest letters kept in the outbox (queued or as the desk's record of what was sent)
    show the reader's questions as asked by Anonymous."""
    changed = 0
    if not named or not events:
        return changed
    for row in await tx.repo.mail_of_events(events):
        text, html = str(row["text_body"]), str(row["html_body"])
        for name, body in named.values():
            text, html = unname_letter(text, html, name, body)
        if (text, html) != (row["text_body"], row["html_body"]):
            await tx.repo.rewrite_mail(int(row["id"]), text, html)
            changed += 1
    return changed


def _unname_document(
    document: dict[str, Any], question_ids: set[int], credits: set[tuple[str, str]]
) -> bool:
    changed = False
    for section in document.get("sections", []):
        for item in section.get("items", []):
            if item.get("id") in question_ids and item.get("name"):
                item["name"] = ""
                changed = True
            for credit in item.get("also_asked", []):
                if (credit.get("name"), credit.get("body")) in credits:
                    credit["name"] = ""
                    changed = True
    return changed
