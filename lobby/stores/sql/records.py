"""Finished games in SQL: written once (the id is the room and game number), paged
per player newest first by (finishing time, id), as every record store does."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from meeple.lobby.stores.base import (
    GameRecord,
    human_players,
    make_cursor,
    read_cursor,
    renamed,
)
from meeple.lobby.stores.sql.database import driver_cursor, json_text
from meeple.lobby.stores.sql.tables import record_players, records


@cache
def _insert_new(dialect: str) -> Any:
    """``INSERT INTO records … ON CONFLICT DO NOTHING RETURNING id`` in ``dialect``:
    made once (building a statement costs more than running it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(records).on_conflict_do_nothing().returning(records.c.id)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(records).on_conflict_do_nothing().returning(records.c.id)


_INSERT_PLAYERS = record_players.insert()


def _row(record: GameRecord) -> dict[str, Any]:
    """A record's row in ``records``: its keys, and the whole record as the body."""
    return {
        "id": record["id"],
        "room": record.get("room", record["id"]),
        "game_no": record.get("game_no", 0),
        "game": record.get("game", ""),
        "finished_at": record["finished_at"],
        "body": record,
    }


def insert_records(conn: sa.Connection, batch: Sequence[GameRecord]) -> list[bool]:
    """Write these records and their players' history rows in the connection's
    transaction, in a fixed number of statements whatever their number; for each, False
    if it was already there (a room that failed over finishing the same game again) or
    earlier in ``batch``. Which are new is what the insert returns, so two processes
    writing one record at once cannot both count it (PostgreSQL's second waits for the
    first)."""
    if not batch:
        return []
    first: dict[str, GameRecord] = {}
    for record in batch:
        first.setdefault(record["id"], record)
    if conn.dialect.name == "sqlite":
        inserted = _insert_new_sqlite(conn, list(first.values()))
    else:
        rows = [_row(record) for record in first.values()]
        inserted = set(conn.scalars(_insert_new(conn.dialect.name), rows))
    new = [record["id"] in inserted and first[record["id"]] is record for record in batch]
    players = [
        (p, record["id"], record["finished_at"])
        for record, is_new in zip(batch, new, strict=True)
        if is_new
        for p in human_players(record)
    ]
    if players and conn.dialect.name == "sqlite":
        driver_cursor(conn).executemany(_SQLITE_INSERT_PLAYERS, players)
    elif players:
        keys = ("player_id", "record_id", "finished_at")
        conn.execute(_INSERT_PLAYERS, [dict(zip(keys, row, strict=True)) for row in players])
    return new


_SQLITE_KNOWN = "SELECT id FROM records WHERE id IN (SELECT value FROM json_each(?))"
_SQLITE_INSERT = (
    "INSERT INTO records (id, room, game_no, game, finished_at, body) VALUES (?, ?, ?, ?, ?, ?)"
)
_SQLITE_INSERT_PLAYERS = (
    "INSERT INTO record_players (player_id, record_id, finished_at) VALUES (?, ?, ?)"
)


def _insert_new_sqlite(conn: sa.Connection, records: list[GameRecord]) -> set[str]:
    """The ids of these records (distinct ids) that were not there, now written: the
    ones there are read first, which no other writer can change before the insert
    (every SQLite transaction here is IMMEDIATE: it holds the file's write lock from
    its start). Plain DB-API statements of a fixed text, each run once for the batch:
    SQLAlchemy's per-row work cost more than SQLite's (issue 18, bench/README.md); the
    body is the JSON text the ``records.body`` column reads back. On the driver's
    cursor (``database.driver_cursor``)."""
    ids = json_text([record["id"] for record in records])
    cursor = driver_cursor(conn)
    cursor.execute(_SQLITE_KNOWN, (ids,))
    known = {row[0] for row in cursor.fetchall()}
    rows = [
        (
            record["id"],
            record.get("room", record["id"]),
            record.get("game_no", 0),
            record.get("game", ""),
            record["finished_at"],
            json_text(record),
        )
        for record in records
        if record["id"] not in known
    ]
    if rows:
        cursor.executemany(_SQLITE_INSERT, rows)
    return {row[0] for row in rows}


class SqlRecordStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, record: GameRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(insert_records, [record])

    async def get(self, record_id: str) -> GameRecord | None:
        async with self._engine.connect() as conn:
            body = await conn.scalar(sa.select(records.c.body).where(records.c.id == record_id))
        return dict(body) if body is not None else None

    async def for_player(
        self, player_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[GameRecord], str | None]:
        rp = record_players.c
        query = (
            sa.select(records.c.body)
            .join(record_players, record_players.c.record_id == records.c.id)
            .where(rp.player_id == player_id)
            .order_by(rp.finished_at.desc(), rp.record_id.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            at, after_id = read_cursor(cursor)
            query = query.where(
                sa.or_(rp.finished_at < at, sa.and_(rp.finished_at == at, rp.record_id < after_id))
            )
        async with self._engine.connect() as conn:
            items = [dict(body) for body in (await conn.scalars(query))]
        if len(items) > limit:
            last = items[limit - 1]
            return items[:limit], make_cursor(last["finished_at"], last["id"])
        return items, None

    async def rename_player(self, player_id: str, name: str) -> None:
        ids = sa.select(record_players.c.record_id).where(record_players.c.player_id == player_id)
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(records.c.id, records.c.body).where(records.c.id.in_(ids))
                )
            ).all()
            for record_id, body in rows:
                await conn.execute(
                    records.update().where(records.c.id == record_id),
                    {"body": renamed(dict(body), player_id, name)},
                )
