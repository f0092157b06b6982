"""The store on a real SQLite file, and the tests marked BOTH_STORES also on a PostgreSQL
schema: round-trips, migrations, the gapless log, group commit (SQLite)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from panel.domain import EventStatus, Frame, QuestionStatus, RuleError
from panel.security import token_hash
from panel.store import Repo, Store, StoreError, store_for_url
from panel.store.migrations import load_migrations
from tests.conftest import EVENT_START, wait_for
from tests.pgdb import BOTH_STORES

NOW = datetime(2026, 9, 1, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Store]:
    """A second, independent store on the same database (as another process would open it)."""
    store = store_for_url(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def new_event(store: Store, slug: str = "ev", **extra: object) -> int:
    fields: dict[str, object] = {
        "slug": slug,
        "title": "Working and training as a probation officer",
        "starts_at": EVENT_START,
        "ends_at": EVENT_START + 3 * HOUR,
        "timezone": "Europe/London",
        "now": NOW,
        **extra,
    }
    return await store.write(lambda repo: repo.insert_event(**fields))


async def append(
    store: Store, event_id: int, type_: str = "test.frame", fail: bool = False
) -> Frame:
    """One write job that appends one frame (and then fails, if asked)."""

    async def job(repo: Repo) -> Frame:
        frame = await repo.append_frame(event_id, type_, {"n": 1}, NOW)
        if fail:
            raise RuntimeError("job failed after appending")
        return frame

    return await store.write(job)


def refusal(store: Store, unique: bool = True) -> type[Exception]:
    """What a store raises for a row its schema refuses. PostgreSQL reports a taken unique
    key as the same 409 refusal (RuleError) an action's own check gives."""
    if store.dialect == "sqlite":
        return sqlite3.IntegrityError
    import asyncpg

    return RuleError if unique else asyncpg.IntegrityConstraintViolationError


async def log_seqs(store: Store, event_id: int) -> list[int]:
    async with store.read() as repo:
        return [
            f.seq for f in await repo.frames_since(event_id, 0, limit=100_000) if f.seq is not None
        ]


async def versions(store: Store) -> list[int]:
    async with store.read() as repo:
        rows = await repo.conn.fetchall("SELECT version FROM schema_migrations ORDER BY version")
    return [r["version"] for r in rows]


# -- round trips -----------------------------------------------------------------------------


@BOTH_STORES
async def test_event_round_trip(store: Store, settings) -> None:  # noqa: ANN001
    """Every field of an event comes back as written, times as aware UTC instants."""
    related = [{"title": "Diary", "url": "https://example.org/d", "summary": "One line."}]
    event_id = await new_event(
        store,
        "round",
        summary="Sum",
        intro_md="**Intro**",
        related=related,
        moderation="post",
        status="scheduled",
    )
    async with store.read() as repo:
        by_slug = await repo.event_by_slug("round")
        by_id = await repo.event_by_id(event_id)
        assert await repo.event_by_slug("missing") is None
    assert by_slug == by_id
    assert by_slug is not None
    assert (by_slug.slug, by_slug.title, by_slug.summary, by_slug.intro_md) == (
        "round",
        "Working and training as a probation officer",
        "Sum",
        "**Intro**",
    )
    assert list(by_slug.related) == related
    assert by_slug.starts_at == EVENT_START and by_slug.starts_at.tzinfo is not None
    assert by_slug.ends_at - by_slug.starts_at == 3 * HOUR
    assert by_slug.timezone == "Europe/London"
    assert by_slug.moderation == "post" and by_slug.status == EventStatus.SCHEDULED
    assert by_slug.last_seq == 0

    # The same data from a second connection after the first store has been closed.
    await store.close()
    async with opened(settings.db_url) as again, again.read() as repo:
        assert await repo.event_by_id(event_id) == by_id


@BOTH_STORES
async def test_list_events_filters_by_status_and_orders_by_start(store: Store) -> None:
    """list_events returns events by start time and honours the status filter."""
    late = await new_event(
        store,
        "late",
        starts_at=EVENT_START + 24 * HOUR,
        ends_at=EVENT_START + 25 * HOUR,
        status="live",
    )
    early = await new_event(store, "early", status="scheduled")
    await store.write(lambda repo: repo.set_event_status(early, "closed", NOW))
    async with store.read() as repo:
        assert [e.id for e in await repo.list_events()] == [early, late]
        assert [e.id for e in await repo.list_events([EventStatus.LIVE])] == [late]
        assert [e.status for e in await repo.list_events([EventStatus.CLOSED])] == ["closed"]


