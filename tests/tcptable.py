"""The kernel's view of a loopback connection, read from /proc/net/tcp (Linux only)."""

from __future__ import annotations

from pathlib import Path

ESTABLISHED = "01"  # the state column


def server_side(server_port: int, client_port: int) -> tuple[str, int] | None:
    """The server's end of this connection: its state and the bytes it has not read yet."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if (local_port, remote_port) == (server_port, client_port):
                unread = int(fields[4].split(":")[1], 16)  # tx_queue:rx_queue
                return fields[3], unread
    return None


def server_side_established(server_port: int, client_port: int) -> bool:
    """Whether the kernel still holds the server's end of this connection, established."""
    end = server_side(server_port, client_port)
    return end is not None and end[0] == ESTABLISHED


def server_has_read_everything(server_port: int, client_port: int) -> bool:
    """Whether the server has accepted this connection and read all that was sent on it."""
    end = server_side(server_port, client_port)
    return end is not None and end == (ESTABLISHED, 0)
