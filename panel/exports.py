"""Published transcripts and events as files: page context, Markdown, JSON, HTML, Atom, iCalendar.

Everything here reads a transcript's public snapshot (see panel.transcripts), never the live
tables, so hidden and unpublished items cannot leak into an export. Markdown from panelists
goes through panel.render.markdown_to_html; readers' plain text is escaped for each format.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from panel.curation import credited, document_items, plain_text
from panel.domain import Event, initials, parse_iso, utc
from panel.formatting import clock_label, date_label
from panel.render import markdown_to_html
from panel.safe_markdown import md_escape, safe_markdown
from panel.structured_data import event_summary, script_json, shorten
from panel.text import CONTROL_CHARS, NONCHARACTERS

ATOM_NS = "http://www.w3.org/2005/Atom"


def transcript_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/archive/{slug}"


def _local(document: Mapping[str, Any], at: str) -> datetime:
    return parse_iso(at).astimezone(ZoneInfo(document["event"]["timezone"]))


def _long_date(at: datetime) -> str:
    return f"{date_label(at)}, {clock_label(at)}"


def _summary(document: Mapping[str, Any]) -> str:
    return event_summary(document["event"]["summary"], document["intro_md"])


def json_ld(document: Mapping[str, Any], url: str) -> Markup:
    """schema.org FAQPage as a data block; `<`, `>` and `&` escaped so it cannot end the tag."""
    data = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "name": document["event"]["title"],
        "url": url,
        "datePublished": document["published_at"],
        "dateModified": document["updated_at"] or document["published_at"],
        "mainEntity": [
            {
                "@type": "Question",
                "name": item["question"],
                "url": f"{url}#q-{item['id']}",
                "acceptedAnswer": {
                    "@type": "Answer",
                    "text": "\n\n".join(
                        f"{a['by']['name']}: {plain_text(a['body_md'])}" for a in item["answers"]
                    ),
                },
            }
            for item in document_items(dict(document))
        ],
    }
    return script_json(data)


def questions_line(document: Mapping[str, Any]) -> str | None:
    """The line stating how many questions readers sent and how many were answered, as at
    publishing ("Readers sent 42 questions; 12 were answered."); None for transcripts
    published before the counts were recorded."""
    counts = document.get("questions")
    if not counts:
        return None
    received, answered = counts["received"], counts["answered"]
    sent = f"Readers sent {received} question{'' if received == 1 else 's'}"
    return f"{sent}; {answered} {'was' if answered == 1 else 'were'} answered."


def transcript_view(document: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """Everything the transcript page (and the HTML export) shows, ready to display."""
    event = document["event"]
    url = transcript_url(base_url, event["slug"])
    start, end = _local(document, event["starts_at"]), _local(document, event["ends_at"])
    published = _local(document, document["published_at"])
    updated = _local(document, document["updated_at"]) if document["updated_at"] else None
    sections = []
    for section in document["sections"]:
        slot = section["slot"]
        times = None
        if slot:
            times = (
                f"{clock_label(_local(document, slot['starts_at']))}–"
                f"{clock_label(_local(document, slot['ends_at']))}"
            )
        sections.append(
            {
                "heading": section["heading"],
                "times": times,
                "items": [
                    {
                        "id": item["id"],
                        "question": item["question"],
                        "asker": item["name"] or "A reader",
                        # Snapshots published before merges kept every asker have none.
                        "also_asked": credited(item.get("also_asked", [])),
                        "to": item["to"]["name"] if item["to"] else None,
                        "answers": [
                            {
                                "by": a["by"],
                                "body_html": Markup(answer_html(a)),
                                "at": a["created_at"],
                                "time": clock_label(_local(document, a["created_at"])),
                            }
                            for a in item["answers"]
                        ],
                    }
                    for item in section["items"]
                ],
            }
        )
    return {
        "slug": event["slug"],
        "title": event["title"],
        "summary": event["summary"],
        "description": _summary(document),
        "url": url,
        "date": date_label(start),
        "time_range": f"{clock_label(start)}–{clock_label(end)}",
        "timezone": event["timezone"],
        "starts_at": event["starts_at"],
        "published_at": document["published_at"],
        "published_label": date_label(published),
        "updated_at": document["updated_at"],
        "updated_label": _long_date(updated) if updated else None,
        "intro_html": Markup(markdown_to_html(document["intro_md"])),
        "outro_html": Markup(markdown_to_html(document["outro_md"])),
        "panel": [{**p, "initials": initials(p["name"])} for p in document["panel"]],
        "sections": sections,
        "item_count": sum(len(s["items"]) for s in sections),
        "questions_line": questions_line(document),
        "json_ld": json_ld(document, url),
    }


def answer_html(answer: Mapping[str, Any]) -> str:
    """A published answer's HTML: stored in the snapshot since it was rendered when written;
    snapshots published before that carry only the Markdown, rendered here."""
    stored = answer.get("body_html")
    return stored if stored is not None else markdown_to_html(answer["body_md"])


# -- JSON -----------------------------------------------------------------------------------
def transcript_json(document: Mapping[str, Any], base_url: str) -> dict[str, Any]:
    """The JSON export: the event, the panel, and every published item in reading order."""
    url = transcript_url(base_url, document["event"]["slug"])
    return {
        "event": {**document["event"], "url": url},
        "published_at": document["published_at"],
        "updated_at": document["updated_at"],
        "intro_md": document["intro_md"],
        "outro_md": document["outro_md"],
        "panel": document["panel"],
        # {"received", "answered"} as at publishing (panel/openness.py), or null.
        "questions": document.get("questions"),
        "items": [
            {
                "id": item["id"],
                "url": f"{url}#q-{item['id']}",
                "section": item["section"],
                "question": item["question"],
                "name": item["name"],
                "asked_at": item["asked_at"],
                "to": item["to"],
                "also_asked": item.get("also_asked", []),
                "answers": [{**a, "body_html": answer_html(a)} for a in item["answers"]],
            }
            for item in document_items(dict(document))
        ],
    }


# -- Markdown -------------------------------------------------------------------------------
def transcript_markdown(document: Mapping[str, Any], base_url: str, safe: bool = False) -> str:
    """The Markdown export. Readers' text is always escaped; panelists' Markdown is as they
    typed it (raw HTML included), or with `safe` rewritten by panel.safe_markdown for a CMS."""
    view = transcript_view(document, base_url)
    panelists_md = safe_markdown if safe else str
    lines = [f"# {md_escape(view['title'])}", ""]
    if view["summary"]:
        lines += [f"*{md_escape(view['summary'])}*", ""]
    stamp = f"Live Q&A, {view['date']}, {view['time_range']} ({view['timezone']})."
    stamp += f" Published {view['published_label']}."
    if view["updated_label"]:
        stamp += f" Updated {view['updated_label']}."
    if view["questions_line"]:
        stamp += f" {view['questions_line']}"
    lines += [stamp, ""]
    if document["intro_md"]:
        lines += [panelists_md(document["intro_md"]), ""]
    lines += panel_markdown(document["panel"])
    by_id = {item["id"]: item for item in document_items(dict(document))}
    for section in view["sections"]:
        if section["heading"]:
            times = f" ({section['times']})" if section["times"] else ""
            lines += [f"## {md_escape(section['heading'])}{times}", ""]
        for item in section["items"]:
            meta = f"Asked by {md_escape(item['asker'])}"
            if item["to"]:
                meta += f", to {md_escape(item['to'])}"
            lines += item_markdown(
                item["question"],
                meta,
                f"{view['url']}#q-{item['id']}",
                item["also_asked"],
                by_id[item["id"]]["answers"],
                panelists_md,
            )
    if document["outro_md"]:
        lines += ["---", "", panelists_md(document["outro_md"]), ""]
    lines += [f"Source: <{view['url']}>", ""]
    return "\n".join(lines)


def panel_markdown(panel: Iterable[Mapping[str, Any]]) -> list[str]:
    """ "## The panel" and one line per person (name, role, and bio when there is one)."""
    lines = ["## The panel", ""]
    for person in panel:
        role = f", {md_escape(person['role'])}" if person["role"] else ""
        bio = f": {md_escape(person['bio'])}" if person.get("bio") else ""
        lines.append(f"- **{md_escape(person['name'])}**{role}{bio}")
    return [*lines, ""]


def item_markdown(
    question: str,
    meta: str,
    link: str,
    also_asked: Iterable[Mapping[str, str]],
    answers: Iterable[Mapping[str, Any]],
    panelists_md: Callable[[str], str],
    marker: str = "",
) -> list[str]:
    """One question as Markdown: its heading (after `marker`, written as it is), the line of
    `meta` (Markdown already) with its link, the similar questions merged into it and the
    answers. Readers' text is escaped; panelists' Markdown goes through `panelists_md`."""
    heading = " ".join(question.split())  # a heading is one line
    lines = [f"### {marker}{md_escape(heading)}", "", f"*{meta}* · [link]({link})", ""]
    for other in also_asked:
        body = " ".join(other["body"].split())
        lines += [f"Similar question from {md_escape(other['name'])}: {md_escape(body)}", ""]
    for answer in answers:
        role = f", {md_escape(answer['by']['role'])}" if answer["by"]["role"] else ""
        lines += [
            f"**{md_escape(answer['by']['name'])}**{role}:",
            "",
            panelists_md(answer["body_md"]),
            "",
        ]
    return lines


# -- standalone HTML ------------------------------------------------------------------------
def transcript_html(document: Mapping[str, Any], base_url: str, templates_dir: Path) -> str:
    """A self-contained HTML article (for `livepanel export --format html`)."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    return env.get_template("export.html").render(t=transcript_view(document, base_url))