@BOTH_STORES
async def test_duplicate_slug_is_refused_by_the_database(store: Store) -> None:
    """Slugs are unique; the failed insert leaves one event."""
    await new_event(store, "same")
    with pytest.raises(refusal(store)):
        await new_event(store, "same")
    async with store.read() as repo:
        assert len(await repo.list_events()) == 1


@BOTH_STORES
async def test_slots_panelists_and_lineup_round_trip(store: Store) -> None:
    """Slots come back in time order with state; the lineup splits core and slot panelists."""
    event_id = await new_event(store)

    async def build(repo: Repo) -> tuple[list[int], list[int]]:
        # Inserted out of order, to prove the read orders by time.
        later = await repo.insert_slot(
            event_id, "Second", EVENT_START + HOUR, EVENT_START + 2 * HOUR, 1
        )
        first = await repo.insert_slot(event_id, "First", EVENT_START, EVENT_START + HOUR, 0)
        people = [
            await repo.insert_panelist(name, "Officer", f"Bio of {name}", NOW, photo)
            for name, photo in (
                ("Maria", "/uploads/m.jpg"),
                ("Jenna", None),
                ("Sandra", None),
                ("Kerry", None),
            )
        ]
        await repo.assign(event_id, people[0], None, 1)
        await repo.assign(event_id, people[1], None, 2)
        await repo.assign(event_id, people[2], first, 3)
        await repo.assign(event_id, people[3], later, 4)
        await repo.set_slot_state(first, "started")
        return [first, later], people

    (first, later), people = await store.write(build)
    async with store.read() as repo:
        slots = await repo.slots(event_id)
        lineup = await repo.lineup(event_id)
        maria = await repo.panelist(people[0])
    assert [(s.id, s.label, s.state) for s in slots] == [
        (first, "First", "started"),
        (later, "Second", "pending"),
    ]
    assert slots[0].starts_at == EVENT_START and slots[1].ends_at == EVENT_START + 2 * HOUR
    assert [p.name for p in lineup.core] == ["Maria", "Jenna"]
    assert {k: [p.name for p in v] for k, v in lineup.by_slot.items()} == {
        first: ["Sandra"],
        later: ["Kerry"],
    }
    assert maria is not None
    assert (maria.name, maria.role, maria.bio, maria.photo) == (
        "Maria",
        "Officer",
        "Bio of Maria",
        "/uploads/m.jpg",
    )
    assert [p.name for p in lineup.everyone()] == ["Maria", "Jenna", "Sandra", "Kerry"]


@BOTH_STORES
async def test_slot_must_end_after_it_starts(store: Store) -> None:
    """The schema refuses a slot that ends before it starts."""
    event_id = await new_event(store)
    with pytest.raises(refusal(store, unique=False)):
        await store.write(
            lambda repo: repo.insert_slot(event_id, "Backwards", EVENT_START + HOUR, EVENT_START)
        )


