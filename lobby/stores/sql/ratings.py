"""Ratings in SQL: a row per game and player, the leaderboard an index on the rating.

``SqlRatingStore`` answers on its own connection per call. A batch of finished games
(``stores.sql.finished``) locks the ratings it changes (``lock_ratings``), reads them in
one query (``read_ratings``) and writes them in one (``write_ratings``), in its
transaction, so that its updates are read, computed and written as one."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meeple.lobby.stores.base import PlayerRating
from meeple.lobby.stores.sql.database import driver_cursor, json_text
from meeple.lobby.stores.sql.tables import ratings

_COLUMNS = ("player_id", "name", "rating", "rd", "volatility", "games")

Key = tuple[str, str]
"""A rating's game and player."""


def _row(row: sa.Row[Any]) -> PlayerRating:
    m = row._mapping
    return PlayerRating(
        m["player_id"], m["name"], m["rating"], m["rd"], m["volatility"], m["games"]
    )


def _select() -> sa.Select[Any]:
    c = ratings.c
    return sa.select(c.player_id, c.name, c.rating, c.rd, c.volatility, c.games)


@cache
def _upsert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (game, player_id) DO UPDATE`` in ``dialect``, made once."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(ratings)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(ratings)  # type: ignore[assignment]
    return stmt.on_conflict_do_update(
        index_elements=["game", "player_id"],
        set_={name: stmt.excluded[name] for name in _COLUMNS if name != "player_id"},
    )


def write_ratings(conn: sa.Connection, items: Iterable[tuple[str, PlayerRating]]) -> None:
    """Upsert these (game, rating) pairs in the connection's transaction, in one
    statement."""
    rows = [(game, r.player_id, r.name, r.rating, r.rd, r.volatility, r.games) for game, r in items]
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        driver_cursor(conn).executemany(_SQLITE_UPSERT, rows)
        return
    keys = ("game", *_COLUMNS)
    conn.execute(_upsert(conn.dialect.name), [dict(zip(keys, row, strict=True)) for row in rows])


_SQLITE_UPSERT = (
    "INSERT INTO ratings (game, player_id, name, rating, rd, volatility, games) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (game, player_id) DO UPDATE SET "
    "name = excluded.name, rating = excluded.rating, rd = excluded.rd, "
    "volatility = excluded.volatility, games = excluded.games"
)
"""``_upsert`` as SQLite's text, for the DB-API's executemany on the driver's cursor:
SQLAlchemy's per-row work for a batch of games cost more than SQLite's
(``database.driver_cursor``)."""

_SQLITE_READ = (
    "SELECT r.game, r.player_id, r.name, r.rating, r.rd, r.volatility, r.games "
    "FROM json_each(?) AS k JOIN ratings AS r "
    "ON r.game = json_extract(k.value, '$[0]') AND r.player_id = json_extract(k.value, '$[1]')"
)
"""``_READ`` with the keys as one JSON array: one statement text whatever their number
(an expanded IN is made again for each), looked up on the primary key."""


_READ = sa.select(ratings.c.game, *_select().selected_columns).where(
    sa.tuple_(ratings.c.game, ratings.c.player_id).in_(sa.bindparam("keys", expanding=True))
)

_LOCK = sa.text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
    "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
)


def read_ratings(conn: sa.Connection, keys: Collection[Key]) -> dict[Key, PlayerRating]:
    """The ratings there are of these (game, player) pairs, in one query."""
    if not keys:
        return {}
    if conn.dialect.name == "sqlite":
        cursor = driver_cursor(conn)
        cursor.execute(_SQLITE_READ, (json_text(sorted(keys)),))
        rows = cursor.fetchall()
    else:
        rows = conn.execute(_READ, {"keys": sorted(keys)})
    return {(row[0], row[1]): PlayerRating(*row[1:]) for row in rows}


def lock_ratings(conn: sa.Connection, keys: Collection[Key]) -> None:
    """Hold these (game, player) ratings until the transaction ends, rows or no rows
    yet (a first game has none to lock): PostgreSQL's transaction-scoped advisory
    locks, all in one statement, taken in sorted order so that two batches never wait
    on each other in a circle (and if they did, PostgreSQL would end one, which is then
    run again). A statement of its own, before the ratings are read: a read in the same
    statement would see them as they were before the wait. SQLite needs none: its
    IMMEDIATE transactions run one at a time."""
    if conn.dialect.name != "postgresql" or not keys:
        return
    conn.execute(_LOCK, {"keys": sorted(f"rating:{game}:{player}" for game, player in keys)})


async def page_ratings(
    conn: AsyncConnection, game: str, cursor: str | None, limit: int
) -> tuple[list[PlayerRating], str | None]:
    """Best first (by rating, then player id); the cursor is the rank to start after,
    as in every rating store."""
    offset = int(cursor) if cursor else 0
    if offset < 0:
        raise ValueError("a cursor is not negative")
    c = ratings.c
    query = (
        _select()
        .where(c.game == game)
        .order_by(c.rating.desc(), c.player_id)
        .offset(offset)
        .limit(limit + 1)
    )
    items = [_row(row) for row in await conn.execute(query)]
    if len(items) > limit:
        return items[:limit], str(offset + limit)
    return items, None


class SqlRatingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, game: str, player_id: str) -> PlayerRating | None:
        c = ratings.c
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(_select().where(c.game == game, c.player_id == player_id))
            ).first()
        return _row(row) if row is not None else None

    async def put_many(self, game: str, items: Sequence[PlayerRating]) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(write_ratings, [(game, item) for item in items])

    async def rename_player(self, player_id: str, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                ratings.update().where(ratings.c.player_id == player_id), {"name": name}
            )

    async def page(
        self, game: str, *, cursor: str | None, limit: int
    ) -> tuple[list[PlayerRating], str | None]:
        async with self._engine.connect() as conn:
            return await page_ratings(conn, game, cursor, limit)
