"""Load generator: R rooms of two tic-tac-toe players each, playing back to back.

    .venv/bin/python bench/load.py http://127.0.0.1:8000 --rooms 100 --seconds 20 \
        --server-pid 1234 --json out.json

Per room: two guest sessions, a room made by the first (who holds seat 0), a seat
taken by the second, and both connected to the room's WebSocket at once (a seat is
held for a player who has not connected for ``MEEPLE_RESERVATION_SECONDS`` only).
Given several servers (processes sharing one Redis), room i is made on server
i mod n by its first player, whose second player is on the next server: the rooms
are spread over every process and each room has a player on two of them. From the "go"
moment each player moves as soon as it sees its turn (a random empty cell); when a
game ends both vote ``rematch`` and the server starts the next game in the same room
with a ``snap``. After a warm-up, a window of ``--seconds`` is measured:

* accepted moves per second: acknowledgements of moves that arrived in the window
  (the ``ack`` in the mover's copy of the ``d``, or an ``ack`` frame);
* move to opponent latency: from the mover's send to the opponent's receipt of the
  ``d`` it caused (both ends are in the same process: the room stamps the send time
  with the sequence number the move will get);
* bytes per state message: WebSocket payload sizes of the ``d`` frames the opponent
  receives (the mover's copy carries the ``ack`` as well);
* the server's CPU seconds and resident memory during the window (``--server-pid``,
  once per server process; added up), and CPU microseconds per accepted move; the
  same for Redis (``--redis-pid``), which does work for every move too;
* the generator's own CPU, summed over its processes, so a reader can tell when the
  generator and not the server ran out of CPU.

``--procs N`` forks N load processes that each drive a share of the rooms, starting
together at one moment; their results are added up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import random
import sys
import time
import traceback
from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

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
    percentile,
    proc_cpu,
    proc_status,
    run,
    self_cpu,
    take_seat,
    write_json,
)
from meeple.game.codec import decode, encode
from meeple.lobby.cli import raise_open_files, tune_gc

PLAYING = "load: playing"
"""What the coordinator prints (to stderr) when the set-up is done and play starts."""
REMATCH = encode({"t": "rematch"})
SYNC = encode({"t": "sync"})


@dataclass
class Counters:
    """One load process's measurements; ``measuring`` is true inside the window."""

    running: bool = False
    measuring: bool = False
    moves: int = 0
    """Moves acknowledged inside the window."""
    moves_all: int = 0
    games: int = 0
    """Games that ended inside the window (counted once, by seat 0)."""
    latencies: array[float] = field(default_factory=lambda: array("d"))
    """Move to opponent's delta, seconds, inside the window."""
    d_frames: int = 0
    d_bytes: int = 0
    d_max: int = 0
    mid_frames: int = 0
    """``d`` frames that did not end a game (no result attached)."""
    mid_bytes: int = 0
    mid_max: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    closed: int = 0
    room_moves: list[int] = field(default_factory=list)
    """Moves acknowledged inside the window, per room: a room that stops (a lost frame,
    a stuck player) would otherwise only show as a lower rate and a shorter latency."""
    room_gap: float = 0.0
    """The longest any room went without an acknowledged move inside the window, seconds
    (from the window's start, and up to its end)."""
    cpu_start: float = 0.0
    cpu_end: float = 0.0
    window_start: float = 0.0
    window_end: float = 0.0


class Table:
    """What a room's two players share: the last move's sequence number and send time."""

    __slots__ = ("gap", "last", "mover", "moves", "players", "sent_at", "sent_seq")

    def __init__(self) -> None:
        self.sent_seq = -1
        self.sent_at = 0.0
        self.mover: Player | None = None
        self.players: list[Player] = []
        self.moves = 0
        """Moves acknowledged in this room inside the window."""
        self.last = 0.0
        """When (``perf_counter``) the room's last move inside the window was acknowledged,
        or the window opened."""
        self.gap = 0.0
        """The longest time inside the window the room went without an acknowledged move."""

    def acked(self) -> None:
        """A move of this room was acknowledged inside the window."""
        self.moves += 1
        now = time.perf_counter()
        if now - self.last > self.gap:
            self.gap = now - self.last
        self.last = now


