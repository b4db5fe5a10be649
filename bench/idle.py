"""Idle connections: what C quiet WebSockets cost the server in memory and heartbeats.

    .venv/bin/python bench/idle.py http://127.0.0.1:8000 --conns 10000 --seconds 60 \
        --server-pid 1234 --json out.json

Each connection is a guest session watching one of ``C / --per-room`` tic-tac-toe
rooms as a spectator (no seat, so no game runs). The server pings every connection
every ``MEEPLE_PING_INTERVAL`` seconds (10 by default) with WebSocket ping frames and
the client answers each with a pong, as every WebSocket client does by itself; no
one sends anything else. Steps:

1. the server's resident memory and CPU with nobody connected (``--baseline`` s);
2. C sessions and the rooms; memory again;
3. C connections; after ``--settle`` seconds, memory again;
4. a window of ``--seconds``: the server's CPU (heartbeats, timers, the event loop),
   its memory, and the pings the clients saw (a check that heartbeats ran);
5. everyone disconnects.

Memory per connection is (RSS with the connections - RSS after the sessions) / C;
with the sessions it is (RSS with the connections - RSS before) / C.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ServerSample,
    Socket,
    base_urls,
    gather_limited,
    http_client,
    new_room,
    new_session,
    proc_status,
    run,
    self_cpu,
    write_json,
)
from meeple.lobby.cli import raise_open_files


class Watcher(Socket):
    """An idle spectator: reads what comes (room updates) and answers pings."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token)
        self.frames = 0
        self.dropped = False

    def on_message(self, data: bytes) -> None:
        self.frames += 1

    def on_closed(self) -> None:
        self.dropped = True


@dataclass
class IdleResult:
    conns: int
    rooms: int
    connected: int
    seconds: float
    pings_per_conn: float
    """WebSocket pings each client saw in the window (about seconds / ping interval)."""
    dropped: int
    """Connections that closed during the window (expect 0)."""
    gen_cpu_pct: float
    server_pid: int | None = None
    rss_before: int | None = None
    rss_sessions: int | None = None
    rss_connected: int | None = None
    rss_window_max: int | None = None
    vmhwm: int | None = None
    bytes_per_conn: float | None = None
    """(RSS connected - RSS after the sessions) / C."""
    bytes_per_conn_with_session: float | None = None
    """(RSS connected - RSS before the sessions) / C."""
    baseline_cpu_pct: float | None = None
    """The server's CPU with nobody connected, % of one core."""
    idle_cpu_pct: float | None = None
    """The server's CPU in the window, % of one core."""
    heartbeat_cpu_pct: float | None = None
    """idle_cpu_pct - baseline_cpu_pct."""
    other_cpu_pct: float | None = None
    """The machine's CPU in the window not used by the server or the generator."""


@dataclass
class Window:
    cpu_pct: float
    """The server's CPU, % of one core."""
    machine_pct: float
    """Everything the machine ran, % of one core."""
    seconds: float
    rss_max: int


async def _sample_window(pid: int, seconds: float) -> Window:
    """The server's CPU over ``seconds``, and the largest RSS seen."""
    first = ServerSample.take(pid)
    rss_max = first.rss
    end = first.at + seconds
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        rss_max = max(rss_max, ServerSample.take(pid).rss)
    last = ServerSample.take(pid)
    duration = last.at - first.at
    return Window(
        100 * (last.cpu - first.cpu) / duration,
        100 * (last.system - first.system) / duration,
        duration,
        rss_max,
    )