@BOTH_STORES
async def test_questions_answers_and_client_key_round_trip(store: Store) -> None:
    """Questions and answers come back with every field; a client key finds its question."""
    event_id = await new_event(store)

    async def build(repo: Repo) -> tuple[int, int, int, int]:
        pid = await repo.insert_panelist("Maria", "Trainer", "", NOW)
        await repo.assign(event_id, pid, None)
        q1 = await repo.insert_question(
            event_id=event_id,
            body="Do I need a degree?",
            display_name="Sam",
            reader_id="reader-1",
            client_key="key-1",
            status="pending",
            directed_to=pid,
            now=NOW,
        )
        q2 = await repo.insert_question(
            event_id=event_id,
            body="Pay?",
            display_name="",
            reader_id="reader-2",
            client_key=None,
            status="approved",
            directed_to=None,
            now=NOW + HOUR,
        )
        await repo.update_question(q1, NOW + 2 * HOUR, status="approved", pinned=1, answered=1)
        answer = await repo.insert_answer(
            q1, "No: *train on the job*.", "<p>No.</p>", pid, None, NOW + HOUR
        )
        return pid, q1, q2, answer

    pid, q1, q2, answer_id = await store.write(build)
    later = NOW + 3 * HOUR
    await store.write(lambda repo: repo.update_answer(answer_id, later, body_md="Edited."))
    async with store.read() as repo:
        question = await repo.question(q1)
        by_key = await repo.question_by_key(event_id, "no such hash", "reader-1", "key-1")
        other_reader = await repo.question_by_key(event_id, "no such hash", "reader-2", "key-1")
        approved = await repo.questions(event_id, [QuestionStatus.APPROVED])
        pending = await repo.questions(event_id, [QuestionStatus.PENDING])
        mine = await repo.reader_questions(event_id, "reader-2")
        answer = await repo.answer(answer_id)
        answers = await repo.answers_for_event(event_id)
    assert question is not None and by_key == (question, None) and other_reader is None
    assert (question.body, question.display_name, question.reader_id) == (
        "Do I need a degree?",
        "Sam",
        "reader-1",
    )
    assert question.status == QuestionStatus.APPROVED
    assert (question.directed_to, question.pinned, question.answered) == (pid, True, True)
    assert question.created_at == NOW
    assert [q.id for q in approved] == [q1, q2] and pending == []
    assert [q.id for q in mine] == [q2]
    assert answer is not None and answers == [answer]
    assert (answer.question_id, answer.panelist_id, answer.editor_id) == (q1, pid, None)
    assert answer.body_md == "Edited."
    assert (answer.created_at, answer.updated_at) == (NOW + HOUR, later)


@BOTH_STORES
async def test_same_client_key_from_same_reader_is_refused(store: Store) -> None:
    """The unique index backs idempotent posting: one question per (reader, key)."""
    event_id = await new_event(store)

    def insert(reader: str) -> object:
        return lambda repo: repo.insert_question(
            event_id=event_id,
            body="Hello?",
            display_name="",
            reader_id=reader,
            client_key="k",
            status="pending",
            directed_to=None,
            now=NOW,
        )

    await store.write(insert("r1"))
    with pytest.raises(RuleError) as refused:  # ON CONFLICT DO NOTHING: no row, refused
        await store.write(insert("r1"))
    assert refused.value.code == "conflict"
    await store.write(insert("r2"))  # another reader may use the same key
    async with store.read() as repo:
        assert len(await repo.questions(event_id, list(QuestionStatus))) == 2


@BOTH_STORES
async def test_upvotes_count_once_per_reader(store: Store) -> None:
    """A reader's second upvote is ignored; another reader's counts."""
    event_id = await new_event(store)
    qid = await store.write(
        lambda repo: repo.insert_question(
            event_id=event_id,
            body="Q",
            display_name="",
            reader_id="asker",
            client_key=None,
            status="approved",
            directed_to=None,
            now=NOW,
        )
    )
    results = [
        await store.write(lambda repo, r=reader: repo.add_upvote(qid, r, NOW))
        for reader in ("a", "a", "b", "a", "b", "c")
    ]
    assert results == [True, False, True, False, False, True]
    async with store.read() as repo:
        question = await repo.question(qid)
    assert question is not None and question.upvotes == 3


@BOTH_STORES
async def test_concurrent_upvotes_from_one_reader_count_once(store: Store) -> None:
    """Fifty simultaneous upvotes from one reader still count one."""
    event_id = await new_event(store)
    qid = await store.write(
        lambda repo: repo.insert_question(
            event_id=event_id,
            body="Q",
            display_name="",
            reader_id="asker",
            client_key=None,
            status="approved",
            directed_to=None,
            now=NOW,
        )
    )
    results = await asyncio.gather(
        *[store.write(lambda repo: repo.add_upvote(qid, "same", NOW)) for _ in range(50)]
    )
    assert results.count(True) == 1
    async with store.read() as repo:
        question = await repo.question(qid)
    assert question is not None and question.upvotes == 1


async def ask(
    repo: Repo,
    event_id: int,
    body: str,
    status: str = "approved",
    at: datetime = NOW,
    to: int | None = None,
) -> int:
    """One question straight into the store (no rules applied)."""
    return await repo.insert_question(
        event_id=event_id,
        body=body,
        display_name="",
        reader_id=f"reader-{body}",
        client_key=None,
        status=status,
        directed_to=to,
        now=at,
    )


