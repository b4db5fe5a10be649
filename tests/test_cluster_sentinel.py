"""Redis with Sentinel: the primary is killed mid-game, a sentinel promotes the replica,
and the servers go on (real redis-server and sentinel processes of the test's own)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from meeple.lobby.stores.redis import connect
from tests.conftest import of_type
from tests.redis_sentinel import redis_sentinels
from tests.servers import REDIS_OUTAGE_ERRORS, ServerProcess, until
from tests.test_cluster import game_across, play, reconnect

pytestmark = pytest.mark.redis


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis goes away on purpose
async def test_the_game_goes_on_after_the_primary_dies(tmp_path: Path) -> None:
    async with redis_sentinels(tmp_path) as redis:
        env = {"REDIS_URL": redis.url, "MEEPLE_REDIS_PREFIX": "t:"}
        one, two = ServerProcess(env), ServerProcess(env)
        try:
            await asyncio.gather(one.start(), two.start())
            room_id, a, b, token_a, token_b = await game_across(one, two)
            assert [await play(a, 1, 0), await play(b, 2, 4)] == [2, 3]
            await a.saw(of_type("d", s=3))
            async with Redis(port=redis.primary_port) as primary:  # the replica has it all
                assert await primary.wait(1, 5000) == 1

            redis.primary.kill()  # kill -9 of the primary

            async def failed_over() -> bool:  # the sentinels agree and promote the replica
                return await redis.primary_now() == redis.replica_port

            await until(failed_over, what="the failover")

            # Players reconnect (their connections may have been closed meanwhile) and
            # finish the game from where they were.
            for peer in (a, b):
                await peer.ws.close()
            a2 = await reconnect(one, room_id, token_a, since=3)
            b2 = await reconnect(two, room_id, token_b, since=3)
            for i, (peer, cell) in enumerate([(a2, 8), (b2, 2), (a2, 6), (b2, 1), (a2, 7)], 3):
                assert await play(peer, i, cell) == i + 1
            end = await b2.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
            assert end["r"]["winners"] == [0]
        finally:
            one.stop()
            two.stop()


async def test_requests_wait_for_a_connection_under_sentinel(tmp_path: Path) -> None:
    """MEEPLE_REDIS_CONNECTIONS caps the pool under Sentinel too, and a request finding
    every connection busy waits for one instead of failing (as on a plain Redis)."""
    async with redis_sentinels(tmp_path) as redis:
        client = connect(redis.url, 2, wait=10)
        try:
            # Five commands that each hold a connection for 0.3 s, on a pool of two.
            replies = await asyncio.gather(*(client.blpop(["t:nothing"], 0.3) for _ in range(5)))
            assert replies == [None] * 5
            pool = client.connection_pool
            assert len(pool._available_connections) + len(pool._in_use_connections) == 2
        finally:
            await client.aclose()
