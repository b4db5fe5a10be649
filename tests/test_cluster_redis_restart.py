"""Redis restarts under a running cluster: the processes subscribe again and go on.

A Redis of the test's own (appending every write to disk, so a restart keeps the
sessions and rooms) on a port of its own, killed and started again by its PID; and
the same for a 3-master Redis Cluster of the test's own, one node at a time and all
of them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import of_type
from tests.redis_cluster import cluster_nodes
from tests.servers import (
    REDIS_OUTAGE_ERRORS,
    ServerProcess,
    free_port,
    redis_answers,
    server_processes,
    until,
)
from tests.test_cluster import play, playing, reconnect, room_for_two, session

pytestmark = pytest.mark.redis


class DiskRedis:
    """redis-server with ``appendfsync always`` in a directory of the test's own."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir"]
        argv += [str(self.dir), "--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        await redis_answers(self.url)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.asynccontextmanager
async def disk_redis(directory: Path) -> AsyncIterator[DiskRedis]:
    redis = DiskRedis(directory)
    await redis.start()
    try:
        yield redis
    finally:
        redis.kill()


async def readiness(http: httpx.AsyncClient, server: ServerProcess) -> int:
    with contextlib.suppress(httpx.HTTPError):
        return (await http.get(f"{server.http}/readyz")).status_code
    return 0


async def until_ready(http: httpx.AsyncClient, servers: list[ServerProcess]) -> None:
    """Wait until each server's /readyz says it is ready."""
    for server in servers:

        async def ready(server: ServerProcess = server) -> bool:
            return await readiness(http, server) == 200

        await until(ready, what=f"{server.http} becoming ready again")


async def seat_across(http: httpx.AsyncClient, one: ServerProcess, two: ServerProcess) -> int:
    """A room made on ``one``, a seat taken through ``two`` (a call to the owner): the status."""
    _, auth_a = await session(http, one.http, "Ada")
    _, auth_b = await session(http, two.http, "Bo")
    r = await http.post(f"{one.http}/api/rooms", json={"game": "tictactoe"}, headers=auth_a)
    r.raise_for_status()
    r = await http.post(f"{two.http}/api/rooms/{r.json()['id']}/seats", json={}, headers=auth_b)
    return r.status_code


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis goes away on purpose
async def test_processes_subscribe_again_after_redis_restarts(tmp_path: Path) -> None:
    async with disk_redis(tmp_path) as redis:
        env = {"REDIS_URL": redis.url, "MEEPLE_REDIS_PREFIX": "t:", "MEEPLE_LEASE_SECONDS": "5"}
        one, two = ServerProcess(env), ServerProcess(env)
        try:
            await asyncio.gather(one.start(), two.start())
            async with httpx.AsyncClient(timeout=10) as http:
                assert await seat_across(http, one, two) == 200

                redis.kill()
                assert await readiness(http, one) == 503  # Redis is gone: not ready
                await redis.start()  # same port, same disk
                await until_ready(http, [one, two])  # both heard their channels again

                await across_both_ways(http, one, two)
        finally:
            one.stop()
            two.stop()


async def across_both_ways(http: httpx.AsyncClient, one: ServerProcess, two: ServerProcess) -> None:
    """Every request answers (a stale pooled connection is retried, not a 500), and calls
    between the processes work, either way."""
    for server in (one, two, one, two):
        r = await http.post(f"{server.http}/api/sessions", json={"name": "Cy"})
        assert r.status_code == 201, r.text
    assert await seat_across(http, one, two) == 200
    assert await seat_across(http, two, one) == 200


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis goes away on purpose
@pytest.mark.timeout(300)
async def test_processes_subscribe_again_after_a_redis_cluster_restarts(tmp_path: Path) -> None:
    """Each master is killed and started again in turn (one of them serves each process's
    subscription, whichever its channel's slot names), then all three at once."""
    async with cluster_nodes(tmp_path, durable=True) as nodes:
        env = {"REDIS_URL": nodes.url, "MEEPLE_REDIS_PREFIX": "t:", "MEEPLE_LEASE_SECONDS": "5"}
        async with server_processes(env) as (one, two), httpx.AsyncClient(timeout=10) as http:
            assert await seat_across(http, one, two) == 200
            for down in [[port] for port in nodes.ports] + [nodes.ports]:
                nodes.kill(*down)
                assert await readiness(http, one) == 503  # a master is gone: not ready
                await nodes.restart(*down)  # same port, same disk, same slots
                await until_ready(http, [one, two])
                await across_both_ways(http, one, two)


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis goes away on purpose
async def test_a_move_redis_lost_leaves_the_room_reachable_once_it_is_back(
    tmp_path: Path,
) -> None:
    """A move made while Redis is down is refused (``not_saved``) and changes nothing;
    once Redis is back, the room's owner hosts it again for its players on any process
    at once, not when its lease (60 s here) would have run out."""
    async with disk_redis(tmp_path) as redis:
        env = {"REDIS_URL": redis.url, "MEEPLE_REDIS_PREFIX": "t:", "MEEPLE_LEASE_SECONDS": "60"}
        async with server_processes(env) as (one, two), httpx.AsyncClient(timeout=10) as http:
            room_id, token_a, token_b = await room_for_two(http, one, two)  # one owns it
            a, b = await playing(room_id, [(one.ws, token_a), (two.ws, token_b)])  # b relayed
            assert [await play(a, 1, 0), await play(b, 2, 4)] == [2, 3]

            redis.kill()
            await a.send({"t": "move", "id": 3, "m": {"cell": 8}})
            refused = await a.until(of_type("err", id=3), 15)
            assert refused["code"] == "not_saved"
            assert (await a.closed(timeout=10))[0] == 1011
            await b.closed(timeout=15)
            assert not [m for m in b.seen if m.get("t") == "d" and m.get("s") == 4]

            await redis.start()  # same port, same disk: the lease still names one
            await until_ready(http, [one, two])
            b2 = await reconnect(two, room_id, token_b, since=3)  # through two, to one
            a2 = await reconnect(one, room_id, token_a, since=3)
            assert await play(a2, 4, 8) == 4  # the refused move left no trace
            await b2.saw(of_type("d", s=4))