@BOTH_STORES
async def test_published_questions_leave_out_merged_and_unpublished(store: Store) -> None:
    """Readers get approved, unmerged questions, pinned first and then the newest (ties by
    id); merged ones come apart, oldest first; other statuses and events stay out."""
    event_id = await new_event(store)
    other_event = await new_event(store, "other")

    async def build(repo: Repo) -> dict[str, int]:
        ids = {
            "old": await ask(repo, event_id, "old", at=NOW),
            "pinned": await ask(repo, event_id, "pinned", at=NOW - HOUR),
            "new": await ask(repo, event_id, "new", at=NOW + HOUR),
            "twin": await ask(repo, event_id, "twin", at=NOW + HOUR),  # same instant as new
            "merged": await ask(repo, event_id, "merged", at=NOW + 2 * HOUR),
            "pending": await ask(repo, event_id, "pending", "pending"),
            "rejected": await ask(repo, event_id, "rejected", "rejected"),
            "withdrawn": await ask(repo, event_id, "withdrawn", "withdrawn"),
            "elsewhere": await ask(repo, other_event, "elsewhere"),
        }
        await repo.update_question(ids["pinned"], NOW, pinned=1)
        await repo.update_question(ids["merged"], NOW, merged_into=ids["old"])
        return ids

    ids = await store.write(build)
    async with store.read() as repo:
        published = [q.id for q in await repo.published_questions(event_id)]
        merged = await repo.merged_questions(event_id)
        pending = [q.id for q in await repo.pending_questions(event_id)]
        gone = [q.id for q in await repo.questions(event_id, ["withdrawn", "rejected"])]
        approved = [q.id for q in await repo.questions(event_id, [QuestionStatus.APPROVED])]
        assert await repo.questions(event_id, []) == []
    assert published == [ids["pinned"], ids["twin"], ids["new"], ids["old"]]
    assert [(q.id, q.merged_into) for q in merged] == [(ids["merged"], ids["old"])]
    assert pending == [ids["pending"]]
    assert gone == [ids["rejected"], ids["withdrawn"]]  # oldest first, then by id
    assert approved == [ids["pinned"], ids["old"], ids["new"], ids["twin"], ids["merged"]]


@BOTH_STORES
async def test_questions_filter_by_the_panelist_they_are_put_to(store: Store) -> None:
    """`directed_to` keeps one panelist's questions; None keeps all; an unknown id none."""
    event_id = await new_event(store)

    async def build(repo: Repo) -> tuple[int, dict[str, int]]:
        maria = await repo.insert_panelist("Maria", "Trainer", "", NOW)
        jenna = await repo.insert_panelist("Jenna", "Officer", "", NOW)
        ids = {
            "to_maria": await ask(repo, event_id, "a", at=NOW, to=maria),
            "to_jenna": await ask(repo, event_id, "b", at=NOW + HOUR, to=jenna),
            "to_all": await ask(repo, event_id, "c", at=NOW + 2 * HOUR),
            "maria_waits": await ask(repo, event_id, "d", "pending", NOW, to=maria),
            "all_wait": await ask(repo, event_id, "e", "pending", NOW + HOUR),
            "merged": await ask(repo, event_id, "f", at=NOW + 3 * HOUR, to=maria),
        }
        await repo.update_question(ids["merged"], NOW, merged_into=ids["to_all"])
        return maria, ids

    maria, ids = await store.write(build)
    async with store.read() as repo:
        assert [q.id for q in await repo.published_questions(event_id, maria)] == [ids["to_maria"]]
        assert [q.id for q in await repo.pending_questions(event_id, maria)] == [ids["maria_waits"]]
        assert [q.id for q in await repo.published_questions(event_id)] == [
            ids["to_all"],
            ids["to_jenna"],
            ids["to_maria"],
        ]
        assert [q.id for q in await repo.pending_questions(event_id, None)] == [
            ids["maria_waits"],
            ids["all_wait"],
        ]
        assert await repo.published_questions(event_id, 0) == []
        assert await repo.pending_questions(event_id, 10**9) == []


