"""Settings: every knob in one frozen dataclass, read from CLI flags and LIVEPANEL_* env."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "sqlite:///livepanel.db"


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB
    redis_url: str | None = None
    # Every Redis key and pub/sub channel of this site starts with this, so that several
    # sites (or test runs) can share one Redis.
    redis_prefix: str = "livepanel:"
    host: str = "127.0.0.1"
    port: int = 8000
    # Signs cookies. A random default keeps a forgotten secret from being guessable,
    # at the price of logging everyone out on restart.
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    public_url: str = ""
    templates_dir: Path = ROOT / "templates"
    static_dir: Path = ROOT / "static"
    uploads_dir: Path = ROOT / "uploads"
    # Parent sites allowed to frame the embed widget (CSP frame-ancestors).
    embed_ancestors: tuple[str, ...] = ()
    # Limits on reader input.
    question_max_chars: int = 2000
    name_max_chars: int = 60
    answer_max_chars: int = 20000
    questions_per_minute_reader: int = 5
    questions_per_minute_ip: int = 30
    upvotes_per_minute_ip: int = 60
    reports_per_minute_reader: int = 5
    reports_per_minute_ip: int = 30
    # The console: a backstage note's length, and how long an untouched answer box keeps
    # its "being answered by" mark.
    note_max_chars: int = 1000
    claim_idle_seconds: int = 120
    # Live stream tuning.
    send_queue_frames: int = 256
    # Recent frames the hub keeps encoded per followed event: catch-up and resume within
    # this window never read the database.
    ring_frames: int = 1024
    presence_interval: float = 10.0
    # Upvote counts: at most one question.updated per question per window beyond the first
    # vote's own (panel/votes.py).
    vote_frame_seconds: float = 1.0
    # Question counts: at most one `counts` frame per event per window (panel/live/counts.py).
    counts_frame_seconds: float = 1.0
    ws_max_message_bytes: int = 64 * 1024
    # Editors' and panelists' sessions (panel/sessions.py): ended after this long without a
    # request, and in any case this long after sign-in.
    session_idle_seconds: int = 12 * 3600
    session_max_seconds: int = 7 * 24 * 3600
    # Undo on the desk (panel/undo.py): the server accepts an undo this long after the
    # action; the desk shows the Undo button for the shorter time, so a slow click still works.
    undo_seconds: int = 30
    undo_button_seconds: int = 10
    # Branding (panel/branding.py checks them at start-up): the name in titles, og:site_name,
    # the feed and the masthead; an optional logo beside it; the colour of links and buttons
    # (refused unless it keeps WCAG AA contrast); the footer's sentence ("" keeps the default).
    site_name: str = "Livepanel"
    logo_url: str = ""
    accent: str = "#8a1c1c"
    footer_text: str = ""
    # Live sockets: caps, presence and replays (panel/live/caps.py, hub.py). Per process.
    # Per client address (an IPv6 /64): a newsroom or a campus behind one NAT address has
    # a few hundred readers at most on one event; an attacker's 2,000 are refused.
    max_sockets_per_ip: int = 256
    # In all: twice the 10,000 readers a process is built for (docs/performance.md); at
    # about 70 KiB a socket (with permessage-deflate) some 1.4 GB at most.
    max_sockets: int = 20000
    # Encoded catch-up pages older than the ring, kept per process for replays from far
    # back (bytes), and how many catch-up reads of the log may run at once.
    replay_cache_bytes: int = 32 * 1024 * 1024
    replay_log_reads: int = 2
    # Proxies, headers, logs and privacy (issue 16; docs/security.md).
    # Peers (addresses or CIDR ranges) whose X-Forwarded-For and X-Forwarded-Proto are
    # believed (panel/web/proxies.py); none by default, so a client cannot pose as another.
    trusted_proxies: tuple[str, ...] = ()
    # /metrics (panel/web/metrics_access.py): a bearer token and/or an allowlist of client
    # addresses, each required when set; both empty leaves it open (aggregate counts only).
    metrics_token: str = ""
    metrics_allow: tuple[str, ...] = ()
    # The most bytes a request line and headers may take; more gets 431 (panel/serving.py).
    max_header_bytes: int = 16 * 1024
    # -- Sessions, sign-in and idempotency (issue 16) --
    # An open staff socket re-reads its session this often, so a sign-out whose announcement
    # was lost between processes (Redis away) still closes it within this bound.
    session_recheck_seconds: int = 60
    # Slow readers (issue 16; panel/web/socketguard.py). A live socket whose reader stops
    # reading is aborted (a TCP reset: its close frame could not reach it anyway) once one
    # send to it has been blocked this long, or once it holds this much unread (its
    # transport's buffer plus its backlog of frames). The kernel's send buffer of each live
    # socket is capped too, so that what a reader holds unread is bounded and measurable.
    live_send_timeout: float = 10.0
    live_unread_bytes: int = 1024 * 1024
    live_socket_sndbuf: int = 64 * 1024
    # -- Email (issue 17; panel/mail/, panel/outbox.py, docs/operations.md) --
    # The SMTP server (smtp://, smtp+starttls:// or smtps://; credentials percent-encoded
    # in the URL) and the From address. Both empty: email is off, and the digest can still
    # be downloaded. One without the other, or a bad URL, stops start-up.
    smtp_url: str = ""
    mail_from: str = ""
    # The outbox: attempts per message before it is marked failed, and the first retry's
    # delay, tripled at each attempt after it (8 attempts: retries after 1, 3, 9, 27, 81,
    # 243 and 729 minutes, some 18 hours in all).
    mail_attempts: int = 8
    mail_first_retry_seconds: float = 60.0
    # One SMTP conversation's time limit (connect, TLS, sign-in, the message).
    mail_timeout_seconds: float = 30.0
    # Sent and failed messages are deleted this many days after they were queued (they hold
    # panelists' addresses and readers' names); 0 keeps them. Queued ones are never deleted.
    mail_keep_days: float = 30.0

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from LIVEPANEL_* variables; explicit overrides (CLI flags) win."""
        env = os.environ
        values: dict[str, object] = {}
        for name, var in (
            ("db_url", "LIVEPANEL_DB"),
            ("redis_url", "LIVEPANEL_REDIS"),
            ("redis_prefix", "LIVEPANEL_REDIS_PREFIX"),
            ("host", "LIVEPANEL_HOST"),
            ("secret", "LIVEPANEL_SECRET"),
            ("public_url", "LIVEPANEL_PUBLIC_URL"),
            ("site_name", "LIVEPANEL_SITE_NAME"),
            ("logo_url", "LIVEPANEL_LOGO_URL"),
            ("accent", "LIVEPANEL_ACCENT"),
            ("footer_text", "LIVEPANEL_FOOTER_TEXT"),
            ("smtp_url", "LIVEPANEL_SMTP_URL"),
            ("mail_from", "LIVEPANEL_MAIL_FROM"),
        ):
            if env.get(var):
                values[name] = env[var]
        if env.get("LIVEPANEL_PORT"):
            values["port"] = int(env["LIVEPANEL_PORT"])
        for name, var in (
            ("max_sockets_per_ip", "LIVEPANEL_MAX_SOCKETS_PER_IP"),
            ("max_sockets", "LIVEPANEL_MAX_SOCKETS"),
        ):
            if env.get(var):
                values[name] = int(env[var])
        for name, var in (
            ("presence_interval", "LIVEPANEL_PRESENCE_INTERVAL"),
            ("mail_keep_days", "LIVEPANEL_MAIL_KEEP_DAYS"),
        ):
            if env.get(var):
                values[name] = float(env[var])
        for name, var, kind in (
            ("live_send_timeout", "LIVEPANEL_LIVE_SEND_TIMEOUT", float),
            ("live_unread_bytes", "LIVEPANEL_LIVE_UNREAD_BYTES", int),
            ("live_socket_sndbuf", "LIVEPANEL_LIVE_SNDBUF", int),
        ):
            if env.get(var):
                values[name] = kind(env[var])
        if env.get("LIVEPANEL_EMBED_ANCESTORS"):
            values["embed_ancestors"] = tuple(env["LIVEPANEL_EMBED_ANCESTORS"].split())
        for name, var in (
            ("trusted_proxies", "LIVEPANEL_TRUSTED_PROXIES"),
            ("metrics_allow", "LIVEPANEL_METRICS_ALLOW"),
        ):
            if env.get(var):  # commas or spaces between entries
                values[name] = tuple(env[var].replace(",", " ").split())
        if env.get("LIVEPANEL_METRICS_TOKEN"):
            values["metrics_token"] = env["LIVEPANEL_METRICS_TOKEN"]
        if env.get("LIVEPANEL_MAX_HEADER_BYTES"):
            values["max_header_bytes"] = int(env["LIVEPANEL_MAX_HEADER_BYTES"])
        if env.get("LIVEPANEL_UPLOADS"):
            values["uploads_dir"] = Path(env["LIVEPANEL_UPLOADS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