class Player(Socket):
    """One seated player: plays a random empty cell as soon as it is its turn."""

    def __init__(
        self,
        url: str,
        token: str,
        table: Table,
        counters: Counters,
        rng: random.Random,
        max_rate: float | None = None,
    ) -> None:
        super().__init__(url, token)
        self.table = table
        self.counters = counters
        self.rng = rng
        self.seat: int | None = None
        """Ours from the first ``snap`` on (None until then)."""
        self.seq = 0
        self.board: list[int] = [-1] * 9
        self.my_turn = False
        self.finished = False
        self.next_id = 1
        self.interval = 1 / max_rate if max_rate else 0.0
        """With ``max_rate``: the least time between two moves or votes (a server's
        per-connection message limit); 0 plays as fast as the server answers."""
        self.next_send = 0.0
        self.deferred = False

    def on_message(self, data: bytes) -> None:
        msg = decode(data)
        kind = msg["t"]
        c = self.counters
        if kind == "d":
            now = time.perf_counter()
            seq = msg["s"]
            finished = "st" in msg and msg["st"] == "finished"
            if "ack" in msg:
                # Our own move, acknowledged in our copy of its delta; the state
                # message measured below is the one every other player receives.
                if msg["ack"] is not None:
                    c.moves_all += 1
                    if c.measuring:
                        c.moves += 1
                        self.table.acked()
            elif c.measuring:
                size = len(data)
                c.d_frames += 1
                c.d_bytes += size
                if size > c.d_max:
                    c.d_max = size
                if not finished:
                    c.mid_frames += 1
                    c.mid_bytes += size
                    if size > c.mid_max:
                        c.mid_max = size
            table = self.table
            if seq == table.sent_seq and table.mover is not self and c.measuring:
                c.latencies.append(now - table.sent_at)  # the opponent's move reached us
            if seq != self.seq + 1:
                self.send(SYNC)  # a gap: start over from a snapshot
                return
            self.seq = seq
            board = self.board
            for op in msg["o"]:
                path = op[0]
                if len(path) == 2 and path[0] == "b":
                    board[path[1]] = op[1]
                else:  # not a one-cell change: ask for the whole view
                    self.send(SYNC)
                    return
            if finished:
                self.my_turn = False
                self.finished = True
                if self.seat == 0 and c.measuring:
                    c.games += 1
                if c.running:
                    self.act()
            else:
                self.my_turn = self.seat in msg["a"]
                if self.my_turn and c.running:
                    self.act()
        elif kind == "ack":
            if msg["id"] is not None:
                c.moves_all += 1
                if c.measuring:
                    c.moves += 1
                    self.table.acked()
        elif kind == "snap":
            if msg["seat"] is None and self.seat is None:
                c.errors["unseated"] += 1  # its seat was not held for it: it only watches
            self.seat = msg["seat"]
            self.seq = msg["s"]
            view = msg["v"]
            self.board = list(view["b"]) if "b" in view else [-1] * 9
            self.finished = msg["st"] == "finished"
            self.my_turn = msg["st"] == "playing" and self.seat in msg["a"]
            if c.running:
                self.act()
        elif kind == "err":
            c.errors[msg.get("code") or "?"] += 1
            if c.running:  # whatever went wrong, start over from a snapshot
                delay = 0.1 if msg.get("code") == "rate_limited" else 0.0
                asyncio.get_running_loop().call_later(delay, self.send, SYNC)

    def act(self) -> None:
        """Move when it is our turn, vote for a rematch when the game is over; at once,
        or when the pace allows."""
        if self.interval:
            now = time.monotonic()
            if now < self.next_send:
                if not self.deferred:
                    self.deferred = True
                    asyncio.get_running_loop().call_later(self.next_send - now, self._resume)
                return
            self.next_send = now + self.interval
        if self.my_turn:
            self.move()
        elif self.finished:
            self.send(REMATCH)

    def _resume(self) -> None:
        self.deferred = False
        if self.counters.running:
            self.act()

    def move(self) -> None:
        board = self.board
        empty = [i for i in range(9) if board[i] == -1]
        if not empty:
            return
        table = self.table
        table.sent_seq = self.seq + 1
        table.mover = self
        self.my_turn = False
        msg_id = self.next_id
        self.next_id = msg_id + 1
        table.sent_at = time.perf_counter()
        self.send(encode({"t": "move", "id": msg_id, "m": {"cell": self.rng.choice(empty)}}))

    def go(self) -> None:
        """The load starts: act on what the player already knows. Paced players start at
        a random point of their interval, so that the rooms do not move in lockstep."""
        if self.interval:
            self.next_send = time.monotonic() + self.rng.uniform(0, self.interval)
        self.act()

    def on_closed(self) -> None:
        if self.counters.running:
            self.counters.closed += 1


