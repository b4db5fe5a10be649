"""Where a room's history is kept, so that another process can take the room over.

With a journal (Redis: ``stores.redis.RedisJournal``), every change a room makes is
saved before anyone hears of it: a move that was acknowledged or shown is never lost
when a process dies. Without one (one process, in memory) there is nothing to take
over and changes are published at once.
"""

from __future__ import annotations

from typing import Any, Protocol

from meeple.game.match import LogEntry


class Journal(Protocol):
    """Where a room's history is kept so that another process can take it over."""

    async def save(self, room_id: str, meta: dict[str, Any], entries: list[LogEntry]) -> None:
        """Store the room's metadata and append ``entries`` to its log, in one step."""
        ...

    async def load(self, room_id: str) -> tuple[dict[str, Any], list[LogEntry]] | None:
        """The saved metadata and the current game's log."""
        ...

    async def delete(self, room_id: str) -> None: ...
