"""Top functions of a py-spy raw (collapsed-stack) profile, by own and by total samples.

    py-spy record --pid PID --format raw --rate 100 -o livepanel.txt
    python -m bench profile-table livepanel.txt --top 20

Each line of the raw format is `frame;frame;…;leaf COUNT`, outermost frame first. A
function's *own* samples are those where it is the leaf; its *total* samples those where it
is anywhere on the stack (counted once per stack, so recursion is not double-counted).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

# py-spy frames look like "name (path/to/file.py:123)"; the line number varies per sample.
FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def function_of(frame: str) -> str:
    found = FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found.group("file")
    for marker in ("site-packages/", "lib/python3.11/", "/work/wt-bench/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{found.group('name')} ({path})"


def load(path: Path) -> tuple[Counter[str], Counter[str], int]:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [function_of(f) for f in stack.split(";")]
        # py-spy prefixes the thread ("process 123:…" / "thread (0x…)") as the outermost frame.
        frames = [f for f in frames if not f.startswith(("process ", "thread ("))]
        if not frames:
            continue
        own[frames[-1]] += n
        for name in set(frames):
            total[name] += n
    return own, total, samples


def table(path: Path, top: int = 20) -> str:
    own, total, samples = load(path)
    lines = [
        f"{samples} samples. Own: the function itself is running; total: it is on the stack.",
        "",
        "| # | function (by own time) | own | total |",
        "|---:|---|---:|---:|",
    ]
    for rank, (name, n) in enumerate(own.most_common(top), 1):
        lines.append(
            f"| {rank} | `{name}` | {100 * n / samples:.1f}% | {100 * total[name] / samples:.1f}% |"
        )
    lines += ["", "| # | function (by total time) | total | own |", "|---:|---|---:|---:|"]
    for rank, (name, n) in enumerate(total.most_common(top), 1):
        lines.append(
            f"| {rank} | `{name}` | {100 * n / samples:.1f}% | {100 * own[name] / samples:.1f}% |"
        )
    return "\n".join(lines) + "\n"
