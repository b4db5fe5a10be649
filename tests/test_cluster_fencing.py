"""Fencing: a save from a process that lost a room's lease never lands (real Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from meeple.lobby.stores.base import Changes
from meeple.lobby.stores.redis import RedisJournal, RedisLeases
from tests.conftest import REDIS_URL
from tests.servers import until
from tests.test_stores import meta, moves

pytestmark = pytest.mark.redis


@pytest.fixture
async def clients() -> AsyncIterator[list[Redis]]:
    clients = [Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)]
    yield clients
    for client in clients:
        await client.aclose()


LEASE = 2.0
"""Seconds a lease lasts: what a holder does right after claiming stays well inside it,
also on a loaded machine."""


def owner(client: Redis, prefix: str, node: str) -> tuple[RedisLeases, RedisJournal]:
    """A process's leases and fenced journal."""
    journal = RedisJournal(client, prefix)
    journal.epochs = {}
    return RedisLeases(client, prefix, node, ttl=LEASE), journal


async def test_a_save_from_the_owner_before_is_refused(
    clients: list[Redis], redis_prefix: str
) -> None:
    leases_a, journal_a = owner(clients[0], redis_prefix, "node-a")
    leases_b, journal_b = owner(clients[1], redis_prefix, "node-b")
    assert journal_a.epochs is not None and journal_b.epochs is not None

    journal_a.epochs["r_1"] = await leases_a.claim("r_1")
    assert journal_a.epochs["r_1"] == 1
    assert await leases_a.claim("r_1") == 1, "keeping one's lease keeps its epoch"
    assert await journal_a.save([Changes("r_1", 0, moves(2, 3), meta("r_1"))]) == [None]

    # a stalls: its lease lapses (by Redis's clock), and b takes the room at once
    journal_b.epochs["r_1"] = await until(
        lambda: leases_b.claim("r_1"), LEASE + 30, "a's lease lapsing"
    )
    assert journal_b.epochs["r_1"] == 2
    assert await leases_a.claim("r_1") == 0

    # a's save that was in flight when it lost the room: refused whole, nothing lands.
    late = await journal_a.save([Changes("r_1", 0, moves(4, 4), meta("r_1", status="finished"))])
    assert late[0] is not None and "newer owner" in str(late[0])
    assert await journal_a.load("r_1") == (meta("r_1"), moves(2, 3))
    # A room a does not hold at all saves as epoch 0: refused as well.
    journal_a.epochs.clear()
    assert (await journal_a.save([Changes("r_1", 0, moves(4, 4))]))[0] is not None

    # The new owner goes on from what was saved.
    assert await journal_b.save([Changes("r_1", 0, moves(4, 4))]) == [None]
    # In one batch, only the fenced room's changes are refused.
    journal_a.epochs["r_2"] = await leases_a.claim("r_2")
    mixed = await journal_a.save(
        [Changes("r_1", 0, moves(5, 5)), Changes("r_2", 0, [], meta("r_2"))]
    )
    assert mixed[0] is not None and mixed[1] is None
    assert await journal_b.load("r_1") == (meta("r_1"), moves(2, 4))
    assert await journal_a.load("r_2") == (meta("r_2"), [])

    await journal_b.delete("r_1")  # a finished room leaves no epoch behind
    assert await clients[0].exists(f"{redis_prefix}room:{{r_1}}:epoch") == 0


async def test_a_lease_that_lapsed_with_nobody_claiming_the_room_is_taken_again(
    clients: list[Redis], redis_prefix: str
) -> None:
    """A renewal after a stall longer than the lease (Redis held up by an fsync, say)
    keeps the room if nobody claimed it meanwhile: its epoch, the fence, is unchanged,
    so no one else can have saved anything. Once another process claimed it, not."""
    leases_a = RedisLeases(clients[0], redis_prefix, "node-a", ttl=30)
    leases_b = RedisLeases(clients[1], redis_prefix, "node-b", ttl=30)
    key = f"{redis_prefix}room:{{r_1}}:lease"

    async def lapsed() -> bool:
        return not await clients[0].exists(key)

    epoch = await leases_a.claim("r_1")
    await clients[0].pexpire(key, 50)
    await until(lapsed, what="the lease's lapse")
    assert await leases_a.renew(["r_1"]) == [False], "without its epoch: lost"
    assert await leases_a.renew(["r_1"], [epoch]) == [True]
    assert await leases_b.owner("r_1") == "node-a"
    assert await clients[0].pttl(key) > 20_000, "taken again for the lease's full time"
    assert await leases_b.claim("r_1") == 0
    assert await leases_a.claim("r_1") == epoch, "the same epoch: nothing was fenced"

    await clients[0].pexpire(key, 50)
    await until(lapsed, what="the lease's lapse")
    assert await leases_b.claim("r_1") == epoch + 1
    await leases_b.release("r_1")  # b claimed and let go: the epoch is b's now
    assert await leases_a.renew(["r_1"], [epoch]) == [False]
    assert await leases_a.owner("r_1") is None
