"""Mail over TLS against a real SMTP server: STARTTLS and implicit TLS with a sign-in, a
certificate the client does not trust, and a server that offers no STARTTLS (never a fall
back to plain text). The certificate is made here, self-signed for 127.0.0.1; the client
trusts it through SSL_CERT_FILE, as an operator's private CA would be trusted."""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from panel.mail.config import parse_smtp_url
from panel.mail.smtp import MailRefused, SmtpSender
from tests.mailhelpers import Recorder, free_port

USER, PASSWORD = "qa@example.org", "pw:Zq 81"
URL_CREDENTIALS = "qa%40example.org:pw%3AZq%2081"


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "livepanel test SMTP")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # Key identifiers, which OpenSSL's strict verification (Python 3.13's default) wants.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    paths = Certificate(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# aiosmtpd warns whenever a sign-in is allowed without its STARTTLS; here that is implicit TLS,
# or the server deliberately without TLS whose sign-in the client must never reach.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class SecureRecorder(Recorder):
    """Also records, for each accepted message, whether it came over TLS and who signed in."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, str | None]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        login = session.auth_data.login.decode() if session.authenticated else None
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.sessions.append((encrypted, login))
        return await super().handle_DATA(server, session, envelope)


def check_password(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


@contextlib.contextmanager
def tls_server(handler: Recorder, **options: Any) -> Iterator[int]:
    """aiosmtpd on 127.0.0.1 with TLS options and a required sign-in; yields its port."""
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=check_password,
        auth_required=True,
        **options,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def implicit_tls(certificate: Certificate) -> dict[str, Any]:
    """TLS from the first byte. aiosmtpd's auth_require_tls knows only STARTTLS, so it is
    turned off: this connection is TLS throughout."""
    return {"ssl_context": certificate.server_context(), "auth_require_tls": False}


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = USER, "panelist@example.org", "Digest"
    mail.set_content("Your questions.")
    return mail


async def send(url: str) -> None:
    await SmtpSender(parse_smtp_url(url), timeout=10).send(message())


@pytest.fixture
def trusted(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """The client trusts the test certificate (OpenSSL reads SSL_CERT_FILE per context)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    return certificate


async def test_starttls_with_a_sign_in_delivers_over_tls(trusted: Certificate) -> None:
    recorder = SecureRecorder()
    options = {"tls_context": trusted.server_context(), "require_starttls": True}
    with tls_server(recorder, **options) as port:
        await send(f"smtp+starttls://{URL_CREDENTIALS}@127.0.0.1:{port}")
    assert recorder.sessions == [(True, USER)]
    assert [m["Subject"] for m in recorder.messages] == ["Digest"]


async def test_implicit_tls_with_a_sign_in_delivers(trusted: Certificate) -> None:
    recorder = SecureRecorder()
    with tls_server(recorder, **implicit_tls(trusted)) as port:
        await send(f"smtps://{URL_CREDENTIALS}@127.0.0.1:{port}")
    assert recorder.sessions == [(True, USER)]


async def test_a_wrong_password_is_refused_and_worth_retrying(trusted: Certificate) -> None:
    """A sign-in failure is the server's side (the settings), not the message's: the outbox
    keeps the message for another try once an operator fixes the password."""
    recorder = SecureRecorder()
    server = tls_server(recorder, **implicit_tls(trusted))
    with server as port, pytest.raises(MailRefused) as refused:
        await send(f"smtps://qa%40example.org:wrong@127.0.0.1:{port}")
    assert not refused.value.permanent
    assert "wrong" not in str(refused.value)
    assert recorder.messages == []


async def test_a_certificate_the_client_does_not_trust_stops_the_message(
    certificate: Certificate,
) -> None:
    recorder = SecureRecorder()
    options = {"tls_context": certificate.server_context(), "require_starttls": True}
    with tls_server(recorder, **options) as port, pytest.raises(MailRefused) as refused:
        await send(f"smtp+starttls://{URL_CREDENTIALS}@127.0.0.1:{port}")
    assert not refused.value.permanent
    assert "certificate" in str(refused.value).lower()
    assert recorder.messages == []


async def test_starttls_never_falls_back_to_plain_text(trusted: Certificate) -> None:
    """A server (or a man in the middle) that offers no STARTTLS gets no password and no
    message: the URL asked for TLS."""
    recorder = SecureRecorder()
    plain = tls_server(recorder, auth_require_tls=False)  # no TLS, a sign-in allowed
    with plain as port, pytest.raises(MailRefused) as refused:
        await send(f"smtp+starttls://{URL_CREDENTIALS}@127.0.0.1:{port}")
    assert not refused.value.permanent
    assert "starttls" in str(refused.value).lower()
    assert recorder.messages == [] and recorder.sessions == []
