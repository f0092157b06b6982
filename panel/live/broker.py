"""Carries encoded frames to the hub of every process. In-process by default."""

from __future__ import annotations

from typing import Protocol

from panel.live.hub import Hub


def public_channel(event_id: int) -> str:
    return f"event:{event_id}"


def staff_channel(event_id: int) -> str:
    return f"staff:{event_id}"


class Broker(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def publish(self, channel: str, seq: int | None, text: str) -> None: ...


class LocalBroker:
    """One process: publishing is delivering to our own hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def publish(self, channel: str, seq: int | None, text: str) -> None:
        self.hub.deliver(channel, seq, text)


def broker_for_url(url: str | None, hub: Hub) -> Broker:
    if not url:
        return LocalBroker(hub)
    raise ValueError(
        f"cannot use broker {url!r}: the Redis broker is not built yet; run one process"
    )
