"""Browser-test helpers shared by the suites: axe-core checks, small PNGs, signed-in editors.

The suite's fixtures live in conftest.py and its page objects in pages.py; this module adds
what several test files need on top of them.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import LiveServer

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
  }));
}"""


def assert_accessible(page: Page, where: str) -> None:
    """axe-core (injected by open_page(..., axe=axe_source)) finds no WCAG 2.1 A/AA violation.

    The page's context needs JavaScript on: axe.run waits on timers, which never fire in a
    context opened with js=False (evaluate would hang), so check a JS-off page's markup from a
    second context (e.g. with the same storage_state)."""
    assert page.evaluate("typeof window.axe === 'object'"), f"axe-core was not injected ({where})"
    try:
        page.wait_for_function(
            "new Promise((done) => setTimeout(() => done(true), 0))", timeout=5_000
        )
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"axe cannot run on {where}: JavaScript is off in its context"
        ) from None
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_TAGS)
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {node}" for node in v["nodes"]]
    assert not violations, f"axe on {where} ({page.url}):\n" + "\n".join(lines)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small, valid, solid-colour RGB PNG (signature, IHDR, one zlib IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def sign_in(
    open_page: Callable[..., Page], server: LiveServer, username: str, password: str, **options: Any
) -> Page:
    """A new browser context (one person) signed in to the desk through the login form."""
    page = open_page(server.url, "/desk/login", **options)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/desk$"))
    return page
