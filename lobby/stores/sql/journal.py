"""The journal of correspondence rooms in SQL, for servers without Redis.

Live rooms in memory have no journal (no database round trip on their moves); a
correspondence room, whose moves come days apart, is saved here before anyone hears of
a change, so that it outlives a restart or a deploy: start-up restores every room found
here (``RoomManager.restore_saved``). The same ``Journal`` as Redis's: the metadata
(replaced when it changed) and the current game's log (appended; a new game drops the
one before), each room's changes whole or not at all, a batch in one transaction.

One process owns these rooms: without Redis, processes share no rooms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meeple.lobby.stores.base import Changes, pack, unpack
from meeple.lobby.stores.sql.tables import journal_entries, journal_rooms


class SqlJournal:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, changes: Sequence[Changes]) -> list[Exception | None]:
        todo = [c for c in changes if c.entries or c.meta is not None or c.new_game]
        if todo:
            async with self._engine.begin() as conn:
                for c in todo:
                    await _save_room(conn, c)
        return [None] * len(changes)

    async def load(self, room_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        async with self._engine.connect() as conn:
            blob = await conn.scalar(
                sa.select(journal_rooms.c.meta).where(journal_rooms.c.room_id == room_id)
            )
            if blob is None:
                return None
            meta: dict[str, Any] = unpack(blob)
            e = journal_entries.c
            rows = await conn.scalars(
                sa.select(e.entry)
                .where(e.room_id == room_id, e.game_no == meta["game_no"])
                .order_by(e.s)
            )
            return meta, [unpack(row) for row in rows]

    async def rooms(self) -> list[str]:
        """Every room saved here (to restore at start-up)."""
        async with self._engine.connect() as conn:
            return list(await conn.scalars(sa.select(journal_rooms.c.room_id)))

    async def delete(self, room_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(journal_entries.delete().where(journal_entries.c.room_id == room_id))
            await conn.execute(journal_rooms.delete().where(journal_rooms.c.room_id == room_id))


async def _save_room(conn: AsyncConnection, c: Changes) -> None:
    e = journal_entries.c
    if c.new_game:  # the game before is in its record
        await conn.execute(
            journal_entries.delete().where(e.room_id == c.room_id, e.game_no < c.game_no)
        )
    if c.meta is not None:
        values = {"game_no": c.game_no, "meta": pack(c.meta)}
        updated = await conn.execute(
            journal_rooms.update().where(journal_rooms.c.room_id == c.room_id), values
        )
        if updated.rowcount == 0:
            await conn.execute(journal_rooms.insert(), {"room_id": c.room_id, **values})
    if c.entries:
        await conn.execute(
            journal_entries.insert(),
            [
                {"room_id": c.room_id, "game_no": c.game_no, "s": entry["s"], "entry": pack(entry)}
                for entry in c.entries
            ],
        )
