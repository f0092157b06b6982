"""The full run's PNG: delivery latency and server CPU per frame against readers.

matplotlib is optional (`pip install -e '.[bench]'`); without it `draw` says so and the full
run still writes its JSON and table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Per server: its key in a run, its name, its colour, its burst's marker.
SERVERS = (
    ("baseline", "bare websockets relay", "tab:gray", "X"),
    ("livepanel", "Livepanel", "tab:blue", "*"),
)


def draw(report: dict[str, Any], path: Path) -> str | None:
    """Write the plot to `path`; return why not if matplotlib is missing, else None."""
    try:
        import matplotlib
    except ImportError:
        return (
            f"matplotlib is not installed, so no plot was written to {path} "
            "(pip install -e '.[bench]'); the JSON and the table were written."
        )
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steady = [r for r in report["runs"] if r["mode"] == "steady"]
    bursts = [r for r in report["runs"] if r["mode"] == "burst"]
    figure, (latency, cpu) = plt.subplots(1, 2, figsize=(12, 4.8))
    for server, name, colour, marker in SERVERS:
        readers = [r["readers"] for r in steady]
        for key, style, which in (
            ("latency_p99_ms", "o-", "p99"),
            ("latency_p50_ms", "s--", "p50"),
        ):
            values = [r[server][key] for r in steady]
            latency.plot(readers, values, style, color=colour, label=f"{name} {which}")
        cpu.plot(
            readers, [r[server]["cpu_us_per_frame"] for r in steady], "o-", color=colour, label=name
        )
        for run in bursts:
            burst = f"{name}, burst {run['rate_per_s']:g}/s"
            for axes, key, suffix in (
                (latency, "latency_p99_ms", " p99"),
                (cpu, "cpu_us_per_frame", ""),
            ):
                value = run[server][key]
                axes.plot(
                    run["readers"], value, marker, markersize=12, color=colour, label=burst + suffix
                )
    if bursts:
        latency.axhline(1000, linestyle=":", color="tab:red", label="burst target: p99 1 s")
    latency.set(
        xscale="log",
        yscale="log",
        xlabel="readers",
        ylabel="delivery latency (ms)",
        title="Delivery latency, publish to reader",
    )
    cpu.set(
        xscale="log",
        xlabel="readers",
        ylabel="server CPU per delivered frame (µs)",
        title="Server CPU per delivered frame",
    )
    cpu.set_ylim(bottom=0)
    sizes = sorted({r["readers"] for r in report["runs"]})
    for axes in (latency, cpu):
        axes.set_xticks(sizes, [f"{n:,}" for n in sizes], minor=False)
        axes.set_xticks([], minor=True)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
    m = report["machine"]
    figure.suptitle(
        f"Fan-out, {report['date']}: {m['cores']} cores, tree {m['tree']}, "
        f"compression {report['compression']}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None
