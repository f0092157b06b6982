"""A real `livepanel serve` in a subprocess on a loopback port, for tests that restart or
`kill -9` it: started, waited for (/healthz, with a deadline) and stopped by its pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent
DEMO_SLUG = "probation-officer-careers"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without LIVEPANEL_* (so no secret), importing this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEPANEL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until_serving(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    """Wait until `url`/healthz answers 200; fail at the deadline, or at once (with its log)
    if the serve process `proc` exits first."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:

        async def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited early:\n{log.read_text()}")
            try:
                return (await client.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(healthy, timeout=timeout, interval=0.1, message=f"{url} to answer")


class ServerProcess:
    """`python -m panel.cli serve --port P ARGS`, its output kept in `log`."""

    def __init__(self, workdir: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "panel.cli", "serve", "--port", str(self.port), *args],
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env or clean_env(),
            )

    async def ready(self, timeout: float = 90) -> None:
        """Until /healthz answers; fails at the deadline or if the process exits."""
        await until_serving(self.url, self.proc, self.log, timeout)

    def kill(self) -> None:
        """`kill -9`: no shutdown of any kind."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still alive after 30 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text()
