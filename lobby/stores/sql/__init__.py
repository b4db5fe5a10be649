"""Durable state in SQL (SQLAlchemy 2, async): accounts, finished games, ratings.

SQLite through aiosqlite by default, PostgreSQL through asyncpg with ``DATABASE_URL``;
the schema is Alembic's migrations in ``migrations/``. Hot state (rooms, queues) stays
in memory or Redis; without Redis, what must outlive a restart besides comes here too:
the journal of correspondence rooms and the sessions of their players.
"""

from __future__ import annotations

from collections.abc import Callable

from meeple.lobby.stores.base import GameRecord, Rate
from meeple.lobby.stores.sql.accounts import SqlAccountStore
from meeple.lobby.stores.sql.database import SchemaBehind, Transactions, make_engine, prepare
from meeple.lobby.stores.sql.finished import SqlFinishedGames, record_finished_games
from meeple.lobby.stores.sql.journal import SqlJournal
from meeple.lobby.stores.sql.ratings import SqlRatingStore
from meeple.lobby.stores.sql.records import SqlRecordStore
from meeple.lobby.stores.sql.sessions import SqlSessionStore


class Database:
    """One engine and the stores on it."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, schema)
        self.transactions = Transactions(self.engine, url)
        """Batches of writes in one transaction (finished games)."""
        self.accounts = SqlAccountStore(self.engine)
        self.records = SqlRecordStore(self.engine)
        self.ratings = SqlRatingStore(self.engine)
        self.finished: SqlFinishedGames | None = None
        """Finished games written in batches (``finished_games``)."""
        self.journal = SqlJournal(self.engine)
        """Correspondence rooms' journal, when there is no Redis."""

    def sessions(self, ttl: float) -> SqlSessionStore:
        """The session store, when there is no Redis."""
        return SqlSessionStore(self.engine, ttl)

    async def prepare(self) -> None:
        """Start-up: migrate SQLite, refuse a PostgreSQL schema that is behind."""
        await prepare(self.engine, self.url)

    async def finish_game(self, record: GameRecord, rate: Rate) -> bool:
        """The record, its players' history and their new ratings (``rate``) in one
        transaction, once: False when the record was already written (nothing changed)."""
        return (await record_finished_games(self.transactions, [record], rate))[0]

    def finished_games(self, rate: Rate, failed: Callable[[], None]) -> SqlFinishedGames:
        """Where the game-over hook hands finished games over: ``finish_game`` in the
        background, in a batch with the games that finish meanwhile; ``failed`` is
        called for each game that could not be written."""
        self.finished = SqlFinishedGames(self.transactions, rate, failed)
        return self.finished

    async def close(self) -> None:
        if self.finished is not None:  # the games handed over are written first
            await self.finished.drain()
        await self.transactions.close()
        await self.engine.dispose()


__all__ = ["Database", "SchemaBehind"]
