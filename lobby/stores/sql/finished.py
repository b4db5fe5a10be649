"""A finished game, durably: its record and what it changes, in one transaction.

The record's id is its room and game number, so a room that failed over between
processes and finishes the same game again writes nothing twice: the second insert
finds the record there and nothing else runs.

A server writes the games that finish while its last write is under way together, in
one transaction (``FinishedGames``): a transaction per game cost a busy server more than
the game's moves (with SQLite, each statement is a hand-over to aiosqlite's thread and
back, and a begin and commit are several; at 150 games a second that was 3.7 ms of CPU
a game, bench/README.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from meeple.lobby.stores.base import GameRecord, RatingStore
from meeple.lobby.stores.sql.ratings import BatchRatings, TransactionRatings, lock_ratings
from meeple.lobby.stores.sql.records import human_players, insert_record, insert_records

ATTEMPTS = 5
"""PostgreSQL may abort one of two transactions that wait on each other (a deadlock)
or find a serialization failure; the loser is run again."""


BATCH_SECONDS = 0.05
"""How long the first game of a batch waits for others: at 150 games a second, 8 share
a transaction; a record is readable this much later."""

DRAIN_SECONDS = 2
"""How long a closing server waits for the finished games still being written (within
the app's ``CLOSE_SECONDS``, after the rooms' own writes)."""

log = logging.getLogger("meeple.lobby.rooms.manager")  # with the other background writes

Then = Callable[[RatingStore], Awaitable[Any]]
"""What a finished game changes besides its record (its rating update), on the same
transaction."""


async def record_finished_game(engine: AsyncEngine, record: GameRecord, then: Then) -> bool:
    """Write the record and run ``then`` (the rating update) on the same transaction;
    False when the record was already written, and ``then`` did not run."""
    return (await record_finished_games(engine, [(record, then)]))[0]


async def record_finished_games(
    engine: AsyncEngine, games: list[tuple[GameRecord, Then]]
) -> list[bool]:
    """``record_finished_game`` for several games, in order, in one transaction: all of
    them or none. For each, False when its record was already written."""
    for attempt in range(ATTEMPTS):
        try:
            async with engine.begin() as conn:
                if len(games) == 1:
                    record, then = games[0]
                    if not await insert_record(conn, record):
                        return [False]
                    await lock_ratings(conn, record.get("game", ""), human_players(record))
                    await then(TransactionRatings(conn))
                    return [True]
                written = await insert_records(conn, [record for record, _ in games])
                touched = sorted(
                    {
                        (record.get("game", ""), player)
                        for (record, _), new in zip(games, written, strict=True)
                        if new
                        for player in human_players(record)
                    }
                )
                for game in sorted({game for game, _ in touched}):  # in one order: no circle
                    await lock_ratings(conn, game, [p for g, p in touched if g == game])
                store = BatchRatings(conn)
                await store.load(touched)
                for (_, then), new in zip(games, written, strict=True):
                    if new:
                        await then(store)
                await store.write()
                return written
        except sa.exc.DBAPIError as exc:
            if attempt == ATTEMPTS - 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")


class FinishedGames:
    """The finished games of a server, written in batches: one transaction for all that
    finished while the one before was being written, in the order they finished (so a
    player's ratings follow their games). The game-over hook only hands a game over;
    a batch that fails is written again one game at a time, so that one bad game costs
    only its own record, and each failure is logged and counted (``failed``)."""

    def __init__(self, engine: AsyncEngine, failed: Callable[[], None]) -> None:
        self._engine = engine
        self._failed = failed
        self._pending: list[tuple[GameRecord, Then]] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, record: GameRecord, then: Then) -> None:
        self._pending.append((record, then))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write())

    async def drain(self) -> None:
        """Shutting down: wait (``DRAIN_SECONDS`` at most) for the games handed over."""
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task], timeout=DRAIN_SECONDS)

    async def _write(self) -> None:
        await asyncio.sleep(BATCH_SECONDS)  # the games that finish meanwhile join in
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await record_finished_games(self._engine, batch)
                continue
            except Exception:
                if len(batch) == 1:
                    self._failed()
                    log.exception("background store write failed")
                    continue
            for game in batch:  # one at a time: the bad one fails alone
                try:
                    await record_finished_games(self._engine, [game])
                except Exception:
                    self._failed()
                    log.exception("background store write failed")


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    """Deadlock detected (40P01) or serialization failure (40001)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001")
