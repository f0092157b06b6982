"""Where a live reader's memory goes: Python allocations per idle socket, by source file.

Serves the demo in this process with tracemalloc on, opens N reader sockets from a separate
client process (127.0.0.1 only), and prints the traced memory per socket, largest files
first. It complements `python -m bench fanout`'s RSS per connection, which cannot say where
the bytes are.

    python -m bench.socket_memory --readers 1000
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import uvicorn

from panel.app import create_app
from panel.clock import SystemClock
from panel.config import Settings
from panel.demo import LIVE_SLUG, load_demo

CLIENT = """
import asyncio, sys
from websockets.asyncio.client import connect
async def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    url = f"ws://127.0.0.1:{port}/events/{sys.argv[3]}/live?since=1000000"
    sockets = [await connect(url, compression=None, open_timeout=20) for _ in range(n)]
    for s in sockets:  # caught up and live: the presence frame follows the catch-up
        while '"presence"' not in await asyncio.wait_for(s.recv(), 20):
            pass
    print("connected", flush=True)
    sys.stdin.readline()  # hold them until told
    for s in sockets:
        await s.close()
asyncio.run(main())
"""


async def measure(readers: int, top: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="livepanel-memory-"))
    settings = Settings(db_url=f"sqlite:///{folder}/m.db", secret="x", uploads_dir=folder / "up")
    app = create_app(settings, SystemClock())
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    await load_demo(app.state.services.store, settings, SystemClock())
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(port), str(readers), LIVE_SLUG],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None and client.stdin is not None
        ready = await asyncio.wait_for(asyncio.to_thread(client.stdout.readline), 120)
        assert ready.startswith("connected"), ready
        stats = tracemalloc.take_snapshot().compare_to(before, "filename")
        total = sum(s.size_diff for s in stats)
        print(f"{readers} readers: {total / readers / 1024:.1f} KiB traced per socket")
        for s in stats[:top]:
            print(f"{s.size_diff / readers / 1024:8.2f} KiB  {s.traceback[0].filename}")
        client.stdin.write("\n")
        client.stdin.flush()
        client.wait(timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
        server.should_exit = True
        await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(measure(args.readers, args.top))


if __name__ == "__main__":
    main()
