"""``meeple serve --workers N``: N processes on one port, one server on the configured
Redis (each worker a member of the cluster), ended together by SIGTERM to the parent;
and without REDIS_URL, one line saying it needs it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from meeple.lobby.cli import WORKERS_NEED_REDIS
from tests.conftest import REDIS_URL, Peer, of_type
from tests.servers import ROOT, ServerProcess, metric
from tests.test_cluster import game_across, play


def test_workers_without_redis_say_they_need_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "meeple.lobby.cli", "serve", "--workers", "2", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == WORKERS_NEED_REDIS  # one line, no traceback


async def connections_by_worker(base: str, scrapes: int = 40) -> dict[int, float]:
    """Each worker's open WebSocket connections, by its PID, from /metrics scraped on new
    connections (the kernel hands each to whichever worker accepts it first)."""
    seen: dict[int, float] = {}
    for _ in range(scrapes):
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"{base}/metrics")).text
        seen[int(metric(text, "meeple_process_id"))] = metric(text, "meeple_connections")
        if len(seen) == 2:
            break
    return seen


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (the workers, and multiprocessing's tracker)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in listed.read_text().split()] if listed.exists() else []


@pytest.mark.redis
@pytest.mark.timeout(300)  # three interpreters start (on a busy machine, a minute or more)
async def test_two_workers_are_one_server_and_sigterm_ends_both(redis_prefix: str) -> None:
    env = {"REDIS_URL": REDIS_URL, "MEEPLE_REDIS_PREFIX": redis_prefix}
    server = ServerProcess(env)
    server.extra_args = ["--workers", "2"]
    await server.start(timeout=150)  # a parent and two workers, each importing the app
    assert server.proc is not None
    spawned = children(server.proc.pid)
    try:
        async with Redis.from_url(REDIS_URL) as redis:  # both workers joined the cluster
            for _ in range(300):
                alive = [k async for k in redis.scan_iter(f"{redis_prefix}node:*:alive")]
                if len(alive) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len(alive) == 2

        # Players land on both workers: rooms are made and joined until each worker
        # holds some of their connections.
        peers: list[Peer] = []
        workers: dict[int, float] = {}
        for _ in range(10):
            _, a, b, _, _ = await game_across(server, server)
            peers += [a, b]
            workers = await connections_by_worker(server.http)
            if len(workers) == 2 and all(workers.values()):
                break
        assert len(workers) == 2 and all(workers.values()), workers
        assert sum(workers.values()) == len(peers)
        assert set(workers) <= set(spawned)

        # A game plays through (its players wherever the kernel put them).
        for i, (peer, cell) in enumerate([(a, 0), (b, 4), (a, 8), (b, 2), (a, 6), (b, 3)], 1):
            assert await play(peer, i, cell) == i + 1
        assert await play(a, 7, 7) == 8
        end = await b.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
        assert end["r"]["winners"] == [0]
        await a.saw(of_type("d", s=8))
    finally:
        server.proc.send_signal(signal.SIGTERM)  # the parent alone
        try:
            server.proc.wait(30)
        finally:
            server.kill()
            for _ in range(50):  # multiprocessing's tracker ends once it sees the parent go
                left = [pid for pid in spawned if running(pid)]
                if not left:
                    break
                await asyncio.sleep(0.1)
            for pid in left:  # not to outlive the test, whatever happened
                os.kill(pid, signal.SIGKILL)
    # SIGTERM to the parent ended every worker, in bounded time.
    assert server.proc.returncode == 0
    assert left == []