@BOTH_STORES
async def test_answered_questions_are_those_a_transcript_can_hold(store: Store) -> None:
    """Approved, not merged, marked answered and with a published answer, oldest first."""
    event_id = await new_event(store)

    async def build(repo: Repo) -> dict[str, int]:
        ids = {
            "kept": await ask(repo, event_id, "kept", at=NOW + HOUR),
            "first": await ask(repo, event_id, "first", at=NOW),
            "by_hand": await ask(repo, event_id, "by hand"),  # marked answered, no answer
            "withdrawn_answer": await ask(repo, event_id, "withdrawn answer"),
            "not_marked": await ask(repo, event_id, "not marked"),
            "merged": await ask(repo, event_id, "merged"),
            "taken_down": await ask(repo, event_id, "taken down"),
        }
        for key, qid in ids.items():
            if key != "by_hand":
                answer = await repo.insert_answer(qid, f"Answer to {key}.", "", None, None, NOW)
                if key == "withdrawn_answer":
                    await repo.update_answer(answer, NOW, status="withdrawn")
            if key != "not_marked":
                await repo.update_question(qid, NOW, answered=1)
        await repo.update_question(ids["merged"], NOW, merged_into=ids["kept"])
        await repo.update_question(ids["taken_down"], NOW, status="withdrawn")
        return ids

    ids = await store.write(build)
    async with store.read() as repo:
        answered = [q.id for q in await repo.answered_questions(event_id)]
    assert answered == [ids["first"], ids["kept"]]


@BOTH_STORES
async def test_list_events_with_no_statuses_lists_none(store: Store) -> None:
    """An empty status list matches nothing (None means every status)."""
    await new_event(store)
    async with store.read() as repo:
        assert await repo.list_events([]) == []
        assert len(await repo.list_events(None)) == 1


@BOTH_STORES
async def test_store_declares_its_dialect_and_hands_it_to_every_repo(store: Store) -> None:
    """The backend says which SQL it speaks; reads, writes and search follow it."""
    dialect = "sqlite" if store.url.startswith("sqlite:") else "postgresql"
    assert store.dialect == dialect
    async with store.read() as repo:
        assert repo.dialect == dialect
        assert (
            repo.archive_query('probation" OR x')
            == {
                "sqlite": '"probation" "OR" "x"',
                "postgresql": "probation OR x",  # words for plainto_tsquery: no operators
            }[dialect]
        )
        assert await repo.count_archive_hits(repo.archive_query("probation")) == 0
        assert Repo(repo.conn).dialect == "sqlite"  # the default, for Repo(conn)
        elsewhere = Repo(repo.conn, "oracle")
        with pytest.raises(NotImplementedError, match="oracle"):
            elsewhere.archive_query("probation")
        with pytest.raises(NotImplementedError, match="oracle"):
            await elsewhere.search_archive('"probation"')

    async def dialect_of(repo: Repo) -> str:
        return repo.dialect

    assert await store.write(dialect_of) == dialect


@BOTH_STORES
async def test_invites_found_by_hash_until_revoked(store: Store) -> None:
    """An invite is looked up by the token's hash only; revoking hides it, once."""
    event_id = await new_event(store)
    token = "a-secret-token-value"

    async def build(repo: Repo) -> tuple[int, int]:
        pid = await repo.insert_panelist("Maria", "", "", NOW)
        await repo.assign(event_id, pid, None)
        return pid, await repo.insert_invite(event_id, pid, token_hash(token), NOW)

    pid, invite_id = await store.write(build)
    async with store.read() as repo:
        found = await repo.invite_by_hash(token_hash(token))
        assert await repo.invite_by_hash(token) is None  # the raw token is never stored
        assert await repo.invite_by_hash(token_hash("other")) is None
        listed = await repo.invites(event_id)
    assert found is not None
    assert (found["id"], found["event_id"], found["panelist_id"]) == (invite_id, event_id, pid)
    assert [(r["id"], r["panelist_name"]) for r in listed] == [(invite_id, "Maria")]

    await store.write(lambda repo: repo.touch_invite(invite_id, NOW + HOUR))
    assert await store.write(lambda repo: repo.revoke_invite(invite_id, NOW + HOUR)) == 1
    assert await store.write(lambda repo: repo.revoke_invite(invite_id, NOW + HOUR)) == 0
    async with store.read() as repo:
        assert await repo.invite_by_hash(token_hash(token)) is None
        row = await repo.invite(invite_id)
    assert row is not None and row["revoked_at"] and row["last_used_at"]