# One load process --------------------------------------------------------------------


async def set_up(
    urls: list[str],
    rooms: int,
    counters: Counters,
    seed: int,
    tag: str,
    max_rate: float | None = None,
    concurrency: int = 20,
) -> list[Player]:
    """Make the sessions and rooms, seat both players and connect them, room by room.

    Each room's players connect as soon as they are seated: the server holds a seat for
    a player who has not connected for ``MEEPLE_RESERVATION_SECONDS`` (30 s) only, and a
    set-up that connected everyone at the end lost the seats of the first rooms when it
    took longer than that (at R=2,000: 590 rooms whose "players" only watched).
    """
    ends = [base_urls(url) for url in urls]
    rng = random.Random(seed)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(http_client(http, concurrency)) for http, _ in ends
        ]

        async def one_room(i: int) -> list[Player]:
            a, b = i % len(ends), (i + 1) % len(ends)  # the room's server, the other's
            first = await new_session(clients[a], f"bench-{tag}-{i}-x")
            second = await new_session(clients[b], f"bench-{tag}-{i}-o")
            room_id = await new_room(clients[a], first)
            await take_seat(clients[b], second, room_id)
            table = Table()
            for end, token in ((a, first), (b, second)):
                room_url = f"{ends[end][1]}/ws/rooms/{room_id}"
                table.players.append(Player(room_url, token, table, counters, rng, max_rate))
            await asyncio.gather(*(p.connect() for p in table.players))
            return table.players

        made = await gather_limited([partial(one_room, i) for i in range(rooms)], concurrency)
    return [player for pair in made for player in pair]


async def drive(
    urls: list[str],
    rooms: int,
    *,
    seed: int,
    tag: str,
    go_at: Any,
    warmup: float,
    seconds: float,
    max_rate: float | None = None,
) -> Counters:
    """Set up, wait for ``go_at()`` (a loop time), play, and measure one window."""
    counters = Counters()
    players = await set_up(urls, rooms, counters, seed, tag, max_rate)
    start = await go_at()
    loop = asyncio.get_running_loop()

    def go() -> None:
        counters.running = True
        for player in players:
            player.go()

    tables = list({id(p.table): p.table for p in players}.values())

    def open_window() -> None:
        counters.cpu_start = self_cpu()
        counters.window_start = time.monotonic()
        opened = time.perf_counter()
        for table in tables:
            table.last = opened
        counters.measuring = True

    def close_window() -> None:
        counters.measuring = False
        counters.running = False
        counters.window_end = time.monotonic()
        counters.cpu_end = self_cpu()
        closed = time.perf_counter()
        counters.room_moves = [t.moves for t in tables]
        counters.room_gap = max((max(t.gap, closed - t.last) for t in tables), default=0.0)

    loop.call_at(start, go)
    loop.call_at(start + warmup, open_window)
    loop.call_at(start + warmup + seconds, close_window)
    await asyncio.sleep(max(0.0, start + warmup + seconds - loop.time()) + 0.3)
    await asyncio.gather(*(p.aclose(2) for p in players), return_exceptions=True)
    return counters


def _child(pipe: Connection, urls: list[str], rooms: int, seed: int, tag: str, warmup: float,
           seconds: float, max_rate: float | None) -> None:  # fmt: skip
    """A forked load process: set up, say ready, wait for the start time, report."""
    raise_open_files()
    tune_gc()  # as meeple serve does: every frame makes a few short-lived objects

    async def go_at() -> float:
        pipe.send(("ready", None))
        loop = asyncio.get_running_loop()
        start: float = await loop.run_in_executor(None, pipe.recv)
        return start  # time.monotonic() and the loop's clock are the same clock

    try:
        play = drive(
            urls,
            rooms,
            seed=seed,
            tag=tag,
            go_at=go_at,
            warmup=warmup,
            seconds=seconds,
            max_rate=max_rate,
        )
        counters = run(play)
        pipe.send(("done", counters))
    except BaseException:
        pipe.send(("error", traceback.format_exc()))
    finally:
        pipe.close()


