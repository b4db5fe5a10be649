"""Redis mode under full load: no room is dropped because the server is busy.

A real ``meeple serve`` on the real Redis holds 500 rooms played as fast as they go
(bench/load.py, closed loop) for 30 s: every room moves to the end of the window, no
save fails, no lease is lost, no connection is closed. Leases are short (2 s), so a
renewal starved for longer than that would show. And a process whose request
connections are all taken, and whose loop turns are long, keeps its leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.load import PLAYING
from meeple.lobby.settings import Settings
from tests.conftest import REDIS_URL
from tests.servers import ROOT, ServerProcess, live_server, metric

pytestmark = pytest.mark.redis

SETUP_SECONDS = 300
"""The most bench/load.py may take to set up its rooms, before its window starts."""

UNLIMITED = {
    "MEEPLE_CREATE_LIMITS": "off",
    "MEEPLE_MESSAGE_RATE": "1e9",
    "MEEPLE_MESSAGE_BURST": "1000000000",
}


async def run_load(http: str, *args: str, setup: float, window: float) -> None:
    """bench/load.py against the server at ``http``, its output passed on: its set-up
    given ``setup`` seconds, its play ``window``; it must end well."""
    load = await asyncio.create_subprocess_exec(
        sys.executable, "bench/load.py", http, *args, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    assert load.stderr is not None
    try:
        async with asyncio.timeout(setup):
            while not (line := (await load.stderr.readline()).decode()).startswith(PLAYING):
                assert line, "bench/load.py ended before play started"
                sys.stderr.write(line)
        async with asyncio.timeout(window):
            rest, _ = await asyncio.gather(load.stderr.read(), load.wait())
        sys.stderr.write(rest.decode())
        assert load.returncode == 0
    finally:
        if load.returncode is None:
            load.kill()
            await load.wait()


async def test_500_rooms_on_redis_under_full_load_for_30_s(
    redis_prefix: str, tmp_path: Path
) -> None:
    env = {
        **UNLIMITED,
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        "MEEPLE_LEASE_SECONDS": "2",
    }
    log_file = tmp_path / "server.log"
    server = ServerProcess(env, log_level="info", log_file=log_file)
    out = tmp_path / "load.json"
    try:
        await server.start()
        assert server.proc is not None
        # The set-up (500 sessions, rooms and sockets) is not what is judged: it took
        # 75-89 s with both cores busy. It has a bound of its own; the window has 100 s.
        await run_load(
            server.http, "--rooms", "500", "--seconds", "30", "--warmup", "1",
            "--server-pid", str(server.proc.pid), "--json", str(out), setup=SETUP_SECONDS,
            window=100,
        )  # fmt: skip
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{server.http}/metrics")).text
    finally:
        server.stop()
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["rooms"] == 500 and result["moves"] > 0
    assert result["errors"] == {} and result["closed"] == 0
    assert result["rooms_stalled"] == 0
    # Every room kept moving to the end: none went 5 s without an acknowledged move.
    assert result["room_gap_max_s"] < 5, result["room_gap_max_s"]
    assert metric(metrics, "meeple_redis_errors_total") == 0
    assert metric(metrics, "meeple_leases_lost_total") == 0
    batches = metric(metrics, "meeple_journal_batches_total")
    assert metric(metrics, "meeple_journal_saves_total") > 2 * batches > 0  # rooms share
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    # One machine's shape: the SQLite default beside Redis, which the server warns of once
    # at start (several machines need DATABASE_URL); anything else is trouble.
    troubles = [
        line
        for line in lines
        if line["level"] in ("warning", "error", "critical")
        and "only processes on this machine share" not in line.get("msg", "")
    ]
    assert troubles == []


async def test_leases_are_kept_while_requests_hold_every_connection_and_turns_are_long(
    redis_prefix: str,
) -> None:
    lease = 1.0
    settings = Settings(
        redis_url=REDIS_URL, redis_prefix=redis_prefix, lease_seconds=lease, redis_connections=4
    )
    async with live_server(settings) as srv:
        services = srv.services
        assert services.cluster is not None and services.redis is not None
        rooms = [await services.rooms.create("tictactoe") for _ in range(20)]
        pool: Any = services.redis.connection_pool
        held = []
        with contextlib.suppress(TimeoutError):  # every one the pool has (pub/sub has one)
            while True:
                async with asyncio.timeout(0.5):
                    held.append(await pool.get_connection())
        assert held
        loop = asyncio.get_running_loop()
        busy = True

        def spin() -> None:  # every loop turn takes 20 ms of CPU
            until = time.perf_counter() + 0.02
            while time.perf_counter() < until:
                pass
            if busy:
                loop.call_soon(spin)

        try:
            loop.call_soon(spin)
            await asyncio.sleep(4 * lease)
        finally:
            busy = False
            for conn in held:
                await pool.release(conn)
        assert services.rooms.stats.leases_lost == 0
        assert all(room.id in services.rooms.rooms for room in rooms)
        owners = await services.cluster.leases.owners([room.id for room in rooms])
        assert owners == [services.cluster.node] * len(rooms)
