"""The benchmark tools work end to end against a real server (functionality, not speed).

bench/load.py plays two rooms for about two seconds and must see accepted moves and
move-to-opponent latencies; bench/idle.py holds a few idle spectators. Both read the
server's CPU and memory from /proc by its PID. bench/run.py runs its load cases in
memory, on a Redis of its own and with two servers on it, for a second each, so that
the Redis cases can never silently break; bench/durability.py saves in each of its
journal modes; bench/finished.py writes its finished games in memory, to SQLite and
to PostgreSQL. The numbers themselves are not judged
here: they come from bench/run.py on a quiet machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import ROOT, ServerProcess


async def run_tool(*argv: str, within: float = 60) -> None:
    """Run a bench/ script with this Python; it must succeed ``within`` seconds."""
    proc = await asyncio.create_subprocess_exec(sys.executable, *argv, cwd=ROOT)
    try:
        async with asyncio.timeout(within):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_load_generator_plays_and_measures(tmp_path: Path) -> None:
    server = ServerProcess({})
    await server.start()
    try:
        assert server.proc is not None
        out = tmp_path / "load.json"
        # The stock server allows 20 messages a second per connection: stay under it.
        await run_tool(
            "bench/load.py", server.http, "--rooms", "2", "--seconds", "2", "--warmup", "0.5",
            "--max-rate", "15", "--server-pid", str(server.proc.pid), "--json", str(out),
        )  # fmt: skip
    finally:
        server.stop()
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["rooms"] == 2
    assert result["moves"] > 0
    assert result["moves_per_s"] > 0
    assert result["latency_samples"] > 0
    assert 0 < result["latency_p50_ms"] <= result["latency_p99_ms"]
    assert result["d_move_bytes_max"] > 0
    assert result["closed"] == 0
    assert result["rooms_stalled"] == 0 and result["room_moves_min"] > 0
    assert result["errors"] == {}
    assert result["server_cpu_s"] is not None and result["server_cpu_s"] > 0
    assert result["server_us_per_move"] > 0
    assert result["server_rss_max"] > 0


async def test_idle_generator_holds_connections(tmp_path: Path) -> None:
    server = ServerProcess({"MEEPLE_PING_INTERVAL": "0.5"})
    await server.start()
    try:
        assert server.proc is not None
        out = tmp_path / "idle.json"
        await run_tool(
            "bench/idle.py", server.http, "--conns", "6", "--per-room", "3", "--seconds", "1.5",
            "--baseline", "0.3", "--settle", "0.2", "--server-pid", str(server.proc.pid),
            "--json", str(out),
        )  # fmt: skip
    finally:
        server.stop()
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["connected"] == 6
    assert result["rooms"] == 2
    assert result["dropped"] == 0
    assert result["pings_per_conn"] >= 1  # the server's heartbeats arrived and were answered
    assert result["rss_connected"] > 0
    assert result["idle_cpu_pct"] is not None


@pytest.mark.redis
async def test_runner_measures_memory_redis_and_two_servers_on_redis(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    await run_tool(
        "bench/run.py", "--rooms", "2", "--conns", "", "--paced", "", "--cluster-rooms", "2",
        "--repeat", "1", "--seconds", "1", "--warmup", "0.5", "--no-profile", "--no-sizes",
        "--quiet-timeout", "0", "--retries", "0", "--out", str(out), within=100,
    )  # fmt: skip
    results: dict[str, Any] = json.loads(out.read_text())
    cases = {r["mode"]: r for r in results["load"]}
    default_modes = {"memory", "sqlite", "redis", "redis, records in Redis", "redis, 2 servers"}
    assert set(cases) == default_modes
    for mode, case in cases.items():
        assert case["moves"] > 0 and case["rooms_stalled"] == 0, mode
        assert case["errors"] == {} and case["closed"] == 0, mode
        assert case["server_us_per_move"] > 0 and case["host_ms"] > 0, mode
        assert case["other_cpu_pct"] is not None, mode
    assert cases["memory"]["redis_cpu_s"] is None and cases["sqlite"]["redis_cpu_s"] is None
    for mode in ("redis", "redis, records in Redis", "redis, 2 servers"):
        assert cases[mode]["redis_cpu_s"] > 0 and cases[mode]["redis_us_per_move"] > 0
    assert cases["redis, 2 servers"]["servers"] == 2
    assert len(cases["redis, 2 servers"]["server_pids"]) == 2
    assert "| 2 | redis, 2 servers |" in out.with_suffix(".md").read_text()


@pytest.mark.redis
async def test_hotpath_plays_in_memory_and_on_redis(redis_prefix: str) -> None:
    for mode in ([], ["--redis", REDIS_URL, "--prefix", redis_prefix]):
        await run_tool("bench/hotpath.py", "--rooms", "3", "--turns", "40", *mode)


async def test_durability_saves_every_batch_in_every_mode(tmp_path: Path) -> None:
    """Each journal mode (as shipped, a call a room as on a Cluster, fsync, WAIT 1) on
    Redis servers of the tool's own: every save lands, and the CPU figures are there."""
    out = tmp_path / "durability.json"
    await run_tool(
        "bench/durability.py", "--rooms", "3", "--batches", "5", "--rounds", "1",
        "--json", str(out),
    )  # fmt: skip
    modes = json.loads(out.read_text())["modes"]
    assert len(modes) == 4
    for figures in modes.values():
        assert figures["refused_saves"] == 0
        assert figures["us_per_move"] > 0 and figures["client_cpu_us_per_move"] > 0


@pytest.mark.postgres
async def test_finished_games_are_written_in_every_store() -> None:
    """The tool checks itself that every game it handed over was written (it exits
    non-zero otherwise); PostgreSQL's case runs in a schema of its own, dropped after."""
    for database in (["--database", "memory"], [], ["--database", DATABASE_URL]):
        await run_tool("bench/finished.py", "--batch", "1,3", "--games", "6", *database)
