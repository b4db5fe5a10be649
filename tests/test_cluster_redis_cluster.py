"""The cluster tests on a real 3-master Redis Cluster: two processes act as one server,
survive kill -9 and SIGTERM of a room's owner."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import of_type
from tests.redis_cluster import redis_cluster
from tests.servers import ServerProcess, server_processes
from tests.test_cluster import (
    play,
    playing,
    quick_match_across,
    reconnect,
    room_for_two,
    session,
)

pytestmark = pytest.mark.redis


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[list[ServerProcess]]:
    async with redis_cluster(tmp_path) as url:
        env = {"REDIS_URL": url, "MEEPLE_REDIS_PREFIX": "t:", "MEEPLE_LEASE_SECONDS": "10"}
        async with server_processes(env) as procs:
            yield procs


async def test_a_game_across_two_processes_and_a_kill_9(processes: list[ServerProcess]) -> None:
    one, two = processes
    async with httpx.AsyncClient(timeout=10) as http:
        room_id, token_a, token_b = await room_for_two(http, one, two)
        r = await http.get(f"{two.http}/api/rooms", headers=(await session(http, two.http, "C"))[1])
        assert room_id in [room["id"] for room in r.json()["items"]]
    a, b = await playing(room_id, [(one.ws, token_a), (two.ws, token_b)])  # b's relayed
    assert [await play(a, 1, 0), await play(b, 2, 4)] == [2, 3]
    await b.saw(of_type("d", s=3))

    one.kill()
    code, _ = await b.closed(timeout=15)
    assert code == 1012
    a2 = await reconnect(two, room_id, token_a, since=3)
    b2 = await reconnect(two, room_id, token_b, since=3)
    for i, (peer, cell) in enumerate([(a2, 8), (b2, 2), (a2, 6), (b2, 1), (a2, 7)], start=3):
        assert await play(peer, i, cell) == i + 1
    end = await b2.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
    assert end["r"]["winners"] == [0]
    async with httpx.AsyncClient(timeout=10) as http:
        _, auth = await session(http, two.http, "Cy")
        record = (await http.get(f"{two.http}/api/records/{room_id}-0", headers=auth)).json()
    assert [entry["s"] for entry in record["log"]] == [2, 3, 4, 5, 6, 7, 8]


async def test_sigterm_hands_over_on_a_redis_cluster(processes: list[ServerProcess]) -> None:
    one, two = processes
    async with httpx.AsyncClient(timeout=10) as http:
        room_id, token_a, token_b = await room_for_two(http, one, two)
    a, b = await playing(room_id, [(two.ws, token_a), (two.ws, token_b)])
    assert await play(a, 1, 0) == 2
    assert one.proc is not None
    one.proc.send_signal(signal.SIGTERM)
    for peer in (a, b):
        code, _ = await peer.closed(timeout=8)
        assert code == 1012
    b2 = await reconnect(two, room_id, token_b, since=2)
    assert await play(b2, 2, 4) == 3  # long before the 10 s lease would have run out
    await asyncio.to_thread(one.proc.wait, 8)


async def test_quick_match_across_two_processes_on_a_redis_cluster(
    processes: list[ServerProcess],
) -> None:
    await quick_match_across(*processes)
