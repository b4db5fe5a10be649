"""Ratings in SQL: a row per game and player, the leaderboard an index on the rating.

``SqlRatingStore`` answers on its own connection per call. ``TransactionRatings`` is
the same interface inside one transaction, with the game's ratings locked first
by ``lock_ratings``), so a game's updates are read, computed and written as one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from meeple.lobby.stores.base import PlayerRating
from meeple.lobby.stores.sql.tables import ratings

_COLUMNS = ("player_id", "name", "rating", "rd", "volatility", "games")


def _row(row: sa.Row[Any]) -> PlayerRating:
    m = row._mapping
    return PlayerRating(
        m["player_id"], m["name"], m["rating"], m["rd"], m["volatility"], m["games"]
    )


def _select() -> sa.Select[Any]:
    c = ratings.c
    return sa.select(c.player_id, c.name, c.rating, c.rd, c.volatility, c.games)


async def write_ratings(conn: AsyncConnection, game: str, items: Sequence[PlayerRating]) -> None:
    """Upsert these ratings in the connection's transaction."""
    if not items:
        return
    values = [{"game": game, **asdict(r)} for r in items]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(ratings)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(ratings)  # type: ignore[assignment]
    stmt = stmt.on_conflict_do_update(
        index_elements=["game", "player_id"],
        set_={name: stmt.excluded[name] for name in _COLUMNS if name != "player_id"},
    )
    await conn.execute(stmt, values)


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


async def lock_ratings(conn: AsyncConnection, game: str, players: Sequence[str]) -> None:
    """Hold these players' ratings for ``game`` until the transaction ends, rows or no
    rows yet (a first game has none to lock): PostgreSQL's transaction-scoped advisory
    locks, taken in sorted order so that two games never wait on each other in a
    circle. SQLite needs none: its IMMEDIATE transactions run one at a time."""
    if conn.dialect.name != "postgresql":
        return
    for player in sorted(players):
        await conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"rating:{game}:{player}"},
        )


class SqlRatingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, game: str, player_id: str) -> PlayerRating | None:
        async with self._engine.connect() as conn:
            return await TransactionRatings(conn).get(game, player_id)

    async def put_many(self, game: str, items: Sequence[PlayerRating]) -> None:
        async with self._engine.begin() as conn:
            await write_ratings(conn, game, items)

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


class TransactionRatings:
    """A RatingStore on one connection's open transaction (``rate_game`` runs on it,
    after ``lock_ratings``)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, game: str, player_id: str) -> PlayerRating | None:
        c = ratings.c
        query = _select().where(c.game == game, c.player_id == player_id)
        row = (await self._conn.execute(query)).first()
        return _row(row) if row is not None else None

    async def put_many(self, game: str, items: Sequence[PlayerRating]) -> None:
        await write_ratings(self._conn, game, items)

    async def rename_player(self, player_id: str, name: str) -> None:
        await self._conn.execute(
            ratings.update().where(ratings.c.player_id == player_id), {"name": name}
        )

    async def page(
        self, game: str, *, cursor: str | None, limit: int
    ) -> tuple[list[PlayerRating], str | None]:
        return await page_ratings(self._conn, game, cursor, limit)


class BatchRatings:
    """A RatingStore for a batch of finished games in one transaction: the ratings they
    touch are read in one query (``load``), updated here game after game, and written in
    one upsert per game kind (``write``), instead of a read and a write per game."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._known: dict[tuple[str, str], PlayerRating | None] = {}
        self._changed: dict[tuple[str, str], PlayerRating] = {}

    async def load(self, wanted: Sequence[tuple[str, str]]) -> None:
        """Read the ratings of these (game, player) pairs at once."""
        games = sorted({game for game, _ in wanted})
        players = sorted({player for _, player in wanted})
        for game, player in wanted:
            self._known[(game, player)] = None
        if not wanted:
            return
        c = ratings.c
        query = sa.select(c.game, *_select().selected_columns).where(
            c.game.in_(games), c.player_id.in_(players)
        )
        for row in await self._conn.execute(query):
            key = (row._mapping["game"], row._mapping["player_id"])
            if key in self._known:
                self._known[key] = PlayerRating(*row[1:])

    async def get(self, game: str, player_id: str) -> PlayerRating | None:
        key = (game, player_id)
        if key not in self._known:  # not loaded: read it
            self._known[key] = await TransactionRatings(self._conn).get(game, player_id)
        return self._known[key]

    async def put_many(self, game: str, items: Sequence[PlayerRating]) -> None:
        for item in items:
            self._known[(game, item.player_id)] = self._changed[(game, item.player_id)] = item

    async def write(self) -> None:
        """Write what the batch changed."""
        by_game: dict[str, list[PlayerRating]] = {}
        for (game, _), item in self._changed.items():
            by_game.setdefault(game, []).append(item)
        for game, items in by_game.items():
            await write_ratings(self._conn, game, items)
        self._changed.clear()

    async def rename_player(self, player_id: str, name: str) -> None:
        raise NotImplementedError("a batch of finished games renames nobody")

    async def page(
        self, game: str, *, cursor: str | None, limit: int
    ) -> tuple[list[PlayerRating], str | None]:
        raise NotImplementedError("a batch of finished games pages nothing")
