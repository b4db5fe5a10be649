"""What an operator sees: /metrics, /healthz, /readyz and JSON logs."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from meeple.client.connection import MoveRejected
from meeple.lobby.settings import Settings
from tests.servers import (
    LiveServer,
    ServerProcess,
    live_server,
    metric,
    private_redis,
    tictactoe_pair,
    until,
)


async def test_metrics_count_what_happened(server: LiveServer) -> None:
    async with tictactoe_pair(server.http) as (ca, cb, _):
        await ca.move({"cell": 4})
        await cb.wait_for(lambda c: c.my_turn, timeout=10)
        with pytest.raises(MoveRejected):
            await cb.move({"cell": 4})
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"{server.http}/metrics")).text
    assert metric(text, 'meeple_moves_total{result="accepted"}') == 1
    assert metric(text, 'meeple_moves_total{result="rejected"}') == 1
    assert metric(text, "meeple_connections") == 2
    assert metric(text, 'meeple_rooms{status="playing"}') == 1
    assert metric(text, "meeple_bytes_in_total") > 0
    assert metric(text, "meeple_bytes_out_total") > metric(text, "meeple_bytes_in_total")
    assert metric(text, "meeple_move_latency_seconds_count") == 2
    assert metric(text, "meeple_redis_errors_total") == 0


async def test_health_and_readiness(server: LiveServer) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{server.http}/healthz")).json() == {"status": "ok"}
        assert (await http.get(f"{server.http}/readyz")).json() == {"status": "ready"}


@pytest.mark.redis
@pytest.mark.server_errors  # Redis goes away: the server says so
async def test_not_ready_when_redis_stops_answering() -> None:
    async with (
        private_redis() as (url, redis),
        live_server(Settings(redis_url=url)) as srv,
        httpx.AsyncClient() as http,
    ):
        assert (await http.get(f"{srv.http}/readyz")).status_code == 200
        redis.terminate()
        redis.wait(10)
        ready = await http.get(f"{srv.http}/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert (await http.get(f"{srv.http}/healthz")).status_code == 200


@pytest.mark.redis
@pytest.mark.server_errors  # Redis refuses writes: the server logs and counts them
async def test_a_move_redis_cannot_save_is_counted_and_never_shown() -> None:
    """Redis refuses writes (out of memory) as a move comes in: the move is not
    acknowledged or shown, /metrics counts the error, and once Redis takes writes again
    the players resume the room as it was saved, and play on. The copy that could not
    save does nothing more: past its grace period it forfeits nobody."""
    grace = 2.0
    async with (
        private_redis() as (url, _),
        live_server(Settings(redis_url=url, grace_seconds=grace)) as srv,
        tictactoe_pair(srv.http) as (ca, cb, room_id),
        httpx.AsyncClient() as http,
        Redis.from_url(url) as redis,
    ):
        seq = ca.seq
        assert seq is not None
        await redis.config_set("maxmemory", 1)  # noeviction: writes fail with OOM
        try:
            # Refused as not saved (docs/protocol.md, `not_saved`), then the room closes.
            with pytest.raises(MoveRejected, match="not_saved"):
                await asyncio.wait_for(ca.move({"cell": 4}), 10)
            dropped_at = time.monotonic()
            text = (await http.get(f"{srv.http}/metrics")).text
            assert metric(text, "meeple_redis_errors_total") >= 1
            assert cb.seq == seq and cb.view["b"][4] == -1  # the opponent never saw it
        finally:
            await redis.config_set("maxmemory", 0)
        await ca.wait_for(lambda c: c.connected and c.my_turn, timeout=20)
        await cb.wait_for(lambda c: c.connected, timeout=20)
        assert ca.seq == seq and ca.view["b"][4] == -1
        assert await asyncio.wait_for(ca.move({"cell": 4}), 10) == seq + 1
        await cb.wait_for(lambda c: c.seq == seq + 1, timeout=10)
        assert cb.view["b"][4] == 0
        # Past the grace period the copy that could not save would forfeit somebody: that
        # lapse (a timer of the server's loop, here) is what is under test.
        await asyncio.sleep(max(0.0, dropped_at + grace + 0.5 - time.monotonic()))
        journal = srv.app.state.services.rooms.journal
        loaded = await journal.load(room_id)
        assert loaded is not None
        meta, entries = loaded
        assert meta["status"] == "playing" and ca.status == cb.status == "playing"
        assert [e["k"] for e in entries][-1:] == ["move"]
        assert [e["s"] for e in entries] == list(range(entries[0]["s"], seq + 2))


async def test_the_server_logs_json_lines_with_room_seat_and_connection(tmp_path: Path) -> None:
    """``meeple serve``'s own log, as an operator's log shipper reads it."""
    log_file = tmp_path / "server.log"
    server = ServerProcess({}, log_level="info", log_file=log_file)
    try:
        await server.start()
        async with tictactoe_pair(server.http) as (ca, cb, room_id):
            ca.resign()
            await cb.wait_for(lambda c: c.finished, timeout=10)

        def both_logged_off() -> bool:  # the server notices both closes
            text = log_file.read_text()
            done = text[: text.rfind("\n") + 1]  # whole lines: one may be half written
            logged = [json.loads(line) for line in done.splitlines()]
            return [e.get("room") for e in logged if e["msg"] == "disconnected"].count(room_id) == 2

        await until(both_logged_off, what="both disconnections in the log")
    finally:
        server.stop()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)
    mine = [line for line in lines if line.get("room") == room_id]
    connected = [line for line in mine if line["msg"] == "connected"]
    assert sorted(line["seat"] for line in connected) == [0, 1]
    assert len({line["conn"] for line in connected}) == 2
    for line in connected:
        assert line["logger"] == "meeple.gateway" and line["level"] == "info"
        assert line["ts"].endswith("+00:00") and line["player"]
    disconnected = [line for line in mine if line["msg"] == "disconnected"]
    assert {line["conn"] for line in disconnected} == {line["conn"] for line in connected}
    assert any(line["msg"].startswith("game over") for line in mine)
