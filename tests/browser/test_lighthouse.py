"""Lighthouse (from npm, installed by .ci/run into .ci/node) on the demo's live event page:
accessibility, best practices and SEO each score 0.95 or better, on a phone and a desktop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from panel.demo import LIVE_SLUG
from tests.browser.conftest import CHROMIUM, ROOT, missing
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

LIGHTHOUSE = Path(
    os.environ.get(
        "LIVEPANEL_LIGHTHOUSE", ROOT / ".ci" / "node" / "node_modules" / ".bin" / "lighthouse"
    )
)
CATEGORIES = ("accessibility", "best-practices", "seo")
MIN_SCORE = 0.95
RUN_SECONDS = 180


def lighthouse(url: str, report: Path, *options: str) -> dict[str, Any]:
    """One Lighthouse run in its own process group (so a hung Chromium is ended with it)."""
    command = [
        str(LIGHTHOUSE),
        url,
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json",
        f"--output-path={report}",
        "--chrome-flags=--headless --no-sandbox --disable-gpu",
        "--quiet",
        *options,
    ]
    proc = subprocess.Popen(
        command,
        env={**os.environ, "CHROME_PATH": str(CHROMIUM)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"Lighthouse did not finish in {RUN_SECONDS} s") from None
    assert proc.returncode == 0, f"Lighthouse failed ({proc.returncode}):\n{output[-3000:]}"
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def shortfalls(data: dict[str, Any]) -> list[str]:
    """The audits that cost points, for the failure message."""
    found = []
    for name in CATEGORIES:
        for ref in data["categories"][name]["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                found.append(f"{name}: {ref['id']} ({audit['title']})")
    return found


@pytest.mark.parametrize("form_factor", ["mobile", "desktop"])
def test_event_page_scores_at_least_0_95(
    form_factor: str, demo_server: tuple[LiveServer, Any], tmp_path: Path
) -> None:
    if not (LIGHTHOUSE.is_file() and os.access(LIGHTHOUSE, os.X_OK)):
        missing(
            f"Lighthouse not found at {LIGHTHOUSE}: run .ci/run, or "
            "`npm install --no-save --prefix .ci/node lighthouse@12.2.3`"
        )
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"Chromium not found at {CHROMIUM}: install Debian's chromium")
    server, _ = demo_server
    options = ["--preset=desktop"] if form_factor == "desktop" else []
    data = lighthouse(f"{server.url}/events/{LIVE_SLUG}", tmp_path / "report.json", *options)
    assert data["finalDisplayedUrl"].endswith(f"/events/{LIVE_SLUG}")
    assert not data.get("runtimeError"), data.get("runtimeError")
    scores = {name: data["categories"][name]["score"] for name in CATEGORIES}
    low = {name: score for name, score in scores.items() if score is None or score < MIN_SCORE}
    assert not low, f"{form_factor}: {scores}; points lost on {shortfalls(data)}"