@BOTH_STORES
async def test_editors_round_trip_and_unique_username(store: Store) -> None:
    """Editors are found by name and id; a second editor with the same name is refused."""
    eid = await store.write(lambda repo: repo.insert_editor("alice", "$argon2id$x", "admin", NOW))
    with pytest.raises(refusal(store)):
        await store.write(lambda repo: repo.insert_editor("alice", "$argon2id$y", "editor", NOW))
    await store.write(lambda repo: repo.record_login(eid, 3, None))
    async with store.read() as repo:
        by_name = await repo.editor_by_username("alice")
        by_id = await repo.editor_by_id(eid)
        assert await repo.editor_by_username("bob") is None
    assert by_name == by_id and by_name is not None
    assert (by_name["password_hash"], by_name["role"], by_name["failed_logins"]) == (
        "$argon2id$x",
        "admin",
        3,
    )


@BOTH_STORES
async def test_audit_log_round_trip(store: Store) -> None:
    """Audit entries keep who, what, when and the before/after views."""
    event_id = await new_event(store)
    for i, action in enumerate(("question.approve", "question.pin")):
        await store.write(
            lambda repo, a=action, i=i: repo.audit(
                actor="editor:1:alice",
                action=a,
                event_id=event_id,
                target="question:7",
                before={"status": "pending"},
                after={"status": "approved", "i": i},
                now=NOW + i * HOUR,
            )
        )
    async with store.read() as repo:
        rows = sorted(await repo.audit_entries(event_id), key=lambda r: r["id"])
    assert [r["action"] for r in rows] == ["question.approve", "question.pin"]
    assert all(r["actor"] == "editor:1:alice" and r["target"] == "question:7" for r in rows)
    assert json.loads(rows[1]["before_json"]) == {"status": "pending"}
    assert json.loads(rows[1]["after_json"]) == {"status": "approved", "i": 1}
    assert rows[0]["at"] < rows[1]["at"]


@BOTH_STORES
async def test_transcript_saves_and_updates_in_place(store: Store) -> None:
    """A transcript is one row per event; saving again replaces it."""
    event_id = await new_event(store)
    items = [{"question_id": 3, "hidden": False}, {"question_id": 1, "hidden": True}]
    await store.write(lambda repo: repo.save_transcript(event_id, "Intro", "", items, None, NOW))
    async with store.read() as repo:
        first = await repo.transcript(event_id)
        assert await repo.transcript(event_id + 1) is None
    assert first is not None and first["published_at"] is None
    assert json.loads(first["items_json"]) == items
    await store.write(
        lambda repo: repo.save_transcript(
            event_id, "New intro", "Outro", items[:1], NOW + HOUR, NOW + HOUR
        )
    )
    async with store.read() as repo:
        second = await repo.transcript(event_id)
        count = await repo.conn.fetchall("SELECT COUNT(*) AS n FROM transcripts")
    assert second is not None and count[0]["n"] == 1
    assert (second["intro_md"], second["outro_md"]) == ("New intro", "Outro")
    assert json.loads(second["items_json"]) == items[:1] and second["published_at"]


# -- migrations --------------------------------------------------------------------------------


@BOTH_STORES
async def test_migrations_applied_once_then_nothing(store: Store, settings) -> None:  # noqa: ANN001
    """Opening applies every migration; migrating again, or reopening the file, applies none."""
    expected = [version for version, _ in load_migrations(store.dialect)]
    assert expected, "there must be at least one migration"
    assert await versions(store) == expected
    assert await store.migrate() == []
    assert await store.migrate() == []
    await new_event(store, "kept")
    await store.close()
    async with opened(settings.db_url) as again:
        assert await again.migrate() == []
        assert await versions(again) == expected
        async with again.read() as repo:
            assert await repo.event_by_slug("kept") is not None


