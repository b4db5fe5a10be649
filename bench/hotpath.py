"""The server's work per move in one process, with no sockets: less noise than a load test.

    .venv/bin/python bench/hotpath.py --rooms 100 --turns 600               # in memory
    .venv/bin/python bench/hotpath.py --rooms 100 --turns 600 --redis redis://127.0.0.1:6379/0

R tic-tac-toe rooms, each with two ``Connection`` objects on sockets that only count
their writes; every loop turn each room's player to move sends one move (a masked
frame through ``FrameReader``, ``decode``, ``Room.handle``), and the turn ends when the
outbox has written and, with Redis, the journal writer has saved and published: one
batch per turn, as under saturation. A finished game is followed by both players'
rematch votes. The services are the server's own (``build_services``): records,
ratings and summaries are written as in ``meeple serve``, whose garbage collector
tuning (``cli.tune_gc``) it applies after set-up.

``--socket`` gives each player a ``RoomSocket`` (the gateway's protocol class) on a
transport that counts writes, and feeds it the frame's bytes through
``data_received``: the gateway's own work (the pong check, heartbeat bookkeeping,
the rate limit, the move's latency histogram) is counted too. ``--paced`` sends one
message a loop turn instead of one a room, as a server below saturation sees them:
every move has its own outbox flush (a ``call_soon``) and its own loop turn.
``--database URL`` keeps records, ratings and summaries in that SQL database, as
``meeple serve`` does by default (``sqlite+aiosqlite:///PATH``): the game-over writes
then run as a deployment's do, and the difference from the in-memory figure is what
the database costs a move (issue 18: at most 5% with the SQLite default).
``--no-records`` leaves out the game-over writes (records and ratings, written in
batches by time, which makes instruction counts vary from run to run).

It prints this process's CPU per accepted move. That excludes the kernel's and the
event loop's work for real sockets, so it is a floor, not what a server costs; its
use is comparing two versions or two modes. On a shared machine, count instructions
instead (run it twice under ``valgrind --tool=callgrind`` with different ``--turns``
and divide the difference of the "Collected" counts by the difference of the moves).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from redis.asyncio import Redis

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import run
from meeple.game.codec import decode, encode
from meeple.lobby.cli import tune_gc
from meeple.lobby.edge.connection import Connection
from meeple.lobby.edge.frames import OP_BINARY, FrameReader, encode_frame
from meeple.lobby.edge.gateway import RoomSocket
from meeple.lobby.games import build_games
from meeple.lobby.ratelimit import TokenBucket
from meeple.lobby.rooms.room import Room
from meeple.lobby.services import build_services
from meeple.lobby.settings import Settings

if TYPE_CHECKING:
    from uvicorn import Config
    from uvicorn.server import ServerState

    from meeple.lobby.services import Services


class Transport(asyncio.Transport):
    """Counts writes, keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Sock:
    def __init__(self) -> None:
        self.transport: asyncio.Transport = Transport()

    def closing(self) -> None:
        pass


class FakeServerState:
    """What ``RoomSocket`` needs of uvicorn's server state."""

    def __init__(self) -> None:
        self.connections: set[object] = set()
        self.tasks: set[asyncio.Task[None]] = set()


def open_socket(services: Services, room: Room, player_id: str, name: str) -> RoomSocket:
    """A ``RoomSocket`` as the gateway leaves it after admitting a player to ``room``,
    on a transport that counts writes (the handshake is not what is measured)."""
    state = cast("ServerState", FakeServerState())
    sock = RoomSocket(cast("Config", None), state, {"services": services})
    sock.connection_made(Transport())
    sock._reader = FrameReader(masked=True, max_size=services.settings.max_frame)
    conn = Connection(
        sock, services.outbox, player_id, name, max_queue=1 << 20,
        messages=TokenBucket(1e9, 10**9), chat=TokenBucket(1, 1),
        refusals=TokenBucket(1, 100), stats=services.rooms.stats,
    )  # fmt: skip
    room.reserve(player_id, name)
    room.attach(conn, None, None)
    sock._start(services, conn, room.handle, room.detach)
    return sock


