"""LIVEPANEL_SMTP_URL and LIVEPANEL_MAIL_FROM, checked once at start-up.

The URL's scheme says how to talk to the server:

- `smtp://host[:25]`: plain SMTP, no TLS (a relay on the same host or network);
- `smtp+starttls://host[:587]`: STARTTLS, required (the submission port);
- `smtps://host[:465]`: TLS from the first byte (implicit TLS).

Credentials go in the URL's user part, percent-encoded (`smtp+starttls://me%40x.org:p%3Ass@…`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from panel.config import Settings
from panel.mail.address import valid_address

NOT_CONFIGURED = "Email is not configured: set LIVEPANEL_SMTP_URL and LIVEPANEL_MAIL_FROM"
# scheme -> (how the connection is secured, the default port)
SCHEMES = {"smtp": ("none", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = None

    def __str__(self) -> str:
        """Where mail goes, for messages and the desk: never the password."""
        who = f"{self.username}@" if self.username else ""
        return f"{who}{self.host}:{self.port} ({self.security})"


@dataclass(frozen=True)
class MailConfig:
    target: SmtpTarget
    sender: str  # the From header, e.g. "Newsroom Q&A <qa@example.org>"


def parse_smtp_url(url: str) -> SmtpTarget:
    """The server an SMTP URL names; ValueError with one line saying what is wrong."""
    shown = f"LIVEPANEL_SMTP_URL {_without_password(url)!r}"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{shown} is not a valid URL ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise ValueError(f"{shown} must start with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        raise ValueError(f"{shown} names no host, as in smtp+starttls://mail.example.org:587")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{shown} must be only a scheme, credentials, a host and a port")
    security, default_port = SCHEMES[parts.scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError(f"{shown} has a password but no user name")
    return SmtpTarget(parts.hostname, port or default_port, security, username, password)


def mail_config(settings: Settings) -> MailConfig | None:
    """The mail settings, None when email is not configured at all; ValueError (one line)
    when they are set but unusable."""
    if not settings.smtp_url and not settings.mail_from:
        return None
    if not settings.smtp_url:
        raise ValueError("LIVEPANEL_MAIL_FROM is set but LIVEPANEL_SMTP_URL is not: set both")
    target = parse_smtp_url(settings.smtp_url)
    if not settings.mail_from:
        raise ValueError("LIVEPANEL_SMTP_URL is set but LIVEPANEL_MAIL_FROM is not: set both")
    _, address = parseaddr(settings.mail_from)
    if not valid_address(address) or "\n" in settings.mail_from or "\r" in settings.mail_from:
        raise ValueError(
            f"LIVEPANEL_MAIL_FROM {settings.mail_from!r} is not an address such as "
            "qa@example.org or 'Newsroom Q&A <qa@example.org>'"
        )
    if importlib.util.find_spec("aiosmtplib") is None:
        raise ValueError(
            "LIVEPANEL_SMTP_URL is set but aiosmtplib is not installed: "
            "pip install 'livepanel[mail]'"
        )
    return MailConfig(target, settings.mail_from.strip())


def mail_problem(settings: Settings) -> str | None:
    """Why the mail settings cannot be used, as one line, or None (the CLI's exit 2)."""
    try:
        mail_config(settings)
    except ValueError as exc:
        return str(exc)
    return None


def _without_password(url: str) -> str:
    """The URL as it may be shown: any password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    userinfo, at, host = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"