async def test_two_stores_opening_a_fresh_file_at_once(tmp_path: Path) -> None:
    """Two processes starting together on a new file both succeed; migrations run once.

    Repeated on 20 fresh files: switching a new file to WAL races, and lost the race
    with "database is locked" about once in 40 tries before the store retried it.
    """
    expected = [version for version, _ in load_migrations("sqlite")]
    for attempt in range(20):
        url = f"sqlite:///{tmp_path}/fresh-{attempt}.db"
        first, second = store_for_url(url), store_for_url(url)
        try:
            await asyncio.wait_for(asyncio.gather(first.open(), second.open()), 30)
            assert await versions(first) == expected
            assert await versions(second) == expected
        finally:
            await first.close()
            await second.close()


async def test_database_that_is_not_sqlite_gives_one_clear_error(tmp_path: Path) -> None:
    """A file that is not a database is refused with a StoreError, not a raw sqlite error."""
    path = tmp_path / "notes.db"
    path.write_text("this is not a database\n" * 100)
    store = store_for_url(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="not a database"):
        await asyncio.wait_for(store.open(), 30)
    await store.close()


# -- the event log -----------------------------------------------------------------------------


@BOTH_STORES
async def test_seq_is_gapless_under_200_concurrent_appends(store: Store) -> None:
    """200 concurrent writes each append one frame: seqs are exactly 1..200, each once."""
    event_id = await new_event(store)
    frames = await asyncio.gather(*[append(store, event_id) for _ in range(200)])
    assert sorted(f.seq for f in frames) == list(range(1, 201))
    assert await log_seqs(store, event_id) == list(range(1, 201))
    async with store.read() as repo:
        assert await repo.last_seq(event_id) == 200
        event = await repo.event_by_id(event_id)
        assert event is not None and event.last_seq == 200


