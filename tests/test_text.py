"""What people type: normalised, trimmed, bounded and free of control and non-characters;
forms must be UTF-8 (checked with raw bytes over a real server); and a character XML forbids,
stored before it was refused, cannot break the Atom feed."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import RuleError
from panel.exports import atom_feed, xml_safe
from panel.text import clean_text
from panel.transcripts import Transcripts
from tests.conftest import EDITOR, EVENT_START, LiveServer
from tests.livehelpers import client_for, from_site, questions_in_store, seed_live

ATOM = "{http://www.w3.org/2005/Atom}"
NONCHARACTERS = ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff", "\ud800"]
C1 = ["\x80", "\x85", "\x9b", "\x9f"]


def check(value: str, max_chars: int = 50) -> str:
    return clean_text(value, field="Question", max_chars=max_chars, required=True)


# -- clean_text ------------------------------------------------------------------------------
@pytest.mark.parametrize("char", C1 + ["\x00", "\x1b", "\x7f"])
def test_c1_controls_are_refused_like_c0(char: str) -> None:
    with pytest.raises(RuleError, match="control characters") as refused:
        check(f"Why{char}not?")
    assert refused.value.code == "invalid" and f"U+{ord(char):04X}" in refused.value.message


@pytest.mark.parametrize("char", NONCHARACTERS)
def test_noncharacters_and_lone_surrogates_are_refused(char: str) -> None:
    with pytest.raises(RuleError, match="not text") as refused:
        check(f"Title {char} here")
    assert f"U+{ord(char):04X}" in refused.value.message


def test_a_control_character_at_either_end_is_refused_not_trimmed_away() -> None:
    for text in ("\x85Why?", "Why?\x1f", "\x9f"):
        with pytest.raises(RuleError, match="control characters"):
            check(text)


def test_tabs_newlines_and_ordinary_unicode_are_kept() -> None:
    assert (
        check("  Line one\r\n\tLine two — ½ 日本 👍\u00a0 ") == "Line one\n\tLine two — ½ 日本 👍"
    )


def test_length_is_counted_after_normalisation_and_the_error_says_so() -> None:
    decomposed = "e\u0301" * 50  # 100 code points as sent, 50 once composed (NFC): it fits
    assert check(decomposed) == "\u00e9" * 50
    # U+0958 is excluded from composition: NFC makes each one two code points.
    with pytest.raises(RuleError) as refused:
        check("\u0958" * 30)
    assert refused.value.code == "too_long"
    assert refused.value.message == (
        "Question is 60 characters; the limit is 50 characters after normalisation."
    )
    with pytest.raises(RuleError, match="the limit is 2,000 characters after normalisation"):
        check("x" * 2001, max_chars=2000)


# -- forms over a real server -------------------------------------------------------------------
URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


def multipart(body: bytes) -> tuple[dict[str, str], bytes]:
    boundary = b"----livepanelboundary7"
    data = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="body"\r\n\r\n' + body + b"\r\n"
        b"--" + boundary + b"--\r\n"
    )
    return {"content-type": f"multipart/form-data; boundary={boundary.decode()}"}, data


BAD_FORMS = {
    "an invalid percent-escape": (URLENCODED, b"body=Why+%FF%FE+now%3F"),
    "a raw byte that is not UTF-8": (URLENCODED, b"body=Caf\xe9+au+lait%3F"),
    "an encoded surrogate": (URLENCODED, b"body=Half+%ED%A0%80+a+pair%3F"),
    "a truncated sequence": (URLENCODED, b"body=Cut+%E2%82"),
    "multipart, not UTF-8": multipart(b"Caf\xe9 au lait?"),
    "multipart, an overlong encoding": multipart(b"Slash \xc0\xaf here?"),
}


async def test_a_form_that_is_not_utf8_is_refused_and_nothing_is_stored(
    server: LiveServer,
) -> None:
    event = await seed_live(server)
    for name, (headers, body) in BAD_FORMS.items():
        async with client_for(server) as reader:
            response = await reader.post(
                f"/events/{event['slug']}/questions",
                content=body,
                headers={**headers, **from_site(server)},
            )
        assert response.status_code == 400, (name, response.status_code)
        assert "not valid UTF-8" in response.text, name
    assert await questions_in_store(server, event["id"]) == []


GOOD_FORMS = {
    "percent-encoded": (
        URLENCODED,
        b"body=Caf%C3%A9+%E2%80%94+%F0%9F%91%8D+ok%3F",
        "Café — 👍 ok?",
    ),
    "raw UTF-8 bytes": (URLENCODED, "body=Raw café ok?".encode(), "Raw café ok?"),
    "multipart": (*multipart("Ça va, multipart?".encode()), "Ça va, multipart?"),
}


async def test_utf8_forms_are_stored_exactly_as_sent(server: LiveServer) -> None:
    event = await seed_live(server)
    for name, (headers, body, _) in GOOD_FORMS.items():
        async with client_for(server) as reader:
            response = await reader.post(
                f"/events/{event['slug']}/questions",
                content=body,
                headers={**headers, **from_site(server)},
            )
        assert response.status_code == 303, (name, response.status_code, response.text[:300])
    stored = sorted(q.body for q in await questions_in_store(server, event["id"]))
    assert stored == sorted(expected for *_, expected in GOOD_FORMS.values())


# -- the Atom feed ---------------------------------------------------------------------------
def test_xml_safe_drops_exactly_what_xml_cannot_carry() -> None:
    assert (
        xml_safe("a\x00b\x08c\x0bd\x1fe\x7ff\x85g\ufffeh\uffffi\ufdd0j\U0010ffffk") == "abcdefghijk"
    )
    kept = "tab\tnewline\nreturn\r é 日本 \ud7ff\ue000\ufffd \U00010000"
    assert xml_safe(kept) == kept


def test_the_feed_parses_whatever_a_title_holds() -> None:
    row = {
        "slug": "x",
        "title": "Bad\x00 \ufffe\uffff title\x1b\x85",
        "summary": "Sum\ufdd0mary\x0c",
        "intro_md": "",
        "event_intro_md": "",
        "items": 1,
        "updated": "2026-09-15T12:00:00+00:00",
        "published_at": "2026-09-15T12:00:00+00:00",
    }
    feed = ET.fromstring(atom_feed([row], "http://127.0.0.1", EVENT_START, "Site\uffff"))
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == "Bad  title"
    assert entry.findtext(f"{ATOM}summary") == "Summary"
    assert feed.findtext(f"{ATOM}title") == "Site: Q&A transcripts"


async def test_a_title_stored_before_the_rule_does_not_break_the_live_feed(
    server: LiveServer, clock: FakeClock, settings: Settings
) -> None:
    """A row written before clean_text refused such characters (put straight in the file)."""
    event = await seed_live(server, slug="old-row")

    async def publish() -> None:
        clock.set(EVENT_START + timedelta(hours=4))
        await server.actions.set_status(event["id"], "closed", EDITOR)
        await Transcripts(server.services.store, clock, settings).publish(event["id"], EDITOR)

    await server.acall(publish)
    db = sqlite3.connect(Path(settings.db_url.removeprefix("sqlite:///")), timeout=10)
    try:
        with db:
            db.execute(
                "UPDATE events SET title = ?, summary = ? WHERE id = ?",
                ("Old\ufffe title\x01 here\uffff", "A\x0b summary\U0001ffff", event["id"]),
            )
    finally:
        db.close()
    async with client_for(server) as reader:
        response = await reader.get("/archive/feed.atom")
    assert response.status_code == 200
    feed = ET.fromstring(response.content)  # a real XML parser: malformed would raise here
    entries: list[Any] = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["Old title here"]
    assert entries[0].findtext(f"{ATOM}summary") == "A summary"
