"""The server's work per move in one process, with no sockets: less noise than a load test.

    .venv/bin/python bench/hotpath.py --rooms 100 --turns 600               # in memory
    .venv/bin/python bench/hotpath.py --rooms 100 --turns 600 --redis redis://127.0.0.1:6379/0

R tic-tac-toe rooms, each with two ``Connection`` objects on sockets that only count
their writes; every loop turn each room's player to move sends one move (a masked
frame through ``FrameReader``, ``decode``, ``Room.handle``), and the turn ends when the
outbox has written and, with Redis, the journal writer has saved and published: one
batch per turn, as under saturation. A finished game is followed by both players'
rematch votes. The services are the server's own (``build_services``): records,
ratings and summaries are written as in ``meeple serve``.

It prints this process's CPU per accepted move. That excludes the kernel's and the
event loop's work for real sockets, so it is a floor, not what a server costs; its
use is comparing two versions or two modes. On a shared machine, count instructions
instead (run it twice under ``valgrind --tool=callgrind`` with different ``--turns``
and divide the difference of the "Collected" counts by the difference of the moves).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

from redis.asyncio import Redis

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import run
from meeple.game.codec import decode, encode
from meeple.lobby.edge.connection import Connection
from meeple.lobby.edge.frames import OP_BINARY, FrameReader, encode_frame
from meeple.lobby.games import build_games
from meeple.lobby.ratelimit import TokenBucket
from meeple.lobby.rooms.room import Room
from meeple.lobby.services import build_services
from meeple.lobby.settings import Settings


class Transport(asyncio.Transport):
    """Counts writes, keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False


class Sock:
    def __init__(self) -> None:
        self.transport: asyncio.Transport = Transport()

    def closing(self) -> None:
        pass


class Table:
    """One room, its two players' connections and frame readers, and its board."""

    def __init__(self, room: Room, conns: list[Connection], seed: int) -> None:
        self.room = room
        self.conns = conns
        self.readers = [FrameReader(masked=True, max_size=1 << 20) for _ in conns]
        self.board = [-1] * 9
        self.rng = random.Random(seed)
        self.msg_id = 0

    def send(self, seat: int, message: dict[str, object]) -> None:
        """As the player in ``seat`` (a rematch moves every player one seat on)."""
        i = next(i for i, conn in enumerate(self.conns) if conn.seat == seat)
        for _, payload in self.readers[i].feed(encode_frame(OP_BINARY, encode(message), mask=True)):
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
    rooms: int, turns: int, redis_url: str | None, prefix: str = "meeple-hotpath:"
) -> tuple[int, float]:
    """Accepted moves, and CPU seconds of this process for them."""
    settings = Settings(redis_url=redis_url, redis_prefix=prefix)
    services = await build_services(settings, build_games())
    manager = services.rooms
    try:
        tables = []
        for i in range(rooms):
            room = await manager.create("tictactoe")
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
        writer = manager.writer
        moves = manager.stats.moves_accepted
        started = time.process_time()
        for _ in range(turns):
            for table in tables:
                table.step()
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
    parser.add_argument("--prefix", default="meeple-hotpath:", help="its keys (removed after)")
    args = parser.parse_args(argv)
    moves, cpu = run(measure(args.rooms, args.turns, args.redis, args.prefix))
    mode = "redis" if args.redis else "memory"
    print(f"{mode} R={args.rooms}: {moves} moves, {1e6 * cpu / max(moves, 1):.1f} µs per move")


if __name__ == "__main__":
    main()