@BOTH_STORES
async def test_seq_is_gapless_when_some_appends_fail(store: Store) -> None:
    """Jobs that fail after appending give their seq back: no gap, no duplicate."""
    event_id = await new_event(store)
    outcomes = await asyncio.gather(
        *[append(store, event_id, fail=i % 3 == 1) for i in range(150)], return_exceptions=True
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    committed = [o for o in outcomes if isinstance(o, Frame)]
    assert len(failed) == 50 and all(isinstance(e, RuntimeError) for e in failed)
    assert sorted(f.seq for f in committed) == list(range(1, 101))
    assert await log_seqs(store, event_id) == list(range(1, 101))


@BOTH_STORES
async def test_seq_counts_per_event(store: Store) -> None:
    """Each event has its own counter, even when appends to several events interleave."""
    events = [await new_event(store, f"e{i}") for i in range(3)]
    await asyncio.gather(*[append(store, events[i % 3]) for i in range(90)])
    for event_id in events:
        assert await log_seqs(store, event_id) == list(range(1, 31))


@BOTH_STORES
async def test_frames_since_pages_and_keeps_payloads(store: Store) -> None:
    """frames_since returns the frames after a seq, in order, with type, payload and time."""
    event_id = await new_event(store)

    async def job(repo: Repo) -> None:
        for i in range(5):
            await repo.append_frame(event_id, f"t{i}", {"i": i, "text": "é<>"}, NOW + i * HOUR)

    await store.write(job)
    async with store.read() as repo:
        tail = await repo.frames_since(event_id, 2)
        page = await repo.frames_since(event_id, 0, limit=2)
        assert await repo.frames_since(event_id, 5) == []
    assert [(f.seq, f.type, f.data, f.at) for f in tail] == [
        (i + 1, f"t{i}", {"i": i, "text": "é<>"}, NOW + i * HOUR) for i in range(2, 5)
    ]
    assert [f.seq for f in page] == [1, 2]


# -- group commit --------------------------------------------------------------------------------


async def test_failing_job_rolls_back_alone_within_its_group(store: Store, settings) -> None:  # noqa: ANN001
    """In one commit group, a failing job's changes vanish and its neighbours' are kept."""
    event_id = await new_event(store)
    seen: dict[str, object] = {}
    # A job awaits nothing but its repo, so the reader's view is taken on a plain connection.
    other = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"), check_same_thread=False)

    def add(name: str, fail: Exception | None = None) -> object:
        async def job(repo: Repo) -> int:
            pid = await repo.insert_panelist(name, "", "", NOW)
            await repo.append_frame(event_id, f"added.{name}", {}, NOW)
            if name == "B":
                # Same uncommitted transaction as A: A is visible here but not to readers.
                rows = await repo.conn.fetchall("SELECT name FROM panelists ORDER BY id")
                seen["writer_sees"] = [r["name"] for r in rows]
                seen["reader_sees"] = [r[0] for r in other.execute("SELECT name FROM panelists")]
            if fail is not None:
                raise fail
            return pid

        return job

    # Hold the writer's thread in a job until all five are queued: they form the next group.
    holding, release = threading.Event(), threading.Event()

    async def hold(repo: Repo) -> None:
        holding.set()
        release.wait(10)  # blocks the writer's thread itself (a job awaits only its repo)

    holder = asyncio.create_task(store.write(hold))
    await wait_for(holding.is_set, message="the writer's thread held")
    writes = [
        store.write(add("A")),
        store.write(add("B", ValueError("B refused"))),
        store.write(add("C")),
        store.write(
            lambda repo: repo.insert_event(  # a database error mid-group
                slug="ev",
                title="dup",
                starts_at=EVENT_START,
                ends_at=EVENT_START + HOUR,
                timezone="Europe/London",
                now=NOW,
            )
        ),
        store.write(add("D")),
    ]
    queued = [asyncio.ensure_future(w) for w in writes]
    await wait_for(lambda: store.queue_depth() == len(queued), message="all five queued")
    release.set()
    results = await asyncio.gather(*queued, return_exceptions=True)
    await holder
    other.close()
    assert seen == {"writer_sees": ["A", "B"], "reader_sees": []}, "A and B were not grouped"
    assert isinstance(results[1], ValueError) and str(results[1]) == "B refused"
    assert isinstance(results[3], sqlite3.IntegrityError)
    assert all(isinstance(results[i], int) for i in (0, 2, 4))
    async with store.read() as repo:
        names = sorted(p.name for p in await repo.all_panelists())
        frames = await repo.frames_since(event_id, 0)
        assert len(await repo.list_events()) == 1
    assert names == ["A", "C", "D"]
    assert [(f.seq, f.type) for f in frames] == [(1, "added.A"), (2, "added.C"), (3, "added.D")]


@BOTH_STORES
async def test_on_commit_listener_gets_frames_in_seq_order(store: Store) -> None:
    """The listener sees each committed frame once, in seq order; failed jobs' never."""
    event_id = await new_event(store)
    received: list[Sequence[Frame]] = []
    store.on_commit(received.append)
    await asyncio.gather(
        *[append(store, event_id, fail=i % 10 == 9) for i in range(200)], return_exceptions=True
    )
    seqs = [f.seq for batch in received for f in batch]
    assert seqs == list(range(1, 181))
    assert all(f.event_id == event_id and f.type == "test.frame" for b in received for f in b)


async def test_listener_runs_after_the_commit(store: Store, settings) -> None:  # noqa: ANN001
    """When the listener hears of a frame, another connection can already read it."""
    event_id = await new_event(store)
    durable: list[bool] = []
    async with opened(settings.db_url) as other:

        def check(frames: Sequence[Frame]) -> None:
            # Runs on the writer's loop; record what a fresh connection sees right now.
            conn = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"))
            try:
                row = conn.execute(
                    "SELECT MAX(seq) FROM event_log WHERE event_id = ?", (event_id,)
                ).fetchone()
            finally:
                conn.close()
            durable.append(row[0] == frames[-1].seq)

        store.on_commit(check)
        for _ in range(3):
            await append(store, event_id)
        assert durable == [True, True, True]
        assert await log_seqs(other, event_id) == [1, 2, 3]


@BOTH_STORES
async def test_write_returns_only_after_commit(store: Store, settings) -> None:  # noqa: ANN001
    """An acknowledged write is visible to a separate store opened afterwards."""
    event_id = await new_event(store)
    await asyncio.gather(*[append(store, event_id) for _ in range(20)])
    async with opened(settings.db_url) as other:
        assert await log_seqs(other, event_id) == list(range(1, 21))


@BOTH_STORES
async def test_write_on_a_closed_store_is_refused(store: Store) -> None:
    """A write after close raises StoreError instead of hanging."""
    await store.close()
    with pytest.raises(StoreError):
        await asyncio.wait_for(store.write(lambda repo: repo.ping()), 10)
