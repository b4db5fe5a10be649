"""Where a room's history is kept, so that another process can take the room over.

With a journal (Redis: ``stores.redis.RedisJournal``), every change a room makes is
saved before anyone hears of it: a move that was acknowledged or shown is never lost
when a process dies. Without one (one process, in memory) there is nothing to take
over and changes are published at once.

Saving is a group commit. A room hands its unsaved changes to the process's one
``JournalWriter``; once per loop turn the writer sends the changes of every room that
changed in that turn to the journal together (one round trip for all of them), and
then lets each room publish its changes, in order. One batch is in flight at a time,
so a room's changes are saved in the order it made them; what rooms change while a
batch is out goes in the next one. Under load, batches grow instead of round trips
multiplying: an overloaded server answers more slowly, and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from meeple.game.match import LogEntry
from meeple.lobby.ops.metrics import Stats
from meeple.lobby.stores.base import Changes

log = logging.getLogger("meeple.journal")


class Journal(Protocol):
    """Where rooms' histories are kept so that another process can take them over."""

    async def save(self, changes: Sequence[Changes]) -> list[Exception | None]:
        """Save the changes of many rooms together; per room, None or why it failed.
        Each room's changes are saved whole or not at all."""
        ...

    async def load(self, room_id: str) -> tuple[dict[str, Any], list[LogEntry]] | None:
        """The saved metadata and the current game's log."""
        ...

    async def delete(self, room_id: str) -> None: ...


class Unsaved(Protocol):
    """What the writer needs of a room with changes to save (``Room``)."""

    def take_changes(self) -> Changes:
        """The changes made since the last batch; they are this batch's from now on."""
        ...

    def saved(self, error: Exception | None) -> None:
        """This batch was saved (publish it) or could not be (``error``)."""
        ...


class JournalWriter:
    """The process's one writer to the journal: group commit, one batch in flight."""

    def __init__(self, journal: Journal, stats: Stats | None = None) -> None:
        self.journal = journal
        self.stats = stats or Stats()
        self._staged: list[Unsaved] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def stage(self, room: Unsaved) -> None:
        """``room`` has changes to save; it is staged once until they are taken."""
        self._staged.append(room)
        if self._task is None:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            # The task's first step runs after the callbacks of this loop turn, so every
            # room that changes in the turn joins the batch.
            self._task = loop.create_task(self._write())

    async def _write(self) -> None:
        stats = self.stats
        try:
            while self._staged:
                rooms, self._staged = self._staged, []
                changes = [room.take_changes() for room in rooms]
                try:
                    errors = await self.journal.save(changes)
                except Exception as exc:  # the whole batch: the connection, say
                    errors = [exc] * len(rooms)
                stats.journal_batches += 1
                stats.journal_saves += len(rooms)
                for room, saved, error in zip(rooms, changes, errors, strict=True):
                    if error is not None:
                        stats.redis_errors += 1
                        log.error(
                            "saving room %s failed: %s: %s",
                            saved.room_id,
                            type(error).__name__,
                            error,
                        )
                    try:
                        room.saved(error)
                    except Exception:  # one room's bug must not keep the others unsaid
                        log.exception("room %s failed to publish", saved.room_id)
                await asyncio.sleep(0)  # the rest of this loop turn's changes join in
        finally:
            self._task = None

    async def drain(self, within: float = 5.0) -> None:
        """Wait for the batch in flight (and those staged behind it), for up to ``within``
        seconds; then give up on them (their rooms' players never heard of them)."""
        task = self._task
        if task is not None:
            await asyncio.wait([task], timeout=within)
            if not task.done():
                task.cancel()
