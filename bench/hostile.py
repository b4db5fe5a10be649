"""Hostile clients against one server, and an honest room beside them (issue 16).

    .venv/bin/python bench/hostile.py --url http://127.0.0.1:8000 --pid <server pid>

N hostile clients (a third each): **ping floods** (a WebSocket that sends pings as fast
as it can and never reads), **fragment floods** (a message in endless empty fragments;
closed, they reconnect) and **slowloris** (half send a request head a byte every
half second, half nothing at all; dropped, they reconnect). Meanwhile two honest
players play tic-tac-toe in a room of their own, a move every 20 ms, and time each
move from sending it to the delta that acknowledges it. The server's RSS is sampled
(/proc/<pid>/statm) before the hostile clients start and every 0.25 s while they run.

The hostile clients run in a process of their own (``load``), so that their work does
not delay the honest players' event loop. tests/test_memory_bound.py runs this for
20 s with 50 clients and checks the bounds: RSS under +64 MiB, p99 under 50 ms.
Everything talks only to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from websockets.asyncio.client import connect

from bench.common import base_urls, new_room, new_session, percentile, proc_rss, take_seat
from meeple.game.codec import decode, encode
from meeple.lobby.edge.frames import OP_BINARY, OP_CONT, OP_PING, encode_frame

KINDS = ("ping", "fragment", "slowloris")
RECONNECT = 0.1
"""Seconds a closed flooder waits before it connects again."""


@dataclass
class Hostile:
    """What the hostile clients did."""

    connects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    bytes_sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


async def _upgrade(host: str, port: int, path: str, token: str) -> tuple[Any, Any]:
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head[:40].decode(errors="replace"))
    return reader, writer


async def ping_flood(
    host: str, port: int, path: str, token: str, until: float, out: Hostile
) -> None:
    """Pings, as fast as the server takes them, and never a byte read."""
    batch = encode_frame(OP_PING, b"p" * 125, mask=True) * 256
    while time.monotonic() < until:
        with contextlib.suppress(
            OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError
        ):
            _, writer = await _upgrade(host, port, path, token)
            out.connects["ping"] += 1
            writer.transport.pause_reading()  # the point: never read what the server sends
            try:
                while time.monotonic() < until and not writer.is_closing():
                    writer.write(batch)
                    out.bytes_sent["ping"] += len(batch)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(writer.drain(), max(0.01, until - time.monotonic()))
            finally:
                writer.transport.abort()
        await asyncio.sleep(RECONNECT)


async def fragment_flood(
    host: str, port: int, path: str, token: str, until: float, out: Hostile
) -> None:
    """One message in endless empty fragments; reconnect when closed for it."""
    first = bytearray(encode_frame(OP_BINARY, b"", mask=True))
    first[0] &= 0x7F
    more = bytearray(encode_frame(OP_CONT, b"", mask=True))
    more[0] &= 0x7F
    batch = bytes(more) * 200
    while time.monotonic() < until:
        with contextlib.suppress(
            OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError
        ):
            reader, writer = await _upgrade(host, port, path, token)
            out.connects["fragment"] += 1
            writer.write(bytes(first))
            try:
                while time.monotonic() < until and not reader.at_eof() and not writer.is_closing():
                    writer.write(batch)
                    out.bytes_sent["fragment"] += len(batch)
                    await writer.drain()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(65536), 0.01)
            finally:
                writer.transport.abort()
        await asyncio.sleep(RECONNECT)


async def slowloris(host: str, port: int, until: float, out: Hostile, *, silent: bool) -> None:
    """A request head a byte every half second (or nothing); reconnect when dropped."""
    head = f"GET /ws/rooms/r_x HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n" * 100
    while time.monotonic() < until:
        with contextlib.suppress(OSError, ConnectionError):
            reader, writer = await asyncio.open_connection(host, port)
            out.connects["slowloris"] += 1
            try:
                for byte in head.encode():
                    if time.monotonic() >= until or reader.at_eof():
                        break
                    if not silent:
                        writer.write(bytes((byte,)))
                        out.bytes_sent["slowloris"] += 1
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(65536), 0.5)
            finally:
                writer.transport.abort()


async def load(url: str, clients: int, seconds: float) -> Hostile:
    """The hostile clients, for ``seconds``."""
    http, _ = base_urls(url)
    parts = httpx.URL(http)
    host, port = parts.host, parts.port or 80
    out = Hostile()
    async with httpx.AsyncClient(base_url=http) as client:
        tokens = [await new_session(client, f"hostile-{i}") for i in range(clients * 2 // 3 + 1)]
        room = await new_room(client, tokens[0], join=False)
    path = f"/ws/rooms/{room}"
    until = time.monotonic() + seconds
    tasks = []
    for i in range(clients):
        kind = KINDS[i % 3]
        token = tokens[i * 2 // 3 % len(tokens)]
        if kind == "ping":
            tasks.append(ping_flood(host, port, path, token, until, out))
        elif kind == "fragment":
            tasks.append(fragment_flood(host, port, path, token, until, out))
        else:
            tasks.append(slowloris(host, port, until, out, silent=i % 2 == 0))
    await asyncio.gather(*tasks)
    return out


@dataclass
class Result:
    clients: int
    seconds: float
    moves: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    rss_before: int | None = None
    rss_max: int | None = None
    rss_growth_mib: float | None = None
    hostile: dict[str, Any] = field(default_factory=dict)


async def honest_room(url: str, stop: asyncio.Event, latencies: list[float]) -> None:
    """Two players, a move every 20 ms, each timed until its acknowledging delta."""
    http, ws = base_urls(url)
    async with httpx.AsyncClient(base_url=http) as client:
        tokens = [await new_session(client, name) for name in ("honest-x", "honest-o")]
        room = await new_room(client, tokens[0])
        await take_seat(client, tokens[1], room)
    players = [
        await connect(
            f"{ws}/ws/rooms/{room}",
            additional_headers={"Authorization": f"Bearer {token}"},
            subprotocols=["meeple.v1"],  # type: ignore[list-item]
            max_size=None,
        )
        for token in tokens
    ]
    board: list[int] = [-1] * 9
    to_act: list[int] = []
    finished = asyncio.Event()
    acked: dict[int, asyncio.Future[None]] = {}
    seat_of = [0, 1]  # player -> seat: a rematch moves every player one seat on

    async def read(seat: int) -> None:
        nonlocal board, to_act
        async for frame in players[seat]:
            message = decode(frame)  # type: ignore[arg-type]
            if message["t"] == "snap" and message.get("seat") is not None:
                seat_of[seat] = message["seat"]
            if message["t"] == "snap" and seat == 0:
                board, to_act = list(message["v"].get("b", board)), message["a"]
                if message["st"] == "playing":
                    finished.clear()
            elif message["t"] == "d" and seat == 0:
                for path, value in (op for op in message["o"] if len(op) == 2):
                    if path and path[0] == "b":
                        board[path[1]] = value
                to_act = message["a"]
                if message.get("st") == "finished":
                    finished.set()
            if message.get("ack") is not None and message["ack"] in acked:
                acked.pop(message["ack"]).set_result(None)

    readers = [asyncio.create_task(read(seat)) for seat in (0, 1)]
    loop = asyncio.get_running_loop()
    msg_id = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(0.02)
            if finished.is_set() or not to_act:
                for player in players:
                    await player.send(encode({"t": "rematch"}))
                await asyncio.sleep(0.05)
                continue
            mover = seat_of.index(to_act[0]) if to_act[0] in seat_of else 0
            cell = board.index(-1) if -1 in board else 0
            msg_id += 1
            done = acked[msg_id] = loop.create_future()
            sent = time.perf_counter()
            await players[mover].send(encode({"t": "move", "id": msg_id, "m": {"cell": cell}}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done, 5)
                latencies.append(time.perf_counter() - sent)
    finally:
        for task in readers:
            task.cancel()
        for player in players:
            await player.close()


async def measure(url: str, pid: int | None, clients: int, seconds: float) -> Result:
    """The honest room's latencies and the server's RSS while the hostile clients run."""
    result = Result(clients, seconds)
    latencies: list[float] = []
    stop = asyncio.Event()
    room = asyncio.create_task(honest_room(url, stop, latencies))
    await asyncio.sleep(2)  # connected and playing
    latencies.clear()
    if pid is not None:
        result.rss_before = result.rss_max = proc_rss(pid)
    hostile = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "load", "--url", url,
        "--clients", str(clients), "--seconds", str(seconds),
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert hostile.stdout is not None
    output = asyncio.create_task(hostile.stdout.read())
    while hostile.returncode is None:
        if pid is not None:
            result.rss_max = max(result.rss_max or 0, proc_rss(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hostile.wait(), 0.25)
    stop.set()
    await room
    lines = (await output).decode().strip().splitlines()
    result.hostile = json.loads(lines[-1]) if lines else {}
    ordered = sorted(latencies)
    result.moves = len(ordered)
    result.p50_ms = _ms(percentile(ordered, 50))
    result.p99_ms = _ms(percentile(ordered, 99))
    result.max_ms = _ms(ordered[-1] if ordered else None)
    if result.rss_before is not None and result.rss_max is not None:
        result.rss_growth_mib = round((result.rss_max - result.rss_before) / 2**20, 1)
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="measure", choices=("measure", "load"))
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, help="the server's PID, to sample its RSS")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    if args.mode == "load":
        print(json.dumps(asdict(asyncio.run(load(args.url, args.clients, args.seconds)))))
    else:
        result = asyncio.run(measure(args.url, args.pid, args.clients, args.seconds))
        print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
