"""``meeple serve --workers N``: N processes on one port, one server on the configured
Redis (each worker a member of the cluster), ended together by SIGTERM to the parent
and by its death (kill -9); and without REDIS_URL, one line saying it needs it."""

from __future__ import annotations

import asyncio
import contextlib
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
from tests.servers import ROOT, ServerProcess, metric, until
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
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def kill_left(pids: list[int]) -> None:
    """Not to outlive the test, whatever happened."""
    for pid in pids:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


async def both_joined(redis_prefix: str) -> None:
    """Wait until both workers have joined the cluster (each says it is alive in Redis)."""

    async def joined() -> bool:
        return len([k async for k in redis.scan_iter(f"{redis_prefix}node:*:alive")]) == 2

    async with Redis.from_url(REDIS_URL) as redis:
        await until(joined, 60, "both workers joining the cluster")


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
        await both_joined(redis_prefix)

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
            # multiprocessing's tracker ends once it sees the parent go
            with contextlib.suppress(TimeoutError):
                await until(
                    lambda: not any(running(pid) for pid in spawned), what="the workers ending"
                )
            left = [pid for pid in spawned if running(pid)]
            kill_left(left)
    # SIGTERM to the parent ended every worker, in bounded time.
    assert server.proc.returncode == 0
    assert left == []


@pytest.mark.redis
@pytest.mark.timeout(300)
async def test_workers_end_when_their_parent_is_killed(redis_prefix: str) -> None:
    env = {"REDIS_URL": REDIS_URL, "MEEPLE_REDIS_PREFIX": redis_prefix}
    server = ServerProcess(env)
    server.extra_args = ["--workers", "2"]
    await server.start(timeout=150)
    assert server.proc is not None
    spawned = children(server.proc.pid)
    try:
        await both_joined(redis_prefix)  # both workers are up and serving
        server.kill()  # kill -9 of the parent: it cannot stop its workers
        # Each worker hears of it and stops as on a deploy, in bounded time (its graceful
        # stop, at most GRACEFUL_SECONDS + CLOSE_SECONDS, on a busy machine).
        await until(lambda: not any(running(pid) for pid in spawned), 60, "the workers ending")
        with pytest.raises(httpx.ConnectError):  # nobody holds the port any more
            async with httpx.AsyncClient(timeout=5) as http:
                await http.get(f"{server.http}/healthz")
    finally:
        server.kill()
        kill_left(spawned)


WATCHER = """
import os, sys
from meeple.lobby.ops.parent import watch_parent
watch_parent(int(sys.argv[1]), lambda: os._exit(0), every=0.05)
"""
MIDDLE = f"""
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {WATCHER!r}, str(os.getpid())])
print(child.pid, flush=True)
time.sleep(300)
"""


async def test_where_linux_sends_no_signal_a_worker_sees_its_parent_go() -> None:
    """The portable way (``ops.parent.watch_parent``): a process whose parent is killed
    with -9 notices within its polling period and ends."""
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE], stdout=subprocess.PIPE, cwd=ROOT)
    assert middle.stdout is not None
    watcher = int(await asyncio.to_thread(middle.stdout.readline))
    try:
        assert running(watcher)
        middle.kill()
        middle.wait(10)
        await until(lambda: not running(watcher), 30, "the orphan ending")
    finally:
        middle.kill()
        kill_left([watcher])
