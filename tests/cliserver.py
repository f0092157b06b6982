"""`livepanel serve` as a real subprocess (the CLI path: its uvicorn options, its logging) on
a fresh SQLite file, as an async context: tests/serverprocess.py starts it, waits for
/healthz and stops it by its pid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.serverprocess import ROOT, ServerProcess, clean_env

__all__ = ["ROOT", "cli_server"]


@asynccontextmanager
async def cli_server(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> AsyncIterator[ServerProcess]:
    """Serve `tmp_path`/serve.db until /healthz answers, then yield; SIGTERM at the end."""
    uploads = {"LIVEPANEL_UPLOADS": str(tmp_path / "uploads")}
    served = ServerProcess(
        tmp_path,
        *("--db", f"sqlite:///{tmp_path}/serve.db", *args),
        env=clean_env(**uploads, **(env or {})),
    )
    try:
        await served.ready(timeout=timeout)
        yield served
    finally:
        await asyncio.to_thread(served.stop)