# The coordinator --------------------------------------------------------------------


@dataclass
class LoadResult:
    rooms: int
    procs: int
    seconds: float
    """The measured window, as the coordinator saw it."""
    moves: int
    moves_per_s: float
    games_per_s: float
    latency_samples: int
    latency_p50_ms: float | None
    latency_p90_ms: float | None
    latency_p99_ms: float | None
    latency_max_ms: float | None
    d_bytes_mean: float | None
    d_bytes_max: int
    d_move_bytes_mean: float | None
    """``d`` frames that did not end the game."""
    d_move_bytes_max: int
    gen_cpu_s: float
    gen_cpu_pct: float
    """Of one core, summed over the load processes."""
    errors: dict[str, int]
    closed: int
    """Connections that closed while the load ran (expect 0)."""
    rooms_stalled: int = 0
    """Rooms that made no move inside the window (expect 0)."""
    room_moves_min: int = 0
    room_moves_max: int = 0
    """The fewest and most moves one room made inside the window."""
    room_gap_max_s: float = 0.0
    """The longest any room went without an acknowledged move inside the window (from
    its start, and up to its end): every room playing to the end keeps this short."""
    servers: int = 1
    """Server processes (on one Redis) the rooms and players were spread over."""
    max_rate: float | None = None
    """Moves and votes a second per player at most (None: as fast as the server answers)."""
    server_pids: list[int] = field(default_factory=list)
    server_cpu_s: float | None = None
    """Added up over the server processes, as their RSS is."""
    server_cpu_pct: float | None = None
    server_us_per_move: float | None = None
    server_kernel_pct: float | None = None
    """The kernel's share of the server's CPU in the window, % (its system calls: a
    move's read and two writes, and the loop's epoll; the rest is the Python side)."""
    server_rss_start: int | None = None
    server_rss_max: int | None = None
    """The largest resident size sampled in the window, bytes."""
    server_vmhwm: int | None = None
    """The server's peak resident size since it started, bytes."""
    machine_cpu_pct: float | None = None
    """Everything the machine ran in the window, % of one core (2 cores: up to 200)."""
    redis_pid: int | None = None
    redis_cpu_s: float | None = None
    redis_cpu_pct: float | None = None
    redis_us_per_move: float | None = None
    """Redis's own CPU per accepted move (it runs on the same machine)."""
    other_cpu_pct: float | None = None
    """The machine's CPU not used by the server, Redis or the generator: interference."""


