"""Sign-in throttling per account and per address (panel/lockouts.py): one attacker who knows
a username cannot lock its owner out, yet cannot guess fast from one address or many.

End to end on a real uvicorn, with clients on different loopback addresses (127.0.0.2,
127.0.0.3: Linux routes all of 127/8 to lo), and the counts themselves in memory and in
a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from panel.clock import FakeClock
from panel.domain import RuleError
from panel.lockouts import (
    ACCOUNT_CEILING,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    MAX_FAILED_PER_ADDRESS,
    Lockouts,
    MemoryLockouts,
)
from panel.redis_client import connect
from panel.redis_limits import RedisLockouts
from tests.conftest import LiveServer
from tests.livehelpers import PASSWORD, desk_login


def from_address(server: LiveServer, address: str) -> httpx.AsyncClient:
    """A browser whose connections come from `address` (a loopback address of its own)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.url, timeout=15, transport=transport)


async def test_an_attacker_cannot_lock_the_owner_out_from_elsewhere(server: LiveServer) -> None:
    await server.acall(lambda: server.actions.create_editor("kim", PASSWORD))
    async with from_address(server, "127.0.0.2") as attacker:
        statuses = [
            (await desk_login(attacker, "kim", "a guess")).status_code
            for _ in range(MAX_FAILED_LOGINS + 1)
        ]
        assert statuses == [401] * MAX_FAILED_LOGINS + [429]  # that address is locked
        assert (await desk_login(attacker, "kim", PASSWORD)).status_code == 429
    async with from_address(server, "127.0.0.3") as owner:
        signed_in = await desk_login(owner, "kim", PASSWORD)
        assert signed_in.status_code == 303, signed_in.text
        assert (await owner.get("/desk")).status_code == 200


async def sign_in(server: LiveServer, username: str, password: str, address: str) -> str:
    """The outcome of one sign-in through the real action: "ok" or the refusal's code."""

    async def attempt() -> str:
        try:
            await server.services.accounts.sign_in(username, password, address)
        except RuleError as exc:
            return exc.code
        return "ok"

    return await server.acall(attempt)


async def test_one_address_guessing_many_accounts_is_locked_out(server: LiveServer) -> None:
    await server.acall(lambda: server.actions.create_editor("lee", PASSWORD))
    spraying = "10.9.0.1"
    outcomes = [
        await sign_in(server, f"name-{n}", "a guess", spraying)
        for n in range(MAX_FAILED_PER_ADDRESS)
    ]
    assert outcomes == ["bad_login"] * MAX_FAILED_PER_ADDRESS  # never 5 on one name
    assert await sign_in(server, "lee", PASSWORD, spraying) == "locked"
    assert await sign_in(server, "lee", PASSWORD, "10.9.0.2") == "ok"


@pytest.mark.parametrize("username", ["mo", "nobody-at-all"])
async def test_many_addresses_slow_an_account_to_one_guess_each(
    server: LiveServer, username: str
) -> None:
    """Past the ceiling, an address that failed is refused at once, and a new one gets one
    guess; the same for an account and a made-up name. The owner still signs in."""
    await server.acall(lambda: server.actions.create_editor("mo", PASSWORD))
    for n in range(ACCOUNT_CEILING):
        await sign_in(server, username, "a guess", f"10.8.{n // 250}.{n % 250}")
    assert await sign_in(server, username, "a guess", "10.7.0.1") == "bad_login"
    assert await sign_in(server, username, "a guess", "10.7.0.1") == "locked"
    expected = "ok" if username == "mo" else "bad_login"
    assert await sign_in(server, username, PASSWORD, "10.7.0.2") == expected


@pytest.fixture(params=["memory", "redis"])
async def lockouts(
    request: pytest.FixtureRequest, clock: FakeClock
) -> AsyncIterator[Callable[[], Lockouts]]:
    """A factory of lockouts sharing one state (as the processes of one site do)."""
    if request.param == "memory":
        shared = MemoryLockouts(clock)
        yield lambda: shared
        return
    prefix = request.getfixturevalue("redis_prefix")
    client = connect(request.getfixturevalue("redis_url"))
    try:
        yield lambda: RedisLockouts(client, prefix, clock)
    finally:
        await client.aclose()


async def test_the_counts_are_per_pair_per_address_and_per_name(
    lockouts: Callable[[], Lockouts],
) -> None:
    one, two = lockouts(), lockouts()
    for n in range(MAX_FAILED_LOGINS - 1):
        await (one if n % 2 else two).failed("kim", "a")
        await (one if n % 2 else two).succeeded("kim", "b")  # another address's success
    assert not (await two.standing("kim", "a")).refused
    await one.failed("kim", "a")
    assert (await two.standing("kim", "a")).refused
    assert not (await two.standing("kim", "b")).refused
    assert not (await two.standing("lee", "a")).refused
    assert await two.locked_until("kim") is not None
    await one.forget("kim")  # an admin's Unlock
    assert not (await two.standing("kim", "a")).refused
    assert await two.locked_until("kim") is None

    for n in range(MAX_FAILED_PER_ADDRESS):
        await one.failed(f"name-{n}", "spray")
    assert (await two.standing("anyone", "spray")).address_locked

    for n in range(ACCOUNT_CEILING):
        await one.failed("busy", f"bot-{n}")
    assert (await two.standing("busy", "bot-0")).refused  # failed once here: no more
    assert not (await two.standing("busy", "owner")).refused


async def test_locks_and_counts_end_after_the_lockout_in_memory(clock: FakeClock) -> None:
    lockouts = MemoryLockouts(clock)
    for _ in range(MAX_FAILED_LOGINS):
        await lockouts.failed("kim", "a")
    assert (await lockouts.standing("kim", "a")).refused
    clock.advance(seconds=LOCKOUT.total_seconds() + 1)
    standing = await lockouts.standing("kim", "a")
    assert not standing.refused and standing.pair_failures == 0
    assert await lockouts.locked_until("kim") is None
