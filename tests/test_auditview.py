"""The readable audit log: a phrase for every action the code writes, the change as a diff,
entries that changed nothing neither written nor shown, and the filters (over real HTTP)."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from panel.actions import Actions
from panel.auditview import (
    PHRASES,
    Segment,
    actor_label,
    audit_lines,
    changes,
    is_noop,
    sentence,
    word_diff,
)
from panel.domain import Actor
from panel.moderation import HANDLERS
from tests.conftest import EDITOR, LiveServer, seed_event
from tests.pgdb import BOTH_STORES
from tests.test_desk import ask, form_post, signed_in

PANEL = Path(__file__).resolve().parents[1] / "panel"
LONDON = ZoneInfo("Europe/London")
ANNA = "editor:3:anna"


# -- every action the code base writes has a phrase --------------------------------------------
def _literals(node: ast.expr) -> set[str]:
    """The action names an argument can take: a string, either side of an if-else, or
    f"question.{action}" (the moderation handlers)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    if isinstance(node, ast.JoinedStr):
        prefix = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        assert prefix == "question.", f"an f-string action this test does not know: {prefix}"
        return {f"question.{name}" for name in HANDLERS}
    return set()


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def written_actions() -> set[str]:
    """Every action passed to `.audit(` in panel/, following a parameter one call up
    (transcripts' `_edit(…, "transcript.move", …)`)."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in PANEL.rglob("*.py")]
    found: set[str] = set()
    relayed: list[tuple[str, int]] = []  # (function, index of the positional argument)
    for tree in trees:
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [a.arg for a in fn.args.args]
            for call in ast.walk(fn):
                if not (isinstance(call, ast.Call) and _called_name(call) == "audit"):
                    continue
                if not call.args:  # Tx.audit forwarding keywords to Repo.audit
                    continue
                arg = call.args[0]
                found |= _literals(arg)
                if isinstance(arg, ast.Name) and arg.id in params:
                    skip = 1 if params and params[0] == "self" else 0
                    relayed.append((fn.name, params.index(arg.id) - skip))
    for name, index in relayed:
        for tree in trees:
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and _called_name(call) == name:
                    found |= _literals(call.args[index])
    return found


def test_every_action_the_code_writes_has_a_phrase() -> None:
    actions = written_actions()
    # The scan itself works: it finds plain, if-else, f-string and relayed actions.
    assert {"event.status", "editor.enable", "question.answered", "transcript.move"} <= actions
    assert len(actions) >= 45
    missing = sorted(a for a in actions if a not in PHRASES)
    assert not missing, f"actions without a phrase: {missing}"
    for action in actions:
        text = sentence(ANNA, action, "question:7", {"status": "pending"}, {"status": "live"})
        assert text.startswith("anna") and "{" not in text, (action, text)


@pytest.mark.parametrize(
    ("actor", "action", "target", "before", "after", "expected"),
    [
        (ANNA, "question.approve", "question:23", {}, {}, "anna approved #23"),
        ("editor:4:ben", "question.edit", "question:17", {}, {}, "ben edited #17"),
        (
            ANNA,
            "question.reject",
            "question:9",
            {"reject_reason": ""},
            {"reject_reason": "off topic"},
            "anna rejected #9 (reason: off topic)",
        ),
        (ANNA, "question.reject", "question:9", {}, {}, "anna rejected #9"),
        (ANNA, "question.merge", "question:12", {}, {"merged_into": 8}, "anna merged #12 into #8"),
        (
            ANNA,
            "question.unmerge",
            "question:12",
            {"merged_into": 8},
            {"merged_into": None},
            "anna separated #12 from #8",
        ),
        (
            ANNA,
            "question.direct",
            "question:5",
            {},
            {"directed_to": 4},
            "anna directed #5 to Maria Ashdown",
        ),
        (
            ANNA,
            "question.direct",
            "question:5",
            {"directed_to": 4},
            {"directed_to": None},
            "anna directed #5 to anyone on the panel",
        ),
        (
            "clock",
            "event.status",
            "event:careers",
            {"status": "live"},
            {"status": "closed"},
            "The clock closed the event",
        ),
        (
            "system",
            "event.status",
            "event:careers",
            {"status": "closed"},
            {"status": "live"},
            "The system reopened the event",
        ),
        (
            ANNA,
            "slot.edit",
            "slot:3",
            {"label": "Getting in"},
            {},
            "anna changed the slot “Getting in”",
        ),
        (
            "panelist:4:Maria Ashdown",
            "answer.edit",
            "answer:6",
            {},
            {},
            "Maria Ashdown edited an answer (no. 6)",
        ),
        (
            ANNA,
            "panel.assign",
            "panelist:4",
            {},
            {"slot_id": None},
            "anna added Maria Ashdown to the panel",
        ),
        (
            ANNA,
            "transcript.move",
            "question:3",
            {"position": 2},
            {"position": 1},
            "anna moved #3 up in the transcript",
        ),
        # An action written after the table still reads as a sentence.
        (ANNA, "question.snooze", "question:12", {}, {}, "anna: question snooze (#12)"),
    ],
)
def test_sentences(
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any],
    after: dict[str, Any],
    expected: str,
) -> None:
    assert sentence(actor, action, target, before, after, names={4: "Maria Ashdown"}) == expected


def test_the_desk_wide_log_names_the_event() -> None:
    text = sentence(ANNA, "event.create", "event:careers", {}, {"title": "X"}, on_event=False)
    assert text == "anna created the event careers"


# -- the change ------------------------------------------------------------------------------
def test_a_text_change_is_a_word_diff() -> None:
    segments = word_diff("Is the trainng paid?", "Is the training paid well?")
    assert segments[:3] == (
        Segment("same", "Is the "),
        Segment("del", "trainng"),
        Segment("ins", "training"),
    )
    # Whatever the alignment, the kept and removed words rebuild the old text, the kept and
    # added words the new one.
    assert "".join(s.text for s in segments if s.kind != "ins") == "Is the trainng paid?"
    assert "".join(s.text for s in segments if s.kind != "del") == "Is the training paid well?"
    assert any(s.kind == "del" and "trainng" in s.text for s in segments)
    assert any(s.kind == "ins" and "training" in s.text for s in segments)


def test_values_read_as_words_and_unchanged_fields_are_left_out() -> None:
    before = {"status": "pending", "pinned": False, "merged_into": None, "upvotes": 3, "body": "Hi"}
    after = {"status": "approved", "pinned": True, "merged_into": None, "upvotes": 3, "body": "Hi"}
    shown = {c.label: (c.old, c.new) for c in changes(before, after, LONDON)}
    assert shown == {"status": ("pending", "approved"), "pinned": ("no", "yes")}
    gone = changes({"title": "Old"}, {}, LONDON)
    assert [(c.label, c.old, c.new) for c in gone] == [("title", "Old", "—")]
    times = changes(
        {"starts_at": "2026-09-15T12:00:00Z"}, {"starts_at": "2026-09-15T13:00:00Z"}, LONDON
    )
    assert (times[0].old, times[0].new) == ("15 Sep 2026 13:00", "15 Sep 2026 14:00")
    merged = changes({"merged_into": None}, {"merged_into": 8}, LONDON)
    assert (merged[0].label, merged[0].old, merged[0].new) == ("merged into", "—", "#8")
    # Something new (a note): its values alone, panelists by name, no diff marks.
    note = changes({}, {"to": "panelist:7", "question": 14, "body": "Hi"}, LONDON, {7: "Priya"})
    assert [(c.label, c.new, c.created, c.segments) for c in note] == [
        ("to", "Priya", True, ()),
        ("about question", "#14", True, ()),
        ("body", "Hi", True, ()),
    ]
    reason = changes({"reject_reason": ""}, {"reject_reason": "Spam"}, LONDON)
    assert (reason[0].old, reason[0].new, reason[0].segments) == ("—", "Spam", ())


def test_entries_that_changed_nothing_are_hidden() -> None:
    same = {"status": "approved", "answered": True}
    assert is_noop(same, dict(same))
    assert not is_noop({}, {})  # e.g. session.end: an action without fields
    assert not is_noop(same, {**same, "answered": False})
    rows = [
        _row(1, "question.answered", same, same),
        _row(2, "question.approve", {"status": "pending"}, {"status": "approved"}),
    ]
    lines = audit_lines(rows, zone=LONDON, day="2026-09-15", names={}, on_event=True)
    assert [line.action for line in lines] == ["question.approve"]
    assert lines[0].when == "13:42" and lines[0].at == "2026-09-15T12:42:00Z"
    utc = audit_lines(rows, zone=UTC, day=None, names={}, on_event=False)
    assert utc[0].when == "12:42 UTC on 15 Sep 2026"


def _row(row_id: int, action: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row_id,
        "at": "2026-09-15T12:42:00Z",
        "actor": ANNA,
        "action": action,
        "target": "question:1",
        "before_json": json.dumps(before),
        "after_json": json.dumps(after),
    }


# -- at the source: no-op entries are not written --------------------------------------------
async def _entries(actions: Actions, event_id: int | None, **filters: Any) -> list[Any]:
    async with actions.store.read() as repo:
        return await repo.audit_entries(event_id, **filters)


@BOTH_STORES
async def test_marking_answered_is_recorded_once_with_its_change(actions: Actions) -> None:
    info = await seed_event(actions)
    await actions.run_due_transitions(info["id"])
    question, _ = await actions.post_question(info["id"], "r1", "Is the training paid?")
    await actions.moderate(question.id, "approve", EDITOR)
    await actions.moderate(question.id, "answered", EDITOR)
    await actions.moderate(question.id, "answered", EDITOR)  # already answered: no change
    marks = [e for e in await _entries(actions, info["id"]) if e["action"] == "question.answered"]
    assert len(marks) == 1
    before, after = json.loads(marks[0]["before_json"]), json.loads(marks[0]["after_json"])
    assert (before["answered"], after["answered"]) == (False, True)

    # The store's filters and the choices they offer.
    approvals = await _entries(actions, info["id"], action="question.approve")
    assert [e["target"] for e in approvals] == [f"question:{question.id}"]
    assert await _entries(actions, info["id"], actor="editor:99:nobody") == []
    async with actions.store.read() as repo:
        actors, kinds = await repo.audit_choices(info["id"])
        everyone, _ = await repo.audit_choices(None)
    assert str(EDITOR) in actors and {"question.approve", "question.answered"} <= set(kinds)
    assert set(actors) <= set(everyone)
    assert [actor_label(a) for a in (str(EDITOR), "panelist:4:Maria Ashdown", "system")] == [
        "test-editor",
        "Maria Ashdown (panelist)",
        "The system",
    ]


# -- the page, over HTTP ----------------------------------------------------------------------
@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    info = await server.acall(lambda: seed_event(server.actions))
    await server.acall(lambda: server.actions.run_due_transitions(info["id"]))
    return info


def _sentences(html: str) -> list[str]:
    found = re.findall(r'<p class="audit-sentence">(.*?)</p>', html, re.S)
    return [re.sub(r"<[^>]+>", "", s).strip() for s in found]


async def test_the_page_reads_filters_and_escapes(
    server: LiveServer, event: dict[str, Any]
) -> None:
    hostile = await ask(server, event["id"], "Is <b>this</b> paid?")
    other = await ask(server, event["id"], "Second question")
    ben = Actor("editor", 77, "ben")
    await server.acall(lambda: server.actions.moderate(other, "reject", ben, reason="off topic"))
    async with signed_in(server, "anna") as client:
        queue = f"/desk/events/{event['slug']}"
        edit = {"action": "edit", "body": "Is <i>that</i> paid?"}
        await form_post(client, queue, f"/desk/questions/{hostile}/moderate", edit)
        await form_post(client, queue, f"/desk/questions/{hostile}/moderate", {"action": "approve"})

        now = server.clock.now()
        local, utc = now.astimezone(LONDON).strftime("%H:%M"), now.strftime("%H:%M")
        assert local != utc  # British Summer Time: the zone really is applied
        page = (await client.get(f"{queue}/audit")).text
        said = _sentences(page)
        assert f"anna approved #{hostile} at {local}" in said
        assert f"anna edited #{hostile} at {local}" in said
        assert f"ben rejected #{other} (reason: off topic) at {local}" in said
        assert f'datetime="{now.strftime("%Y-%m-%dT%H:%M")}' in page
        # User text stays escaped, inside and outside the <del>/<ins> marks.
        assert "Is &lt;<del>b</del><ins>i</ins>&gt;<del>this</del><ins>that</ins>&lt;/" in page
        assert "<b>this</b>" not in page and "merged into" not in page  # unchanged: not shown
        assert "Times are in Europe/London" in page

        # The selects offer who and what occur in this log; each filter narrows it.
        assert '<option value="editor:77:ben">ben</option>' in page
        assert '<option value="question.approve">question: approve</option>' in page
        by_ben = _sentences(
            (await client.get(f"{queue}/audit", params={"actor": "editor:77:ben"})).text
        )
        assert by_ben == [f"ben rejected #{other} (reason: off topic) at {local}"]
        edits = (await client.get(f"{queue}/audit", params={"action": "question.edit"})).text
        assert _sentences(edits) == [f"anna edited #{hostile} at {local}"]
        assert '<option value="question.edit" selected>' in edits
        both = {"actor": "editor:77:ben", "action": "question.edit"}
        none = (await client.get(f"{queue}/audit", params=both)).text
        assert _sentences(none) == [] and "No entries match these filters." in none

        # The desk-wide log: UTC, labelled, with the event named.
        desk = (await client.get("/desk/audit", params={"action": "question.approve"})).text
        assert _sentences(desk) == [f"anna approved #{hostile} at {utc} UTC on 15 Sep 2026"]
        everything = _sentences((await client.get("/desk/audit")).text)
        assert f"The system added the editor anna at {utc} UTC on 15 Sep 2026" in everything


async def test_old_no_op_entries_are_hidden(server: LiveServer, event: dict[str, Any]) -> None:
    qid = await ask(server, event["id"], "Old entry")
    same = {"status": "approved", "body": "Old entry", "pinned": False}

    async def old_entry() -> None:  # as older versions wrote `question.answered`
        async def write(repo: Any) -> None:
            await repo.audit(
                actor="editor:5:cleo",
                action="question.answered",
                event_id=event["id"],
                target=f"question:{qid}",
                before=same,
                after=same,
                now=datetime(2026, 9, 15, 12, 5, tzinfo=UTC),
            )

        await server.services.store.write(write)

    await server.acall(old_entry)
    async with signed_in(server) as client:
        page = (await client.get(f"/desk/events/{event['slug']}/audit")).text
    assert "cleo" in page  # offered in the filter: it is in the log …
    assert not any("cleo" in s for s in _sentences(page))  # … but the no-op is not listed


async def test_bad_filters_find_nothing_and_break_nothing(
    server: LiveServer, event: dict[str, Any]
) -> None:
    async with signed_in(server) as client:
        response = await client.get(
            f"/desk/events/{event['slug']}/audit",
            params={"actor": "'; DROP TABLE x", "action": "<x>"},
        )
    assert response.status_code == 200
    assert "No entries match these filters." in response.text and "<x>" not in response.text