async def run_idle(
    url: str,
    conns: int,
    *,
    seconds: float = 60,
    per_room: int = 50,
    baseline: float = 5,
    settle: float = 5,
    server_pid: int | None = None,
    concurrency: int = 100,
) -> IdleResult:
    http, ws = base_urls(url)
    pid = server_pid
    result = IdleResult(
        conns=conns, rooms=0, connected=0, seconds=0, pings_per_conn=0, dropped=0, gen_cpu_pct=0
    )
    result.server_pid = pid
    if pid is not None:
        result.baseline_cpu_pct = (await _sample_window(pid, baseline)).cpu_pct
        result.rss_before = ServerSample.take(pid).rss
    async with http_client(http, concurrency) as client:
        tokens = await gather_limited(
            [partial(new_session, client, f"idle-{i}") for i in range(conns)], concurrency
        )
        rooms = (conns + per_room - 1) // per_room
        room_ids = await gather_limited(
            [partial(new_room, client, tokens[i * per_room], join=False) for i in range(rooms)],
            concurrency,
        )
    result.rooms = rooms
    if pid is not None:
        result.rss_sessions = ServerSample.take(pid).rss
    watchers = [
        Watcher(f"{ws}/ws/rooms/{room_ids[i // per_room]}", token) for i, token in enumerate(tokens)
    ]
    outcomes = await gather_limited([w.connect for w in watchers], concurrency)
    del outcomes
    result.connected = sum(1 for w in watchers if w.open)
    await asyncio.sleep(settle)
    pings_before = sum(w.pings for w in watchers)
    cpu_before = self_cpu()
    if pid is not None:
        result.rss_connected = ServerSample.take(pid).rss
        window = await _sample_window(pid, seconds)
        result.idle_cpu_pct, result.seconds = window.cpu_pct, window.seconds
        result.rss_window_max = window.rss_max
        gen_pct = 100 * (self_cpu() - cpu_before) / window.seconds
        result.other_cpu_pct = max(0.0, window.machine_pct - window.cpu_pct - gen_pct)
        result.vmhwm = proc_status(pid).get("VmHWM")
        connected = result.rss_connected
        result.bytes_per_conn = (connected - (result.rss_sessions or 0)) / conns
        result.bytes_per_conn_with_session = (connected - (result.rss_before or 0)) / conns
        if result.baseline_cpu_pct is not None:
            result.heartbeat_cpu_pct = result.idle_cpu_pct - result.baseline_cpu_pct
    else:
        start = time.monotonic()
        await asyncio.sleep(seconds)
        result.seconds = time.monotonic() - start
    result.gen_cpu_pct = 100 * (self_cpu() - cpu_before) / max(result.seconds, 1e-9)
    result.pings_per_conn = (sum(w.pings for w in watchers) - pings_before) / max(1, conns)
    result.dropped = sum(1 for w in watchers if w.dropped)
    await gather_limited([partial(w.aclose, 5) for w in watchers], 1000)
    return result


def describe(r: IdleResult) -> str:
    kib = 1024
    mib = 1024 * 1024
    lines = [
        f"{r.connected}/{r.conns} idle connections in {r.rooms} rooms, window {r.seconds:.1f} s",
        f"  pings seen per connection {r.pings_per_conn:.1f}, dropped {r.dropped}, "
        f"generator CPU {r.gen_cpu_pct:.1f}% of a core",
    ]
    if r.bytes_per_conn is not None:
        lines += [
            f"  server RSS {(r.rss_before or 0) / mib:.1f} MiB before, "
            f"{(r.rss_sessions or 0) / mib:.1f} MiB with the sessions, "
            f"{(r.rss_connected or 0) / mib:.1f} MiB connected "
            f"(window max {(r.rss_window_max or 0) / mib:.1f} MiB)",
            f"  memory per connection {r.bytes_per_conn / kib:.1f} KiB "
            f"({(r.bytes_per_conn_with_session or 0) / kib:.1f} KiB with its session)",
            f"  server CPU {r.idle_cpu_pct:.2f}% of a core idle with connections, "
            f"{r.baseline_cpu_pct:.2f}% with none: heartbeats {r.heartbeat_cpu_pct:.2f}%",
            f"  other processes {r.other_cpu_pct or 0:.1f}% of a core (interference)",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--conns", "-C", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60, help="the measured window")
    parser.add_argument("--per-room", type=int, default=50, help="spectators per room")
    parser.add_argument("--baseline", type=float, default=5, help="seconds with nobody on")
    parser.add_argument("--settle", type=float, default=5)
    parser.add_argument("--server-pid", type=int, help="read the server's CPU and memory")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    limit = raise_open_files()
    if limit < args.conns + 100:
        sys.exit(f"the open-file limit is {limit}; {args.conns} connections need more")
    result = run(
        run_idle(
            args.url,
            args.conns,
            seconds=args.seconds,
            per_room=args.per_room,
            baseline=args.baseline,
            settle=args.settle,
            server_pid=args.server_pid,
        )
    )
    print(describe(result), flush=True)
    if args.json:
        write_json(args.json, asdict(result))


if __name__ == "__main__":
    main()