def run_load(
    urls: str | list[str],
    rooms: int,
    *,
    seconds: float = 20,
    warmup: float = 3,
    procs: int = 1,
    server_pids: list[int] | None = None,
    redis_pid: int | None = None,
    seed: int = 1,
    max_rate: float | None = None,
    setup_timeout: float = 600,
) -> LoadResult:
    """Fork the load processes, start them together, sample the server, add up."""
    urls = [urls] if isinstance(urls, str) else urls
    pids = server_pids or []
    procs = max(1, min(procs, rooms))
    ctx = mp.get_context("fork")
    shares = [rooms // procs + (1 if i < rooms % procs else 0) for i in range(procs)]
    pipes: list[Connection] = []
    children = []
    for i, share in enumerate(shares):
        mine, theirs = ctx.Pipe()
        child = ctx.Process(
            target=_child,
            args=(theirs, urls, share, seed * 1000 + i, f"{i}", warmup, seconds, max_rate),
        )
        child.start()
        theirs.close()
        pipes.append(mine)
        children.append(child)
    redis_cpu: list[float] = []
    try:
        began = time.monotonic()
        deadline = began + setup_timeout
        for pipe in pipes:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"set-up took over {setup_timeout} s")
            status, payload = pipe.recv()
            if status != "ready":
                raise RuntimeError(f"a load process failed:\n{payload}")
        start = time.monotonic() + 0.2
        setup = start - began
        print(f"{PLAYING}: {rooms} rooms set up in {setup:.1f} s", file=sys.stderr, flush=True)
        for pipe in pipes:
            pipe.send(start)
        window_start = start + warmup
        window_end = window_start + seconds
        samples: list[ServerSample] = []
        time.sleep(max(0.0, window_start - time.monotonic()))
        if pids:
            samples.append(ServerSample.take(*pids))
            if redis_pid is not None:
                redis_cpu.append(proc_cpu(redis_pid))
            while time.monotonic() < window_end:
                time.sleep(min(0.25, max(0.0, window_end - time.monotonic())))
                samples.append(ServerSample.take(*pids))
            if redis_pid is not None:
                redis_cpu.append(proc_cpu(redis_pid))
        else:
            time.sleep(max(0.0, window_end - time.monotonic()))
        vmhwm = sum(proc_status(pid).get("VmHWM", 0) for pid in pids) if pids else None
        results: list[Counters] = []
        for pipe in pipes:
            if not pipe.poll(60):
                raise TimeoutError("a load process did not report")
            status, payload = pipe.recv()
            if status != "done":
                raise RuntimeError(f"a load process failed:\n{payload}")
            results.append(payload)
    finally:
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
                child.join()
    result = _aggregate(rooms, procs, results, samples, pids, vmhwm)
    result.max_rate = max_rate
    result.servers = len(urls)
    if len(redis_cpu) == 2:
        cpu = redis_cpu[1] - redis_cpu[0]
        result.redis_pid = redis_pid
        result.redis_cpu_s = cpu
        result.redis_cpu_pct = 100 * cpu / result.seconds
        result.redis_us_per_move = 1e6 * cpu / result.moves if result.moves else None
        if result.other_cpu_pct is not None:
            result.other_cpu_pct = max(0.0, result.other_cpu_pct - result.redis_cpu_pct)
    return result


