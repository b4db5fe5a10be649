"""Finished games, handed over as they end and written in batches.

A game that ends leaves a record, its players' history entries and their new ratings,
written once (a room that failed over and finished the game again changes nothing).
Whatever the store, the game-over hook only hands the game over (``add``) and the
games that end meanwhile share one write, in the order they ended, so that a
player's ratings follow their games: one transaction in SQL
(``stores.sql.finished``), two commands with Redis alone (``stores.redis.finished``),
the stores' own calls in memory (``stores.memory``). This module holds what they share:
the batches, the wait of a reader for a game still being written (``written``), and the
wait of a stopping server for all of them (``drain``).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

from meeple.lobby.stores.base import GameRecord

WAIT_SECONDS = 2.0
"""How long a reader of a record waits for this process's write of it (``written``),
and a closing server for the games still being written (``drain``: within the app's
``CLOSE_SECONDS``, after the rooms' own writes)."""

log = logging.getLogger("meeple.lobby.rooms.manager")  # with the other background writes


class FinishedGames(ABC):
    """The finished games of a process, written in batches: one write for all that
    ended while the one before was under way (and, first, for ``delay`` seconds). A
    batch that fails is logged, and ``failed`` is called once for each of its games."""

    delay: float = 0.0
    """How long the first game of a batch waits for others (0: those of its loop turn)."""

    def __init__(self, failed: Callable[[], None]) -> None:
        self._failed = failed
        self._pending: list[GameRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._batch: asyncio.Future[None] | None = None
        """Done when the pending games' batch is written (or failed)."""
        self._unwritten: dict[str, asyncio.Future[None]] = {}
        """The batch each game handed over and not yet written is in, by record id."""

    def add(self, record: GameRecord) -> None:
        """Hand a finished game over; it is written with the others of its batch."""
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = loop.create_future()
        self._pending.append(record)
        self._unwritten[record["id"]] = self._batch
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._write())

    async def written(self, record_id: str) -> None:
        """Wait (``WAIT_SECONDS`` at most) until a game this process is writing is
        written: a player who saw their game end here reads its record at once."""
        batch = self._unwritten.get(record_id)
        if batch is not None:
            await asyncio.wait([batch], timeout=WAIT_SECONDS)

    async def drain(self) -> None:
        """Shutting down: wait (``WAIT_SECONDS`` at most) for the games handed over."""
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task], timeout=WAIT_SECONDS)

    async def _write(self) -> None:
        await asyncio.sleep(self.delay)  # the games that end meanwhile join in
        while self._pending:
            batch, self._pending = self._pending, []
            done, self._batch = self._batch, None
            try:
                await self._write_batch(batch)
            except Exception:
                self.failed(len(batch))
            finally:
                for game in batch:
                    if self._unwritten.get(game["id"]) is done:
                        del self._unwritten[game["id"]]
                if done is not None:
                    done.set_result(None)

    def failed(self, games: int = 1) -> None:
        """Log the write that just failed (in an ``except`` block) and count its games."""
        log.exception("background store write failed")
        for _ in range(games):
            self._failed()

    @abstractmethod
    async def _write_batch(self, games: list[GameRecord]) -> None:
        """Write these games (leaving out any written before), in order, or raise."""