# -- Atom -----------------------------------------------------------------------------------
def _feed_summary(row: Mapping[str, Any]) -> str:
    """Atom wants a summary for a link-only entry: the event's, the intro, or the count."""
    text = (
        row["summary"]
        or plain_text(row["intro_md"])
        or plain_text(row["event_intro_md"])
        or f"Transcript of a live Q&A: {row['items']} questions answered by the panel."
    )
    return shorten(text)


def xml_safe(text: str) -> str:
    """Text an XML parser accepts: rows stored before clean_text refused such characters
    may still hold them, so they are dropped here, at output. XML 1.0 forbids C0 controls
    (but tab, LF, CR), surrogates, U+FFFE and U+FFFF, and discourages C1 controls and the other
    noncharacters; ElementTree writes them as they are, and one made the whole feed malformed
    for every subscriber."""
    return NONCHARACTERS.sub("", CONTROL_CHARS.sub("", text))


def rfc3339(at: datetime) -> str:
    return utc(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(
    rows: Iterable[Mapping[str, Any]], base_url: str, now: datetime, site_name: str = "Livepanel"
) -> bytes:
    """An Atom 1.0 feed of published transcripts (rows from Repo.recently_updated_transcripts)."""
    base = base_url.rstrip("/")
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    rows = list(rows)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(parent, tag, {k: xml_safe(v) for k, v in attrs.items()})
        if text is not None:
            child.text = xml_safe(text)
        return child

    add(feed, "id", f"{base}/archive")
    add(feed, "title", f"{site_name}: Q&A transcripts")
    add(feed, "subtitle", "Edited transcripts of our live Q&A panels.")
    newest = max((parse_iso(r["updated"]) for r in rows), default=now)
    add(feed, "updated", rfc3339(newest))
    add(feed, "link", rel="self", href=f"{base}/archive/feed.atom", type="application/atom+xml")
    add(feed, "link", rel="alternate", href=f"{base}/archive", type="text/html")
    author = add(feed, "author")
    add(author, "name", site_name)
    add(feed, "generator", "Livepanel")
    for row in rows:
        url = transcript_url(base, row["slug"])
        entry = add(feed, "entry")
        add(entry, "id", url)
        add(entry, "title", row["title"])
        add(entry, "updated", rfc3339(parse_iso(row["updated"])))
        add(entry, "published", rfc3339(parse_iso(row["published_at"])))
        add(entry, "link", rel="alternate", href=url, type="text/html")
        add(entry, "summary", _feed_summary(row), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


# -- iCalendar (RFC 5545) ---------------------------------------------------------------------
def ics_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and newlines."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics_fold(line: str, limit: int = 75) -> str:
    """Fold a content line at `limit` octets, never inside a UTF-8 character."""
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        budget = limit if not parts else limit - 1  # continuation lines start with a space
        if size + width > budget:
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def ics_time(at: datetime) -> str:
    return utc(at).strftime("%Y%m%dT%H%M%SZ")


def event_ics(event: Event, base_url: str, now: datetime) -> str:
    """One VEVENT with UTC start and end (the instant is exact whatever the reader's zone)."""
    base = base_url.rstrip("/")
    url = f"{base}/events/{event.slug}"
    host = urlsplit(base).hostname or "livepanel.invalid"
    start, end = event.local(event.starts_at), event.local(event.ends_at)
    when = f"{date_label(start)}, {clock_label(start)}–{clock_label(end)} ({event.timezone} time)."
    description = "\n\n".join(
        x for x in (event.summary, when, f"Ask the panel and follow live: {url}") if x
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Livepanel//Livepanel//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:livepanel-event-{event.id}@{host}",
        f"DTSTAMP:{ics_time(now)}",
        f"DTSTART:{ics_time(event.starts_at)}",
        f"DTEND:{ics_time(event.ends_at)}",
        f"SUMMARY:{ics_text('Live Q&A: ' + event.title)}",
        f"DESCRIPTION:{ics_text(description)}",
        f"LOCATION:{ics_text(url)}",
        f"URL:{url}",
        "STATUS:CONFIRMED",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(ics_fold(line) + "\r\n" for line in lines)
