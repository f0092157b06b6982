"""The full fan-out run (issue 12, item 5): every size, a burst, and the issue's targets.

Steady runs at 1,000, 5,000 and 10,000 readers at 5 messages a second, then a burst of 100
messages at 20 a second to 10,000 readers; each run is `python -m bench fanout`'s (the bare
relay, then Livepanel, fresh servers each). Client processes: at least --procs, and one per
2,500 readers (4 at 10,000). Writes one JSON file, a Markdown report (command line, date,
machine, ratios to the relay, a pass/miss column against each target) and a PNG plot.

    python -m bench full                      # the full run: a quiet machine, about 10 minutes
    python -m bench full --readers 200 500 --burst-readers 500 --burst-messages 40   # small
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import fanout, plot

LARGE = 10_000  # from this many readers on, the "10,000 readers on one event" targets
Run = dict[str, Any]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--readers", type=int, nargs="+", default=[1000, 5000, 10000])
    p.add_argument("--messages", type=int, default=50, help="messages per steady run")
    p.add_argument("--rate", type=float, default=5.0, help="steady messages per second")
    p.add_argument(
        "--burst-readers", type=int, default=10000, help="readers in the burst (0: no burst)"
    )
    p.add_argument("--burst-messages", type=int, default=100)
    p.add_argument("--burst-rate", type=float, default=20.0, help="burst messages per second")
    p.add_argument("--procs", type=int, default=2, help="client processes, at least (≥ 2)")
    p.add_argument(
        "--readers-per-process",
        type=int,
        default=2500,
        help="more client processes above this many readers each",
    )
    fanout.add_shared_options(
        p, "none", "what the readers offer; none by default, as in the issue's own table"
    )
    p.add_argument("--json", type=Path, default=fanout.ROOT / "artefacts/bench-full.json")
    p.add_argument("--markdown", type=Path, default=fanout.ROOT / "artefacts/bench-full.md")
    p.add_argument("--plot", type=Path, default=fanout.ROOT / "docs/performance-fanout.png")


def plan(args: argparse.Namespace) -> list[tuple[str, fanout.Options]]:
    """The runs, in order: ("steady" | "burst", options)."""
    sizes = [("steady", n, args.messages, args.rate) for n in args.readers]
    if args.burst_readers:
        sizes.append(("burst", args.burst_readers, args.burst_messages, args.burst_rate))
    return [
        (
            mode,
            fanout.Options(
                readers=readers,
                messages=messages,
                rate=rate,
                procs=max(args.procs, math.ceil(readers / args.readers_per_process)),
                compression=args.compression,
                handshakes=args.handshakes,
                server_cpus=args.server_cpus,
                client_cpus=args.client_cpus,
            ),
        )
        for mode, readers, messages, rate in sizes
    ]


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One of issue 12's targets: the runs it applies to, the figure it reads
    (`run[section][key]`), and its upper limit."""

    name: str
    applies: Callable[[Run], bool]
    section: str  # "livepanel", or "ratio" for Livepanel / relay
    key: str
    limit: float
    unit: str


def _every(run: Run) -> bool:
    return True


def _steady(run: Run) -> bool:
    return bool(run["mode"] == "steady")


def _below_large(run: Run) -> bool:
    return _steady(run) and run["readers"] < LARGE


def _up_to_5000(run: Run) -> bool:
    return _steady(run) and run["readers"] <= 5000


def _burst(run: Run) -> bool:
    return bool(run["mode"] == "burst")


ERRORS = ("lost", "duplicates", "out_of_order", "failed_readers")
TARGETS = [
    Target("0 lost, duplicated or out of order", _every, "livepanel", "errors", 0, ""),
    Target("delivery p99 ≤ 1.5× the relay's", _below_large, "ratio", "latency_p99_ms", 1.5, "×"),
    Target(
        "CPU per delivered frame ≤ 1.5× the relay's", _steady, "ratio", "cpu_us_per_frame", 1.5, "×"
    ),
    Target(
        "RSS per connection ≤ 2× the relay's", _below_large, "ratio", "rss_kib_per_conn", 2, "×"
    ),
    Target(
        "all readers connected and caught up within 5 s",
        _up_to_5000,
        "livepanel",
        "connect_all_s",
        5,
        " s",
    ),
    Target(
        "burst delivered with p99 under 1 s", _burst, "livepanel", "latency_p99_ms", 1000, " ms"
    ),
]


