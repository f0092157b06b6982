"""The sanitised Markdown export: panelists' Markdown rewritten so that even a renderer that
allows raw HTML and any link shows it as our pages do, with nothing that runs."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from markdown_it import MarkdownIt

from panel.demo import ARCHIVE_SLUG, load_demo
from panel.render import ALLOWED_TAGS, markdown_to_html
from panel.safe_markdown import md_escape, safe_markdown
from tests.conftest import LiveServer
from tests.test_security import Page, assert_inert

CORPUS = [
    line.replace("\\n", "\n")
    for line in (Path(__file__).parent / "data" / "xss.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip() and not line.startswith("# ")
]
# Markdown as panelists write it: what the safe variant must keep exactly as the pages show it.
ORDINARY = [
    "Plain words, **bold**, *em*, ~~struck~~ and `code with <tags>`.",
    "A [link](https://example.org/a_(b)?q=1&r=2) and <https://example.org/auto>.",
    "- one\n- two\n  - nested *deep*\n- three",
    "1. first\n2. second\n\n7) seven\n8) eight",
    "- loose\n\n- list\n\n  with two paragraphs",
    "> quoted\n> text with `tick`\n\n>> nested",
    "```python\nif a < b and c > d:\n    print('<b>')\n```",
    "~~~\nfence ``` inside\n~~~",
    "    indented <code>",
    "| a | b | c |\n|:--|:-:|--:|\n| 1 \\| one | **2** | [x](https://x.org) |",
    "### Heading *three*\n\ntext\n\n* * *\n\nend",
    "Line with two spaces  \nbreak, and a backslash\\\nbreak.",
    "Escapes: \\*not em\\*, \\<b\\>, &amp; &lt;tag&gt; &copy; 3 < 4 > 2, 100% _under_score_",
    "Lists that are not: 2026. A year.\n\n- [ ] box\n+ plus\n\n10. ten",
    "Mail <mailto:desk@example.org> or [write](mailto:desk@example.org).",
    "`` a ` tick `` and ```` ``` ````",
]
# An HTML-allowing renderer that accepts any link: as lax as the laxest CMS.
PERMISSIVE = MarkdownIt("commonmark", {"html": True}).enable(["strikethrough", "table"])
PERMISSIVE.validateLink = lambda url: True


@pytest.mark.parametrize("source", ORDINARY)
def test_ordinary_markdown_renders_exactly_as_on_our_pages(source: str) -> None:
    assert markdown_to_html(safe_markdown(source)) == markdown_to_html(source)


def test_every_corpus_payload_is_inert_even_with_html_and_any_link_allowed() -> None:
    assert len(CORPUS) >= 100
    for payload in CORPUS:
        for source in (payload, f"Intro\n\n{payload}\n\n- item {payload}\n\n> {payload}"):
            html = PERMISSIVE.render(safe_markdown(source))
            page = assert_inert(html, payload)
            tags = {tag for tag, _ in page.elements}
            # Our own tags, plus the two headings our pages demote: nothing else.
            assert tags <= ALLOWED_TAGS | {"h1", "h2"}, (payload, tags)
            for tag, attrs in page.elements:
                if tag == "a":
                    assert attrs["href"].startswith(("https:", "http:", "mailto:")), payload


def test_the_raw_export_really_carries_html_which_is_why_the_safe_one_exists() -> None:
    raw = "<img src=x onerror=alert(1)> [x](javascript:alert(2)) **ok**"
    assert "<img" in PERMISSIVE.render(raw)
    assert_inert(PERMISSIVE.render(safe_markdown(raw)), "safe")
    assert "**ok**" in safe_markdown(raw) and "onerror" in Page(markdown_to_html(raw)).text


def test_plain_text_escaping_keeps_list_numbers_readable() -> None:
    """`1.` at a line start is escaped as `1\\.` (CommonMark shows `\\1.` with its backslash)."""
    escaped = md_escape("1. not a list\n- nor this\n# nor a heading & no &amp; entity")
    assert escaped.startswith("1\\. not a list\n\\- nor this\n\\# nor")
    html = markdown_to_html(escaped)
    assert Page(html).text.strip() == "1. not a list\n- nor this\n# nor a heading & no &amp; entity"


async def test_the_safe_export_is_served_and_linked_from_the_transcript(server: LiveServer) -> None:
    info = await server.acall(
        lambda: load_demo(server.services.store, server.services.settings, server.clock)
    )
    assert info.password
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        page = await client.get(f"/archive/{ARCHIVE_SLUG}")
        raw = await client.get(f"/archive/{ARCHIVE_SLUG}.md")
        safe = await client.get(f"/archive/{ARCHIVE_SLUG}.safe.md")
    assert f'href="/archive/{ARCHIVE_SLUG}.safe.md"' in page.text
    assert (
        safe.status_code == 200 and safe.headers["content-type"] == "text/markdown; charset=utf-8"
    )
    assert safe.headers["cache-control"] == raw.headers["cache-control"]
    # The same document: the title line and every heading agree with the raw export.
    headings = [line for line in raw.text.splitlines() if line.startswith("#")]
    assert headings and headings == [
        line for line in safe.text.splitlines() if line.startswith("#")
    ]
    assert markdown_to_html(safe.text) == markdown_to_html(raw.text)
