"""The `livepanel` command: serve, migrate, demo, create-editor, invite, export, copy-db,
forget-reader."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import getpass
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from panel import redis_client
from panel.actions import Actions
from panel.branding import branding_problem
from panel.clock import Clock, SystemClock
from panel.config import Settings
from panel.demo import DemoInfo, load_demo
from panel.domain import Actor, RuleError, parse_iso
from panel.mail.config import mail_problem
from panel.serving import uvicorn_options
from panel.store import Store, StoreError, display_url, store_for_url

if TYPE_CHECKING:
    from starlette.applications import Starlette

T = TypeVar("T")
DEMO_DB = "sqlite:///livepanel-demo.db"


class CommandError(Exception):
    """A failure to report as one line, with exit status 2."""


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = store_for_url(settings.db_url)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        db_url=getattr(args, "db", None),
        redis_url=getattr(args, "redis", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        public_url=getattr(args, "public_url", None),
    )


def _demo_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        raise CommandError(f"--demo-at: {text!r} is not an ISO date and time") from None


def _load_demo(settings: Settings, clock: Clock, demo_at: str | None, base_url: str) -> None:
    """Load the demo, printing the logins before the load is marked complete (a kill
    after the mark must not lose the password; a kill before it means a fresh load)."""
    at = _demo_at(demo_at)
    _with_store(
        settings,
        lambda store: load_demo(
            store, settings, clock, at, report=lambda info: _print_demo(info, base_url)
        ),
    )


def _print_demo(info: DemoInfo, base_url: str) -> None:
    print("Livepanel demo loaded." if info.loaded else "Livepanel demo data already present.")
    if info.password:
        print(
            f"  Editor desk: {base_url}/desk/login  user: {info.editor}  password: {info.password}"
        )
    else:
        print(f"  Editor desk: {base_url}/desk/login  user: {info.editor} (existing account)")
    if info.invites:
        print("  Panelist invite links:")
        for name, path in info.invites:
            print(f"    {name}: {base_url}{path}")
    sys.stdout.flush()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is already in use; stop the other "
                "server or choose another port with --port"
            ) from None
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from panel.app import create_app

    fresh_demo = args.demo and not args.db
    if fresh_demo:
        args.db = DEMO_DB
    settings = _settings(args)
    _check_scale_out(settings, args.workers)
    _check_branding(settings)
    _check_address_lists(settings)
    _check_mail(settings)
    sock = _bind(settings.host, settings.port)  # before touching any file: fail fast
    if fresh_demo:
        # The demo database is disposable: start it fresh so "now" is inside the first slot.
        for suffix in ("", "-wal", "-shm"):
            Path(DEMO_DB.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    clock = SystemClock()
    if args.demo:
        _load_demo(settings, clock, args.demo_at, base_url)
    else:
        _with_store(settings, lambda store: asyncio.sleep(0))  # fail early on a bad --db
    options: dict[str, Any] = uvicorn_options(settings)
    _warn_without_public_url(settings)
    _warn_without_secret()  # after every check that can fail: a failure stays one line
    print(f"Serving on {base_url}", flush=True)
    if args.workers == 1:
        config = uvicorn.Config(create_app(settings, clock), **options)
        _freeze_start_up()
        with _stopping_is_success():
            uvicorn.Server(config).run(sockets=[sock])
        return
    # Each worker is a fresh process (spawned by uvicorn's supervisor) that builds its own
    # app from the environment, so the settings from the flags travel there.
    os.environ.update(_settings_env(settings))
    config = uvicorn.Config("panel.cli:worker_app", factory=True, workers=args.workers, **options)
    Multiprocess(config, sockets=[sock]).run()


class _Stopped(Exception):
    """SIGTERM arrived and uvicorn has shut down gracefully."""


@contextlib.contextmanager
def _stopping_is_success() -> Iterator[None]:
    """uvicorn stops gracefully on SIGTERM and then raises the signal again, so that the
    process died of it (status -15). Being asked to stop and stopping is a success: exit 0.
    (The handler is in place before uvicorn installs its own, which restores it.)"""

    def stopped(signum: int, frame: object) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stopped)
    try:
        yield
    except _Stopped:
        logging.getLogger(__name__).info("stopped by SIGTERM")
    finally:
        signal.signal(signal.SIGTERM, previous)


def worker_app() -> Starlette:
    """The app of one `serve --workers N` worker: settings from LIVEPANEL_* (set by serve)."""
    from panel.app import create_app

    _configure_logging()  # a spawned worker starts with uvicorn's loggers only
    app = create_app(Settings.from_env(), SystemClock())
    _freeze_start_up()
    return app


def _freeze_start_up() -> None:
    """Everything loaded so far (modules, templates, the app) lives as long as the process:
    move it out of the collector's sight, so that a full collection scans only what the
    requests made since (some 40,000 objects fewer; a full collection of them took 14 ms)."""
    gc.collect()
    gc.freeze()


def _settings_env(settings: Settings) -> dict[str, str]:
    env = {
        "LIVEPANEL_DB": settings.db_url,
        "LIVEPANEL_HOST": settings.host,
        "LIVEPANEL_PORT": str(settings.port),
        "LIVEPANEL_PUBLIC_URL": settings.public_url,
        "LIVEPANEL_REDIS_PREFIX": settings.redis_prefix,
    }
    if settings.redis_url:
        env["LIVEPANEL_REDIS"] = settings.redis_url
    return env


def _warn_without_secret() -> None:
    """A random secret signs cookies anew at each start: every reader becomes someone new
    and editors sign in again. Questions retried with an Idempotency-Key are still found
    (panel/idempotency.py), but say so, once, at start-up."""
    if not os.environ.get("LIVEPANEL_SECRET"):
        print(
            "livepanel: warning: LIVEPANEL_SECRET is not set; a random one signs cookies, so a "
            "restart signs everyone out and readers lose their 'Your questions'",
            file=sys.stderr,
            flush=True,
        )


def _check_scale_out(settings: Settings, workers: int) -> None:
    """Several processes act as one site only with one secret (cookies signed in one are
    accepted by the others) and one Redis (frames, audience, limits, lockouts)."""
    if workers < 1:
        raise CommandError("--workers must be 1 or more")
    if (workers > 1 or settings.redis_url) and not os.environ.get("LIVEPANEL_SECRET"):
        raise CommandError(
            "set LIVEPANEL_SECRET (the same in every process) to run with --workers above 1 "
            "or with Redis: each process must accept the cookies the others signed"
        )
    if workers > 1 and not settings.redis_url:
        raise CommandError(
            "--workers above 1 needs --redis (or LIVEPANEL_REDIS): the workers share live "
            "frames, audience counts and rate limits through it"
        )
    if settings.redis_url:
        try:
            redis_client.check(settings.redis_url)
        except ValueError as exc:
            raise CommandError(str(exc)) from None


def _check_branding(settings: Settings) -> None:
    """An accent colour without WCAG AA contrast (and other unusable branding) stops here."""
    problem = branding_problem(settings)
    if problem:
        raise CommandError(problem)


def _check_mail(settings: Settings) -> None:
    """A bad LIVEPANEL_SMTP_URL (or half the mail settings) stops here, as one line, not at
    the first message."""
    problem = mail_problem(settings)
    if problem:
        raise CommandError(problem)


def _check_address_lists(settings: Settings) -> None:
    """A mistyped proxy or allowlist entry stops here, as one line, not at the first request."""
    from panel.web.proxies import Networks

    for flag, entries in (
        ("LIVEPANEL_TRUSTED_PROXIES", settings.trusted_proxies),
        ("LIVEPANEL_METRICS_ALLOW", settings.metrics_allow),
    ):
        try:
            Networks(entries)
        except ValueError as exc:
            raise CommandError(f"{flag}: {exc}") from None


def _warn_without_public_url(settings: Settings) -> None:
    """Without a public URL, absolute links (feed, share cards, calendar, invites) are built
    from each request's Host header, which a client chooses."""
    if not settings.public_url:
        logging.getLogger("panel.cli").warning(
            "no public URL is set (--public-url or LIVEPANEL_PUBLIC_URL): absolute links "
            "follow each request's Host header, and cookies and HSTS assume plain http"
        )


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def work(store: Store) -> None:
        return None

    _with_store(settings, work)  # opening the store applies pending migrations
    print(f"Database {display_url(settings.db_url)} is up to date.")


