"""The database: an async engine from a URL, and its migrations (Alembic, shipped here).

SQLite (aiosqlite) is the default, a file that needs no set-up; PostgreSQL (asyncpg)
is for production. Every transaction on SQLite begins IMMEDIATE, so a read that is
followed by a write (a rating update) holds the write lock from the start: two
processes finishing games for one player then queue instead of losing an update.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


class SchemaBehind(RuntimeError):
    """The database's schema is older than this version's migrations."""


def is_sqlite(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, schema: str | None = None) -> AsyncEngine:
    """An engine for ``url``; on PostgreSQL, ``schema`` (if given) is the search path,
    so that a deployment or a test run may keep its tables apart."""
    connect_args: dict[str, Any] = {}
    if is_sqlite(url):
        path = sa.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = 30.0
        engine = create_async_engine(url, connect_args=connect_args)
        _sqlite_transactions(engine)
        return engine
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _sqlite_transactions(engine: AsyncEngine) -> None:
    """SQLAlchemy's documented recipe for pysqlite/aiosqlite: the driver begins no
    transactions of its own, and every one SQLAlchemy begins is IMMEDIATE."""

    @sa.event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    folder = resources.files("meeple.lobby.stores.sql") / "migrations"
    config.set_main_option("script_location", str(folder))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest migration this version ships."""
    found = ScriptDirectory.from_config(_config()).get_current_head()
    assert found is not None
    return found


def _current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current(engine: AsyncEngine) -> str | None:
    """The migration the database is at (None: an empty database)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine) -> tuple[str | None, str]:
    """Apply every migration not yet applied; the revision before and after."""

    def run(connection: sa.Connection) -> str | None:
        before = _current(connection)
        command.upgrade(_config(connection), "head")
        return before

    async with engine.begin() as conn:
        before = await conn.run_sync(run)
    return before, head()


async def check(engine: AsyncEngine) -> None:
    """Raise SchemaBehind unless the database is at this version's newest migration."""
    at = await current(engine)
    if at != head():
        raise SchemaBehind(
            f"the database schema is at {at or 'nothing'}, this version needs {head()}: "
            "run `meeple db upgrade`"
        )


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic logs each migration at INFO through the root logger's handlers."""
    import logging

    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


async def prepare(engine: AsyncEngine, url: str) -> None:
    """What start-up does: SQLite is migrated in place (it is this server's own file);
    a PostgreSQL schema that is behind is refused (SchemaBehind), since other
    processes share it and its owner upgrades it with ``meeple db upgrade``."""
    if is_sqlite(url):
        with _quiet_alembic():
            await upgrade(engine)
    else:
        await check(engine)


__all__ = [
    "AsyncConnection",
    "SchemaBehind",
    "check",
    "current",
    "head",
    "is_sqlite",
    "make_engine",
    "prepare",
    "upgrade",
]