def measured(run: Run, section: str, key: str) -> float | None:
    """One figure of a run; "errors" is lost + duplicated + out of order + failed readers."""
    if key == "errors":
        return float(sum(run[section][k] for k in ERRORS))
    value = run[section][key]
    return None if value is None else float(value)


def targets(runs: list[Run]) -> list[dict[str, Any]]:
    """Each target against each run it applies to: measured value, limit, pass or miss."""
    rows = []
    for target in TARGETS:
        for run in runs:
            if not target.applies(run):
                continue
            value = measured(run, target.section, target.key)
            met = value is not None and not math.isnan(value) and value <= target.limit
            rows.append(
                {
                    "target": target.name,
                    "run": label(run),
                    "measured": value,
                    "limit": target.limit,
                    "unit": target.unit,
                    "met": met,
                }
            )
    return rows


# --------------------------------------------------------------------------- the report


def label(run: Run) -> str:
    kind = "burst" if run["mode"] == "burst" else "steady"
    return f"{run['readers']:,} readers, {kind} {run['rate_per_s']:g}/s"


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=fanout.ROOT,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "tree": commit or "unknown",
    }


def loadavg() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _pair(run: Run, key: str) -> str:
    shown = run["ratio"][key]
    ratio = "–" if shown is None else f"{shown}×"
    return f"{run['baseline'][key]:,} / {run['livepanel'][key]:,} ({ratio})"


def _errors_of(r: dict[str, Any]) -> str:
    return f"{r['lost']}/{r['duplicates']}/{r['out_of_order']}/{r['failed_readers']}"


def markdown(report: dict[str, Any], plot_link: str | None) -> str:
    m = report["machine"]
    lines = [
        f"Full fan-out run, {report['date']}: `{report['command']}`",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, Linux {m['kernel']}, "
        f"tree `{m['tree']}`; load average (1, 5, 15 min) {report['load_before']} before, "
        f"{report['load_after']} after. Readers offer compression "
        f"`{report['compression']}`. Each cell: bare relay / Livepanel (ratio).",
        "",
        "| run | client processes | delivery p50 (ms) | delivery p99 (ms) "
        "| CPU per delivered frame (µs) | RSS per connection (KiB) "
        "| all caught up (s) | lost/dup/out-of-order/failed readers |",
        "|---|---:|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        cells = [
            label(run),
            str(run["client_processes"]),
            _pair(run, "latency_p50_ms"),
            _pair(run, "latency_p99_ms"),
            _pair(run, "cpu_us_per_frame"),
            _pair(run, "rss_kib_per_conn"),
            _pair(run, "connect_all_s"),
            f"{_errors_of(run['baseline'])} · {_errors_of(run['livepanel'])}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| target | run | measured | limit | result |", "|---|---|---:|---:|---|"]
    for row in report["targets"]:
        value = "–" if row["measured"] is None else f"{row['measured']:g}{row['unit']}"
        limit = f"{row['limit']:g}{row['unit']}"
        shown = "pass" if row["met"] else "**miss**"
        lines.append(f"| {row['target']} | {row['run']} | {value} | {limit} | {shown} |")
    lines.append("")
    if plot_link:
        lines += [f"![Delivery latency and CPU per frame against readers]({plot_link})", ""]
    lines += [
        "Per run (every figure; ratio = Livepanel / relay):",
        "",
        fanout.markdown(report["runs"]),
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace, argv: list[str]) -> int:
    """Run every size and the burst, then write the JSON, the Markdown and the plot."""
    if args.procs < 2:
        raise SystemExit("--procs must be at least 2: readers live in separate client processes")
    report: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "bench", *argv]),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "compression": args.compression,
        "load_before": loadavg(),
    }
    runs = []
    for mode, opts in plan(args):
        before = loadavg()
        run = asyncio.run(fanout.fanout(opts))
        runs.append({"mode": mode, **run, "load_before": before, "load_after": loadavg()})
    report.update(load_after=loadavg(), runs=runs, targets=targets(runs))
    for path in (args.json, args.markdown, args.plot):
        path.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    missing = plot.draw(report, args.plot)
    if missing:
        print(missing, file=sys.stderr)
    link = None if missing else os.path.relpath(args.plot, args.markdown.parent)
    table = markdown(report, link)
    args.markdown.write_text(table)
    print(table, file=sys.stderr)
    written = [args.json, args.markdown] + ([] if missing else [args.plot])
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    for problem in [p for run in runs for p in fanout.failures(run)]:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 0