def cmd_demo(args: argparse.Namespace) -> None:
    settings = _settings(args)
    base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    _load_demo(settings, SystemClock(), args.demo_at, base_url)


def cmd_create_editor(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the passwords do not match")

    async def work(store: Store) -> int:
        return await Actions(store, SystemClock(), settings).create_editor(
            args.username, password, role=args.role
        )

    _with_store(settings, work)
    print(f"Editor {args.username!r} created ({args.role}).")


def cmd_invite(args: argparse.Namespace) -> None:
    settings = _settings(args)

    async def work(store: Store) -> str:
        async with store.read() as repo:
            event = await repo.event_by_slug(args.event_slug)
        if event is None:
            raise CommandError(f"no event called {args.event_slug!r}")
        return await Actions(store, SystemClock(), settings).create_invite(
            event.id, args.panelist_id
        )

    token = _with_store(settings, work)
    print(f"{settings.public_url or f'http://{settings.host}:{settings.port}'}/invite/{token}")


def cmd_export(args: argparse.Namespace) -> None:
    """Write a published transcript to stdout as Markdown, JSON or a standalone HTML page."""
    import json

    from panel import exports

    settings = _settings(args)

    async def work(store: Store) -> str | None:
        async with store.read() as repo:
            row = await repo.published_document(args.event_slug)
        return None if row is None else str(row["published_json"])

    raw = _with_store(settings, work)
    if raw is None:
        raise CommandError(f"no published transcript for {args.event_slug!r}")
    document = json.loads(raw)
    base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    if args.format == "md":
        text = exports.transcript_markdown(document, base_url)
    elif args.format == "json":
        text = (
            json.dumps(exports.transcript_json(document, base_url), ensure_ascii=False, indent=2)
            + "\n"
        )
    else:
        text = exports.transcript_html(document, base_url, settings.templates_dir)
    sys.stdout.write(text)
    sys.stdout.flush()


def cmd_forget_reader(args: argparse.Namespace) -> None:
    """Erase the identifying data of the reader who asked a question (docs/security.md)."""
    from panel.forgetting import Forgetting

    settings = _settings(args)
    actor = Actor("system", "cli", args.by)

    async def work(store: Store) -> Any:
        return await Forgetting(store, SystemClock()).forget_reader(args.question_id, actor)

    done = _with_store(settings, work)
    print(
        f"Forgot the reader of question {args.question_id}: {done.questions} question(s) "
        f"unlinked ({done.names} with a name, now erased), {done.upvotes} upvote(s) and "
        f"{done.reports} report(s) kept under pseudonyms, {done.frames} logged frame(s) and "
        f"{done.transcripts} published transcript(s) and {done.mails} digest letter(s) "
        "rewritten. The question text is kept."
    )


def cmd_copy_db(args: argparse.Namespace) -> None:
    """Copy a whole site into an empty database (SQLite to PostgreSQL or back)."""
    from panel.store.copy import copy_database

    def progress(table: str, rows: int) -> None:
        print(f"  {table}: {rows} rows", flush=True)

    source, target = display_url(args.source), display_url(args.target)
    print(f"Copying {source} to {target} ...", flush=True)
    total = asyncio.run(copy_database(args.source, args.target, progress))
    print(f"Copied {total} rows from {source} to {target}.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livepanel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--db",
            help="database URL: sqlite:///path/to/file.db (default sqlite:///livepanel.db)"
            " or postgresql://user@host:port/db; env LIVEPANEL_DB",
        )
        return p

    serve = with_db(sub.add_parser("serve", help="run the server (migrates first)"))
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument(
        "--redis", help="Redis URL shared by several processes (env LIVEPANEL_REDIS)"
    )
    serve.add_argument("--public-url", dest="public_url", help="the site's public address")
    serve.add_argument("--demo", action="store_true", help="load the demo data")
    serve.add_argument("--demo-at", dest="demo_at", help="place the demo around this instant")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the port (1)"
    )
    serve.set_defaults(func=cmd_serve)

    with_db(sub.add_parser("migrate", help="apply schema migrations")).set_defaults(
        func=cmd_migrate
    )
    demo = with_db(sub.add_parser("demo", help="load the demo data (idempotent)"))
    demo.add_argument("--demo-at", dest="demo_at", help="place the demo around this instant")
    demo.set_defaults(func=cmd_demo)

    editor = with_db(sub.add_parser("create-editor", help="create an editor account"))
    editor.add_argument("username")
    editor.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    editor.add_argument("--role", choices=["editor", "admin"], default="editor")
    editor.set_defaults(func=cmd_create_editor)

    invite = with_db(sub.add_parser("invite", help="print a fresh invite URL for a panelist"))
    invite.add_argument("event_slug")
    invite.add_argument("panelist_id", type=int)
    invite.add_argument("--public-url", dest="public_url")
    invite.set_defaults(func=cmd_invite)

    export = with_db(sub.add_parser("export", help="write a published transcript to stdout"))
    export.add_argument("event_slug")
    export.add_argument(
        "--format", choices=["md", "json", "html"], default="md", help="md (default), json or html"
    )
    export.add_argument(
        "--public-url", dest="public_url", help="the site's public address, for links in the export"
    )
    export.set_defaults(func=cmd_export)

    forget = with_db(
        sub.add_parser(
            "forget-reader",
            help="erase the identifying data of the reader who asked a question",
            description="Find the reader who asked QUESTION_ID (the id on their question's "
            "link) and cut every question, upvote and report of theirs loose from their "
            "reader id, erasing the names they gave, in every event, in one audited "
            "transaction. Question texts and counts are kept (docs/security.md).",
        )
    )
    forget.add_argument("question_id", type=int, help="one of the reader's questions")
    forget.add_argument(
        "--by", default="", help="who made the change, for the audit log (e.g. your name)"
    )
    forget.set_defaults(func=cmd_forget_reader)

    copy = sub.add_parser(
        "copy-db",
        help="copy a whole site into an empty database (SQLite to PostgreSQL or back)",
        description="Copy every table from one database to another, empty one (migrated "
        "first if new), in one transaction; ids and event logs continue where they were. "
        "The source must be at the latest schema version (run `livepanel migrate` on it) "
        "and should not be written during the copy: stop the servers first (the copy reads "
        "one snapshot, so later writes would be left behind).",
    )
    copy.add_argument("--from", dest="source", required=True, help="the source database URL")
    copy.add_argument("--to", dest="target", required=True, help="the empty target's URL")
    copy.set_defaults(func=cmd_copy_db)
    return parser


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    _configure_logging()
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CommandError, StoreError, RuleError) as exc:
        message = exc.message if isinstance(exc, RuleError) else str(exc)
        print(f"livepanel: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
