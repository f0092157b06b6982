"""A message as it goes out: multipart/alternative, plain text first, then HTML."""

from __future__ import annotations

import html as markup
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, now: datetime
) -> EmailMessage:
    """The message; a mail client shows the HTML part and falls back to the text."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = " ".join(subject.split())  # one line whatever the title held
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def html_document(title: str, fragment: str) -> str:
    """A whole HTML document around an email-safe fragment (which is already escaped)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{markup.escape(title)}</title></head><body>\n{fragment}\n</body></html>\n"
    )
