"""Panelists' Markdown rewritten so that any Markdown renderer shows what our pages show.

The `.md` export carries panelists' Markdown as they typed it, raw HTML included, which a
CMS whose renderer allows HTML would run. The sanitised variant (`/archive/{slug}.safe.md`)
parses it as the pages do (CommonMark, raw HTML off, so typed HTML is text) and writes it
back out: every piece of text escaped, links kept only to http, https and mailto, images as
their alt text, code in fences longer than any run of backticks inside it. Nothing in the
output is raw HTML or a script URL, whatever renderer reads it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_md.enable(["strikethrough", "table"])

SAFE_SCHEMES = {"http", "https", "mailto"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~!&])")
_MD_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])", re.MULTILINE)
_INLINE_WRAP = {"em": "*", "strong": "**", "s": "~~"}


def safe_markdown(source: str) -> str:
    """`source` as Markdown with no raw HTML and no link but http, https and mailto."""
    return _blocks(SyntaxTreeNode(_md.parse(source)).children, tight=False)


def md_escape(text: str) -> str:
    """Plain text as Markdown that shows literally (no markup, no raw HTML, no entity)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    """A backslash before the list or quote marker's punctuation ("1\\.", not "\\1.", which
    CommonMark shows with its backslash)."""
    space, marker = match.groups()
    return f"{space}{marker[:-1]}\\{marker[-1]}"


def _blocks(nodes: list[SyntaxTreeNode], tight: bool) -> str:
    return ("\n" if tight else "\n\n").join(_block(node) for node in nodes)


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children)
    if kind == "heading":
        return "#" * int(node.tag[1]) + " " + " ".join(_inline(node.children).split("\n"))
    if kind == "hr":
        return "* * *"
    if kind in ("fence", "code_block"):
        fence = "`" * max(3, _longest_run(node.content, "`") + 1)
        info = re.sub(r"[^\w+-]", "", node.info.split(" ")[0]) if kind == "fence" else ""
        return f"{fence}{info}\n{node.content}{fence}"
    if kind == "blockquote":
        inner = _blocks(node.children, tight=False)
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "table":
        return _table(node)
    return md_escape(node.content)  # nothing else is parsed with raw HTML off; shown as text


def _list(node: SyntaxTreeNode) -> str:
    start = int(node.attrs.get("start", 1))
    items = []
    tight = all(
        child.hidden
        for item in node.children
        for child in item.children
        if child.type == "paragraph"
    )
    for number, item in enumerate(node.children, start):
        # The item's own delimiter: two lists in a row differ only by it ("-" then "+").
        delimiter = item.markup or ("." if node.type == "ordered_list" else "-")
        marker = f"{number}{delimiter} " if node.type == "ordered_list" else f"{delimiter} "
        lines = _blocks(item.children, tight).split("\n") or [""]
        indent = " " * len(marker)
        rest = [indent + line if line else "" for line in lines[1:]]
        items.append("\n".join([marker + lines[0], *rest]))
    return ("\n" if tight else "\n\n").join(items)


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    aligns: list[str] = []
    for section in node.children:
        for row in section.children:
            cells = []
            for cell in row.children:
                cells.append(_inline(cell.children).replace("\n", " "))
                if section.type == "thead":
                    style = str(cell.attrs.get("style", ""))
                    left, right = (
                        style.endswith(("left", "center")),
                        style.endswith(("right", "center")),
                    )
                    aligns.append((":" if left else "") + "---" + (":" if right else ""))
            rows.append(cells)
    lines = [f"| {' | '.join(row)} |" for row in rows]
    lines.insert(1, f"| {' | '.join(aligns)} |")
    return "\n".join(lines)


def _inline(nodes: list[SyntaxTreeNode]) -> str:
    out = []
    for node in nodes:
        kind = node.type
        if kind == "inline":
            out.append(_inline(node.children))
        elif kind == "text":
            out.append(md_escape(node.content))
        elif kind == "softbreak":
            out.append("\n")
        elif kind == "hardbreak":
            out.append("\\\n")
        elif kind in _INLINE_WRAP:
            wrap = _INLINE_WRAP[kind]
            out.append(wrap + _inline(node.children) + wrap)
        elif kind == "code_inline":
            out.append(_code_span(node.content))
        elif kind == "link":
            out.append(_link(str(node.attrs.get("href", "")), _inline(node.children)))
        elif kind == "image":  # our pages show no images: their description, as text
            out.append(_inline(node.children))
        else:
            out.append(md_escape(node.content))
    return "".join(out)


def _link(href: str, label: str) -> str:
    """A link whose address is http, https or mailto; anything else keeps only its words."""
    if urlsplit(href).scheme.lower() not in SAFE_SCHEMES:
        return label
    # markdown-it has percent-encoded spaces and controls; angle brackets cannot remain.
    destination = href.replace("<", "%3C").replace(">", "%3E")
    return f"[{label}](<{destination}>)"


def _code_span(content: str) -> str:
    ticks = "`" * (_longest_run(content, "`") + 1)
    pad = " " if content.startswith(("`", " ")) or content.endswith(("`", " ")) else ""
    return f"{ticks}{pad}{content}{pad}{ticks}"


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)
