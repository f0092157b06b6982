"""Sending one message over SMTP with aiosmtplib (the optional `mail` extra, imported here
only), and telling a refusal for good (5xx) from one worth trying again (4xx, or no server)."""

from __future__ import annotations

from email.message import EmailMessage

from panel.mail.config import SmtpTarget


class MailRefused(Exception):
    """An attempt failed; `permanent` when the server refused the message itself with a
    5xx, which no retry will change."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class SmtpSender:
    def __init__(self, target: SmtpTarget, timeout: float = 30.0) -> None:
        self.target = target
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` to the server, or raise MailRefused."""
        import aiosmtplib

        target = self.target
        try:
            await aiosmtplib.send(
                message,
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.security == "tls",
                start_tls=target.security == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reasons = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise MailRefused(
                f"recipient refused: {reasons}", permanent=all(c >= 500 for c in codes)
            ) from None
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            # The server took the connection and refused this message.
            raise MailRefused(f"{exc.code} {exc.message}", permanent=exc.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # No server, a timeout, TLS or sign-in trouble: the server's side, not the
            # message's; worth another try later.
            raise MailRefused(f"{type(exc).__name__}: {exc}", permanent=False) from None
