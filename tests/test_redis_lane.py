"""``stores.redis.Lane``: the journal writer's, the fan-out's and ``Coalesced``'s own
connection, a batch written in one go and its replies read back without redis-py's
pipeline. What the pipeline gave must hold: replies in order with errors in their
places, a broken connection's batch sent again, never a reply of another batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from meeple.lobby.stores.redis import Lane, connect
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[Redis]:
    """A client as the server's own traffic has (``connect``: commands packed by hiredis)."""
    client = connect(REDIS_URL, 3, reply_timeout=None)
    try:
        yield client
    finally:
        await client.aclose()


async def test_replies_in_order_with_errors_in_their_places(
    redis_client: Redis, redis_prefix: str
) -> None:
    lane = Lane(redis_client)
    key = f"{redis_prefix}k"
    replies = await lane.send([("SET", key, "x"), ("INCR", key), ("GET", key), ("EXPIRE", key, 60)])
    assert replies[0] is True and replies[2] == b"x" and replies[3] is True  # the callbacks
    assert isinstance(replies[1], ResponseError)


async def test_a_killed_connection_is_sent_again_on_a_new_one(
    redis_client: Redis, redis_prefix: str
) -> None:
    lane = Lane(redis_client)
    key = f"{redis_prefix}k"
    [first] = await lane.send([("CLIENT", "ID")])
    await redis_client.client_kill_filter(_id=first)  # as a Redis restart would
    replies = await lane.send([("SET", key, "1"), ("CLIENT", "ID")])
    assert replies[0] is True and replies[1] != first


async def test_a_batch_cancelled_on_the_way_leaves_no_reply_to_the_next(
    redis_client: Redis, redis_prefix: str
) -> None:
    lane = Lane(redis_client)
    key = f"{redis_prefix}k"
    await lane.send([("SET", key, "mine")])
    waiting = asyncio.create_task(lane.send([("BLPOP", f"{redis_prefix}none", 0.3)]))
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0.4)  # the BLPOP's nil reply would be on the socket by now
    assert await lane.send([("GET", key)]) == [b"mine"]


async def test_its_connection_leaves_the_pool_its_cap(redis_prefix: str) -> None:
    """The lane keeps one connection for good: the pool grows by one for it, so that the
    client's other users (a journal's loads, say) never wait for it."""
    client = connect(REDIS_URL, 1, wait=1, reply_timeout=None)
    try:
        lane = Lane(client)
        assert await lane.send([("PING",)]) == [True]
        key = f"{redis_prefix}k"
        await client.set(key, "1")  # would wait 1 s and fail if the lane held the only one
        assert await client.get(key) == b"1"
        busy = asyncio.create_task(lane.send([("BLPOP", f"{redis_prefix}none", 0.2)]))
        await asyncio.sleep(0.05)
        assert await lane.send([("GET", key)]) == [b"1"]  # a second caller: the pool's
        assert await busy == [None]
    finally:
        await client.aclose()