def _aggregate(
    rooms: int,
    procs: int,
    results: list[Counters],
    samples: list[ServerSample],
    server_pids: list[int],
    vmhwm: int | None,
) -> LoadResult:
    window = max(r.window_end for r in results) - min(r.window_start for r in results)
    if samples:
        window = samples[-1].at - samples[0].at
    window = max(window, 1e-9)
    moves = sum(r.moves for r in results)
    latencies = sorted(x * 1000 for r in results for x in r.latencies)
    d_frames = sum(r.d_frames for r in results)
    mid_frames = sum(r.mid_frames for r in results)
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    gen_cpu = sum(r.cpu_end - r.cpu_start for r in results)
    result = LoadResult(
        rooms=rooms,
        procs=procs,
        seconds=round(window, 3),
        moves=moves,
        moves_per_s=moves / window,
        games_per_s=sum(r.games for r in results) / window,
        latency_samples=len(latencies),
        latency_p50_ms=percentile(latencies, 50),
        latency_p90_ms=percentile(latencies, 90),
        latency_p99_ms=percentile(latencies, 99),
        latency_max_ms=latencies[-1] if latencies else None,
        d_bytes_mean=sum(r.d_bytes for r in results) / d_frames if d_frames else None,
        d_bytes_max=max(r.d_max for r in results),
        d_move_bytes_mean=sum(r.mid_bytes for r in results) / mid_frames if mid_frames else None,
        d_move_bytes_max=max(r.mid_max for r in results),
        gen_cpu_s=gen_cpu,
        gen_cpu_pct=100 * gen_cpu / window,
        errors=dict(errors),
        closed=sum(r.closed for r in results),
        rooms_stalled=sum(1 for r in results for n in r.room_moves if n == 0),
        room_moves_min=min((n for r in results for n in r.room_moves), default=0),
        room_moves_max=max((n for r in results for n in r.room_moves), default=0),
        room_gap_max_s=round(max(r.room_gap for r in results), 3),
        server_pids=server_pids,
        server_vmhwm=vmhwm,
    )
    if len(samples) >= 2:
        cpu = samples[-1].cpu - samples[0].cpu
        result.server_cpu_s = cpu
        result.server_cpu_pct = 100 * cpu / window
        result.server_us_per_move = 1e6 * cpu / moves if moves else None
        kernel = samples[-1].kernel - samples[0].kernel
        result.server_kernel_pct = 100 * min(1.0, kernel / cpu) if cpu > 0 else None
        result.server_rss_start = samples[0].rss
        result.server_rss_max = max(s.rss for s in samples)
        machine = samples[-1].system - samples[0].system
        result.machine_cpu_pct = 100 * machine / window
        result.other_cpu_pct = 100 * max(0.0, machine - cpu - gen_cpu) / window
    return result


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def describe(r: LoadResult) -> str:
    mib = 1024 * 1024
    paced = f", at most {r.max_rate:g} moves/s per player" if r.max_rate else ""
    servers = f" over {r.servers} servers" if r.servers > 1 else ""
    lines = [
        f"rooms {r.rooms}{servers} ({r.procs} load process{'es' if r.procs > 1 else ''}"
        f"{paced}), window {r.seconds:.1f} s",
        f"  accepted moves   {r.moves} = {r.moves_per_s:,.0f}/s ({r.games_per_s:,.0f} games/s)",
        f"  move->opponent   p50 {_fmt(r.latency_p50_ms, '.2f')} ms, "
        f"p99 {_fmt(r.latency_p99_ms, '.2f')} ms, max {_fmt(r.latency_max_ms, '.2f')} ms "
        f"({r.latency_samples} samples)",
        f"  d payload        mean {_fmt(r.d_bytes_mean)} B, max {r.d_bytes_max} B; "
        f"mid-game mean {_fmt(r.d_move_bytes_mean)} B, max {r.d_move_bytes_max} B",
        f"  generator CPU    {r.gen_cpu_s:.2f} s = {r.gen_cpu_pct:.0f}% of a core",
        f"  moves per room   {r.room_moves_min} to {r.room_moves_max}; "
        f"rooms that made none: {r.rooms_stalled}; longest a room went without one "
        f"{r.room_gap_max_s:.2f} s",
    ]
    if r.server_cpu_s is not None:
        lines.append(
            f"  server CPU       {r.server_cpu_s:.2f} s = {_fmt(r.server_cpu_pct, '.0f')}% of a "
            f"core, {_fmt(r.server_us_per_move)} us per accepted move, "
            f"{_fmt(r.server_kernel_pct, '.0f')}% of it in the kernel"
        )
        lines.append(
            f"  server RSS       {(r.server_rss_start or 0) / mib:.1f} MiB at the start, "
            f"max {(r.server_rss_max or 0) / mib:.1f} MiB, "
            f"peak since start {(r.server_vmhwm or 0) / mib:.1f} MiB"
        )
    if r.redis_cpu_s is not None:
        lines.append(
            f"  Redis CPU        {r.redis_cpu_s:.2f} s = {_fmt(r.redis_cpu_pct, '.0f')}% of a "
            f"core, {_fmt(r.redis_us_per_move)} us per accepted move"
        )
    if r.other_cpu_pct is not None:
        lines.append(f"  other processes  {r.other_cpu_pct:.0f}% of a core (interference)")
    if r.errors or r.closed:
        lines.append(f"  errors {r.errors}, connections closed during the run {r.closed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "urls",
        nargs="+",
        metavar="url",
        help="the server, e.g. http://127.0.0.1:8000; several processes on one Redis: "
        "rooms and players are spread over them",
    )
    parser.add_argument("--rooms", "-R", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20, help="the measured window")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--procs", type=int, default=1, help="load processes")
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        help="read the server's CPU and memory (once per server process)",
    )
    parser.add_argument("--redis-pid", type=int, help="read Redis's CPU too")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-rate",
        type=float,
        help="moves and votes a second per player at most (e.g. 18 against a server that "
        "keeps its default limit of 20 messages a second); default: as fast as it answers",
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    raise_open_files()
    result = run_load(
        args.urls,
        args.rooms,
        seconds=args.seconds,
        warmup=args.warmup,
        procs=args.procs,
        server_pids=args.server_pid,
        redis_pid=args.redis_pid,
        seed=args.seed,
        max_rate=args.max_rate,
    )
    print(describe(result), flush=True)
    if args.json:
        write_json(args.json, asdict(result))


if __name__ == "__main__":
    main()
