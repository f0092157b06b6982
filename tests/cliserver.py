"""`livepanel serve` as a real subprocess (the CLI path: its uvicorn options, its logging),
with its output in files; stopped by its pid."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ServedProcess:
    url: str
    port: int
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def cli_server(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> AsyncIterator[ServedProcess]:
    """Serve a fresh SQLite file in `tmp_path` until /healthz answers, then yield."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIVEPANEL_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    clean["LIVEPANEL_UPLOADS"] = str(tmp_path / "uploads")
    served = ServedProcess(
        f"http://127.0.0.1:{port}", port, tmp_path / "serve.out", tmp_path / "serve.err"
    )
    with served.stdout.open("wb") as out, served.stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "panel.cli", "serve", "--port", str(port)]
            + ["--db", f"sqlite:///{tmp_path}/serve.db", *args],
            cwd=tmp_path,
            env={**clean, **(env or {})},
            stdout=out,
            stderr=err,
        )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                assert process.poll() is None, f"serve exited early:\n{served.output()}"
                try:
                    if (await client.get(served.url + "/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert loop.time() < deadline, f"serve did not start:\n{served.output()}"
                await asyncio.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                await asyncio.to_thread(process.wait, 10)
