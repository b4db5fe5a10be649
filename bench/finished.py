"""The server's CPU per finished game for its durable writes (record, history, ratings).

    .venv/bin/python bench/finished.py --batch 1,8,30 --games 600            # SQLite file
    .venv/bin/python bench/finished.py --batch 20 --rooms 100 --games 10000  # as load.py
    .venv/bin/python bench/finished.py --database postgresql+asyncpg://postgres@127.0.0.1/test
    .venv/bin/python bench/finished.py --database memory   # the same games, nothing in SQL

Finished tic-tac-toe games (played by ``Match``, recorded as ``Room.record`` does) go to
the game-over hooks that ``build_services`` installs, as a room's game end hands them
over; ``--batch`` games are handed over together, then their batch is waited for
(``FinishedGames.drain``), so each batch holds that many games (at 150 games a second a
50 ms window holds about 8). Every game is rated: two accounts a room, a room per game
of the batch, each room's next game in the next batch; or, with ``--rooms``, that many
rooms taking turns (``bench/load.py --rooms 100`` writes 20-game transactions from 100
rooms, into a file that grows to tens of MB in a run: a working set of index pages
larger than SQLite's default cache).

``--database memory`` hands the same games to the in-memory stores (no database), so
the difference of the two is what SQL adds to a finished game.

It prints this process's CPU (``time.process_time``: the event loop and aiosqlite's
thread, not PostgreSQL's processes) per game, for comparing two versions with little
noise. On a shared machine, count instructions instead: run it under
``valgrind --tool=callgrind`` with two ``--games`` and divide the difference of the
"Collected" counts by the difference of the games.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import run
from meeple.game.match import Match
from meeple.lobby.games import build_games
from meeple.lobby.services import build_services
from meeple.lobby.settings import Settings
from meeple.lobby.stores.sql import tables

TICTACTOE = build_games().registry["tictactoe"]


def played(room: int, game_no: int, rng: random.Random) -> dict[str, Any]:
    """A finished tic-tac-toe game's record, as ``Room.record`` makes it."""
    match = Match.create(TICTACTOE, 2, None, rng.randrange(1 << 30))
    for seat in range(2):
        match.sit(seat, f"p_{room}_{seat}", f"Player {room}.{seat}")
    match.start()
    while match.status == "playing":
        move = rng.choice(match.legal_moves(match.to_act[0]))
        match.submit(match.to_act[0], move.model_dump(mode="json"))
    assert match.outcome is not None
    return {
        "id": f"r_{room}-{game_no}",
        "room": f"r_{room}",
        "game": "tictactoe",
        "game_no": game_no,
        "options": dict(match.options_view),
        "seed": match.seed,
        "seat_count": 2,
        "seats": [s.as_view() for s in match.seats],
        "outcome": match.outcome.as_view(),
        "log": list(match.log),
        "finished_at": time.time(),
        "private": False,
        "invite": None,
        "creator": f"p_{room}_0",
    }


async def measure(
    url: str, schema: str | None, batch: int, games: int, rooms: int = 0
) -> tuple[int, float, float, float]:
    """Games written; CPU seconds of the process and of its event loop's thread, and wall
    seconds, for them (after one batch to warm up)."""
    settings = Settings(database_url=None if url == "memory" else url, database_schema=schema)
    services = await build_services(settings, build_games())
    database = services.database
    hooks = services.rooms.game_over_hooks
    rng = random.Random(batch)
    rooms = max(rooms, batch)
    rounds = [
        [played(at % rooms, at // rooms, rng) for at in range(start, start + batch)]
        for start in range(0, batch * (1 + max(1, games // batch)), batch)
    ]
    try:

        async def write(records: list[dict[str, Any]]) -> None:
            for record in records:
                for hook in hooks:
                    await hook(record)
            assert services.finished is not None
            await services.finished.drain()

        await write(rounds[0])  # warm up: statements compiled, connections open
        cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
        for records in rounds[1:]:
            await write(records)
        cpu, loop = time.process_time() - cpu, time.thread_time() - loop
        wall = time.perf_counter() - wall
        written: int | None = batch * len(rounds)
        if database is None:  # in memory: the last batch is there (older ones may be dropped)
            assert all([await services.records.get(r["id"]) for r in rounds[-1]])
        else:
            async with database.engine.connect() as conn:
                written = await conn.scalar(sa.select(sa.func.count()).select_from(tables.records))
        assert written == batch * len(rounds), f"{written} of {batch * len(rounds)} written"
        return batch * (len(rounds) - 1), cpu, loop, wall
    finally:
        await services.close()


async def fresh_schema(url: str) -> str:
    from sqlalchemy.ext.asyncio import create_async_engine

    from meeple.lobby.stores.sql.database import make_engine, upgrade

    schema = f"meeple_bench_{random.randrange(1 << 32):08x}"
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()
    migrated = make_engine(url, schema)
    await upgrade(migrated)
    await migrated.dispose()
    return schema


async def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def case(
    url: str | None, batch: int, games: int, rooms: int = 0
) -> tuple[int, float, float, float]:
    """One case on a database of its own: a new SQLite file, or a new PostgreSQL schema."""
    if url == "memory":
        return await measure(url, None, batch, games, rooms)
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            file = f"sqlite+aiosqlite:///{folder}/meeple.db"
            return await measure(file, None, batch, games, rooms)
    schema = await fresh_schema(url)
    try:
        return await measure(url, schema, batch, games, rooms)
    finally:
        await drop_schema(url, schema)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a PostgreSQL URL, or memory (default: a SQLite file)")
    parser.add_argument("--batch", default="1,8,30", help="games per batch, comma-separated")
    parser.add_argument("--games", type=int, default=600, help="games per case (measured)")
    parser.add_argument(
        "--rooms", type=int, default=0, help="rooms taking turns (default: one a game of a batch)"
    )
    args = parser.parse_args(argv)
    kind = {None: "sqlite", "memory": "memory"}.get(args.database, "postgresql")
    for batch in (int(b) for b in args.batch.split(",")):
        games, cpu, loop, wall = run(case(args.database, batch, args.games, args.rooms))
        print(
            f"{kind} batch={batch}: {games} games, {1e6 * cpu / games:.0f} µs CPU per game "
            f"({1e6 * loop / games:.0f} in the event loop's thread, "
            f"{1e6 * (cpu - loop) / games:.0f} in others; {1e6 * wall / games:.0f} µs wall)"
        )


if __name__ == "__main__":
    main()