class Table:
    """One room, its two players' connections and frame readers, and its board."""

    def __init__(
        self, room: Room, conns: list[Connection], seed: int, socks: list[RoomSocket] | None = None
    ) -> None:
        self.room = room
        self.conns = conns
        self.socks = socks
        """With ``--socket``: each player's ``RoomSocket``, which does the reading."""
        self.readers = [FrameReader(masked=True, max_size=1 << 20) for _ in conns]
        self.board = [-1] * 9
        self.rng = random.Random(seed)
        self.msg_id = 0

    def send(self, seat: int, message: dict[str, object]) -> None:
        """As the player in ``seat`` (a rematch moves every player one seat on)."""
        i = next(i for i, conn in enumerate(self.conns) if conn.seat == seat)
        data = encode_frame(OP_BINARY, encode(message), mask=True)
        if self.socks is not None:
            self.socks[i].data_received(data)
            return
        for _, payload in self.readers[i].feed(data):
            self.room.handle(self.conns[i], decode(payload, len(payload)))

    def step(self) -> None:
        """The next message this room's players would send: a move, or both votes."""
        match = self.room.match
        self.msg_id += 1
        if match.status == "finished":
            for seat in range(2):
                self.send(seat, {"t": "rematch", "id": self.msg_id})
            self.board = [-1] * 9
        elif match.status == "playing" and match.to_act:
            seat = match.to_act[0]
            cell = self.rng.choice([i for i in range(9) if self.board[i] == -1])
            self.board[cell] = seat
            self.send(seat, {"t": "move", "id": self.msg_id, "m": {"cell": cell}})


async def measure(
    rooms: int,
    turns: int,
    redis_url: str | None,
    prefix: str | None = None,
    *,
    socket: bool = False,
    paced: bool = False,
    records: bool = True,
    database_url: str | None = None,
) -> tuple[int, float]:
    """Accepted moves, and CPU seconds of this process for them. Its Redis keys are under
    ``prefix`` (by default one of this process's own: two runs at once, or a run beside
    a test, must not remove each other's keys), all removed after."""
    prefix = prefix or f"meeple-hotpath-{os.getpid()}:"
    settings = Settings(redis_url=redis_url, redis_prefix=prefix, database_url=database_url)
    services = await build_services(settings, build_games())
    manager = services.rooms
    if not records:
        manager.game_over_hooks.clear()
    try:
        tables = []
        for i in range(rooms):
            room = await manager.create("tictactoe")
            if socket:
                socks = [open_socket(services, room, f"p_{i}_{s}", f"P{s}") for s in range(2)]
                conns = [cast(Connection, sock.conn) for sock in socks]
                tables.append(Table(room, conns, i, socks))
                continue
            conns = []
            for seat in range(2):
                conn = Connection(
                    Sock(), services.outbox, f"p_{i}_{seat}", f"P{seat}", max_queue=1 << 20,
                    messages=TokenBucket(1e9, 10**9), chat=TokenBucket(1, 1),
                    refusals=TokenBucket(1, 100), stats=manager.stats,
                )  # fmt: skip
                room.reserve(conn.player_id, conn.name)
                room.attach(conn, None, None)
                conns.append(conn)
            tables.append(Table(room, conns, i))
        await asyncio.sleep(0.5)  # every game has started
        tune_gc()  # as meeple serve does after start-up
        writer = manager.writer
        moves = manager.stats.moves_accepted
        started = time.process_time()
        for _ in range(turns):
            for table in tables:
                table.step()
                if paced:
                    await asyncio.sleep(0)  # a loop turn for each room's message
            await asyncio.sleep(0)  # the outbox writes; the writer takes the turn's batch
            if writer is not None:
                await writer.drain()  # saved and told
        cpu = time.process_time() - started
        return manager.stats.moves_accepted - moves, cpu
    finally:
        await services.close()
        if redis_url:  # leave nothing behind
            async with Redis.from_url(redis_url) as redis:
                keys = [key async for key in redis.scan_iter(f"{settings.redis_prefix}*")]
                for at in range(0, len(keys), 1000):
                    await redis.delete(*keys[at : at + 1000])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", "-R", type=int, default=100)
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--redis", help="a Redis URL: the Redis mode, with a journal")
    parser.add_argument("--prefix", help="its keys, removed after (default: meeple-hotpath-<pid>:)")
    parser.add_argument("--socket", action="store_true", help="through RoomSocket.data_received")
    parser.add_argument("--paced", action="store_true", help="one message a loop turn")
    parser.add_argument("--no-records", action="store_true", help="no game-over writes")
    parser.add_argument(
        "--database", help="a SQL URL for records and ratings (sqlite+aiosqlite:///…)"
    )
    args = parser.parse_args(argv)
    moves, cpu = run(
        measure(
            args.rooms, args.turns, args.redis, args.prefix,
            socket=args.socket, paced=args.paced, records=not args.no_records,
            database_url=args.database,
        )
    )  # fmt: skip
    mode = ("redis" if args.redis else "memory") + (", SQL" if args.database else "")
    print(f"{mode} R={args.rooms}: {moves} moves, {1e6 * cpu / max(moves, 1):.1f} µs per move")


if __name__ == "__main__":
    main()
