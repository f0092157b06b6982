"""Text to safe HTML: Markdown (every page, frame and export) and search-hit highlights."""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from panel.domain import MARK_START, MARK_STOP

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["strikethrough", "table"])

ALLOWED_TAGS = {
    "p",
    "br",
    "em",
    "strong",
    "del",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def markdown_to_html(text: str) -> str:
    """Render markdown with raw HTML off, then sanitise (links only to http, https, mailto)."""
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
    )


def marked_html(marked: str) -> Markup:
    """Escape a search snippet, then turn only the store's markers into balanced <mark>s."""
    out: list[str] = []
    open_mark = False
    for piece in re.split(f"([{MARK_START}{MARK_STOP}])", marked):
        if piece == MARK_START and not open_mark:
            out.append("<mark>")
            open_mark = True
        elif piece == MARK_STOP and open_mark:
            out.append("</mark>")
            open_mark = False
        elif piece not in (MARK_START, MARK_STOP):
            out.append(html.escape(piece, quote=False))
    if open_mark:
        out.append("</mark>")
    return Markup("".join(out))
