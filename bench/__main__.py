"""python -m bench {fanout,full,ingest,replay,all,profile-table}: see docs/performance.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bench import fanout, full, ingest, profile, replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("fanout", "fan-out: Livepanel against a bare websockets relay"),
        ("all", "every benchmark (fanout, ingest)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--readers", type=int, nargs="+", default=[1000])
        p.add_argument("--messages", type=int, default=50)
        p.add_argument("--rate", type=float, default=5.0, help="messages per second")
        p.add_argument("--procs", type=int, default=2, help="client processes (at least 2)")
        fanout.add_shared_options(
            p, "deflate", "what the readers offer (browsers offer permessage-deflate)"
        )
        p.add_argument(
            "--profile",
            type=Path,
            help="py-spy raw profile of Livepanel's burst (largest run) to this file",
        )
        p.add_argument(
            "--quick",
            action="store_true",
            help="200 readers, 20 messages, 2 processes; exit 1 on lost/out-of-order",
        )
        p.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Livepanel as `serve --workers N` with the Redis at 127.0.0.1:6379 (CPU and "
            "RSS summed over the workers)",
        )
        p.add_argument(
            "--tree",
            type=Path,
            default=fanout.ROOT,
            help="the Livepanel tree to serve (e.g. an older version from git archive), "
            "measured with this bench's own clients",
        )
        p.add_argument("--json", type=Path, help="write the JSON here instead of stdout")
        p.add_argument("--markdown", type=Path, help="also write the Markdown table here")
        add_ingest(p)
    p = sub.add_parser("ingest", help="ingest: questions at fixed open-loop rates, durable acks")
    add_ingest(p)
    p.add_argument("--procs", type=int, default=2, help="client processes (at least 2)")
    p.add_argument("--server-cpus", type=fanout.cpus, help="pin the server, e.g. 0")
    p.add_argument("--client-cpus", type=fanout.cpus, help="pin the client processes, e.g. 1")
    p.add_argument(
        "--profile", type=Path, help="py-spy raw profile of the server at the largest rate"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="50 questions/s for 2 s; exit 1 on lost or duplicated questions",
    )
    p.add_argument("--json", type=Path, help="write the JSON here instead of stdout")
    p.add_argument("--markdown", type=Path, help="also write the Markdown table here")
    p = sub.add_parser(
        "full", help="the full fan-out run: 1,000 to 10,000 readers and a burst; JSON, table, plot"
    )
    full.add_arguments(p)
    p = sub.add_parser(
        "replay", help="parallel replays from 0 of a long event: bytes, time, /healthz meanwhile"
    )
    replay.add_arguments(p)
    p = sub.add_parser("profile-table", help="top functions of a py-spy raw profile")
    p.add_argument("file", type=Path)
    p.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)

    if args.command == "profile-table":
        print(profile.table(args.file, args.top))
        return 0
    if args.command == "ingest":
        return run_ingest(args, parser)
    if args.command == "replay":
        return replay.main(args)
    if args.command == "full":
        return full.main(args, sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.readers, args.messages, args.procs, args.rate = [200], 20, 2, 10.0
    if args.procs < 2:
        parser.error("--procs must be at least 2: readers live in separate client processes")
    runs = []
    largest = max(args.readers)
    for readers in args.readers:
        opts = fanout.Options(
            readers=readers,
            messages=args.messages,
            rate=args.rate,
            procs=args.procs,
            compression=args.compression,
            handshakes=args.handshakes,
            server_cpus=args.server_cpus,
            client_cpus=args.client_cpus,
            profile=args.profile if readers == largest else None,
            workers=args.workers,
            tree=args.tree.resolve(),
        )
        runs.append(asyncio.run(fanout.fanout(opts)))
    results: dict[str, object] = {"fanout": runs}
    table = fanout.markdown(runs)
    problems = [p for run in runs for p in fanout.failures(run)]
    if args.command == "all":
        ingested = asyncio.run(ingest.ingest(ingest_options(args)))
        results["ingest"] = ingested
        table += "\n" + ingest.markdown(ingested)
        problems += ingest.failures(ingested)
    return report(args, results, table, problems)


def add_ingest(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rates", type=float, nargs="+", default=[100.0, 300.0, 1000.0], help="questions/s"
    )
    p.add_argument("--seconds", type=float, default=5.0, help="seconds per offered rate")
    p.add_argument(
        "--connections", type=int, default=256, help="HTTP connections per client process"
    )


def ingest_options(args: argparse.Namespace) -> ingest.Options:
    if args.quick:
        args.rates, args.seconds = [50.0], 2.0
    return ingest.Options(
        rates=args.rates,
        seconds=args.seconds,
        procs=max(2, args.procs),
        connections=args.connections,
        server_cpus=args.server_cpus,
        client_cpus=args.client_cpus,
        profile=args.profile if args.command == "ingest" else None,
    )


def run_ingest(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.procs < 2:
        parser.error("--procs must be at least 2: questions come from separate client processes")
    result = asyncio.run(ingest.ingest(ingest_options(args)))
    return report(args, {"ingest": result}, ingest.markdown(result), ingest.failures(result))


def report(
    args: argparse.Namespace, results: dict[str, object], table: str, problems: list[str]
) -> int:
    document = json.dumps(results, indent=2)
    if args.json:
        args.json.write_text(document + "\n")
    else:
        print(document)
    if args.markdown:
        args.markdown.write_text(table)
    print(table, file=sys.stderr)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems and args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
