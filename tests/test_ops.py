"""What an operator sees: /metrics, /healthz, /readyz and JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess

import httpx
import pytest
from redis.asyncio import Redis

from client.connection import MoveRejected
from client.rest import MeepleClient
from lobby.logs import JsonFormatter
from lobby.settings import Settings
from tests.servers import LiveServer, free_port, live_server


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_metrics_count_what_happened(server: LiveServer) -> None:
    async with MeepleClient(server.http) as a, MeepleClient(server.http) as b:
        await a.create_session("Ada")
        await b.create_session("Bo")
        room = await a.create_room("tictactoe")
        await b.take_seat(room["id"])
        async with a.connect(room["id"]) as ca, b.connect(room["id"]) as cb:
            await ca.wait_for(lambda c: c.my_turn, timeout=10)
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


async def test_not_ready_when_redis_stops_answering() -> None:
    """A Redis of the test's own (started and ended by its PID) that goes away mid-run."""
    port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                await Redis.from_url(url).ping()
                break
            except Exception:
                await asyncio.sleep(0.05)
        async with live_server(Settings(redis_url=url)) as srv, httpx.AsyncClient() as http:
            assert (await http.get(f"{srv.http}/readyz")).status_code == 200
            redis.terminate()
            redis.wait(10)
            ready = await http.get(f"{srv.http}/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
            assert (await http.get(f"{srv.http}/healthz")).status_code == 200
    finally:
        if redis.poll() is None:
            redis.kill()
            redis.wait(10)


def test_logs_are_json_lines_with_room_seat_and_connection() -> None:
    record = logging.LogRecord("meeple.gateway", logging.INFO, __file__, 1, "connected", None, None)
    record.room, record.seat, record.conn, record.player = "r_1", 0, 7, "p_1"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "connected" and line["level"] == "info"
    assert (line["room"], line["seat"], line["conn"], line["player"]) == ("r_1", 0, 7, "p_1")
    assert line["ts"].endswith("+00:00")
