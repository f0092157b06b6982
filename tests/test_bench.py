"""The benchmark's own checks: a reader notices lost, repeated and out-of-order frames, the
full run's targets apply by size, and its report works with or without matplotlib."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import fanout, full, plot


def frame(seq: int, index: int) -> dict[str, Any]:
    body = fanout.BODY.format(i=index)
    return {"seq": seq, "type": "answer.published", "data": {"answer": {"body_md": body}}}


def test_reader_notices_gaps_duplicates_and_missing_frames() -> None:
    reader = fanout.Reader(messages=4)
    reader.last_seq = 10
    for message in (frame(11, 0), [frame(12, 1), frame(14, 2)], frame(14, 2)):
        fanout._livepanel_frames(reader, json.dumps(message), at=1.0)
    assert reader.got == 3  # message 3 never came
    assert reader.duplicates == 1  # message 2 twice
    assert reader.seq_errors == 2  # 12 -> 14 skips 13; 14 again is not 15
    assert fanout._livepanel_frames(reader, json.dumps({"type": "presence"}), at=1.0)


def server(**figures: float) -> dict[str, Any]:
    values: dict[str, Any] = {key: 10.0 for key, _ in fanout.COMPARED}
    values.update(lost=0, duplicates=0, out_of_order=0, failed_readers=0, errors=[])
    values.update(figures)
    return values


def run(mode: str, readers: int, lp: dict[str, Any], rate: float = 5.0) -> dict[str, Any]:
    baseline = server()
    return {
        "mode": mode,
        "readers": readers,
        "messages": 10,
        "rate_per_s": rate,
        "client_processes": 4,
        "compression": "none",
        "baseline": baseline,
        "livepanel": lp,
        "ratio": {key: fanout.ratio(lp[key], baseline[key]) for key, _ in fanout.COMPARED},
    }


def test_failures_name_lost_repeated_and_out_of_order_frames() -> None:
    broken = run("steady", 200, server(lost=3, duplicates=1, out_of_order=2))
    found = fanout.failures(broken)
    assert len(found) == 3
    assert all("livepanel" in line for line in found)
    assert fanout.failures(run("steady", 200, server())) == []


def test_targets_apply_by_size_and_mode() -> None:
    runs = [
        run("steady", 1000, server(latency_p99_ms=14.0, connect_all_s=6.0)),
        run("steady", 10000, server(cpu_us_per_frame=30.0, lost=1)),
        run("burst", 10000, server(latency_p99_ms=900.0), rate=20.0),
    ]
    rows = {(row["target"], row["run"]): row["met"] for row in full.targets(runs)}
    small, large, burst = (full.label(r) for r in runs)
    assert rows[("delivery p99 ≤ 1.5× the relay's", small)] is True
    assert rows[("all readers connected and caught up within 5 s", small)] is False
    assert rows[("0 lost, duplicated or out of order", large)] is False
    assert rows[("CPU per delivered frame ≤ 1.5× the relay's", large)] is False
    assert rows[("burst delivered with p99 under 1 s", burst)] is True
    # At 10,000 readers the issue sets no p99 or memory target; the burst is not steady.
    assert ("delivery p99 ≤ 1.5× the relay's", large) not in rows
    assert ("RSS per connection ≤ 2× the relay's", burst) not in rows


def report() -> dict[str, Any]:
    runs = [run("steady", 200, server()), run("burst", 500, server(), rate=20.0)]
    machine = {"cores": 2, "cpu": "test", "python": "3", "kernel": "6", "tree": "abc"}
    return {
        "command": "python -m bench full",
        "date": "today",
        "machine": machine,
        "compression": "none",
        "load_before": "0.10, 0.20, 0.30",
        "load_after": "0.40, 0.50, 0.60",
        "runs": runs,
        "targets": full.targets(runs),
    }


def test_without_matplotlib_the_plot_is_skipped_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises
    why = plot.draw(report(), tmp_path / "plot.png")
    assert why is not None and "matplotlib is not installed" in why
    assert not (tmp_path / "plot.png").exists()
    table = full.markdown(report(), None)
    assert "| target | run | measured | limit | result |" in table
    assert "![" not in table


def test_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    assert plot.draw(report(), tmp_path / "plot.png") is None
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")
