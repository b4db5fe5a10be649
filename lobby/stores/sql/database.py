"""The database: an async engine from a URL, and its migrations (Alembic, shipped here).

SQLite (aiosqlite) is the default, a file that needs no set-up; PostgreSQL (asyncpg)
is for production. Every transaction on SQLite begins IMMEDIATE, so a read that is
followed by a write (a rating update) holds the write lock from the start: two
processes finishing games for one player then queue instead of losing an update.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")

log = logging.getLogger("meeple.lobby.stores.sql")

CLOSE_SECONDS = 2
"""How long closing waits for a transaction under way in the SQLite thread."""


class SchemaBehind(RuntimeError):
    """The database's schema is older than this version's migrations."""


def json_text(value: Any) -> str:
    """JSON as the database keeps it (a record's body): by orjson, which takes a sixth
    of ``json.dumps``' CPU for a finished game's record, the most costly part of writing
    one (bench/README.md); ``json.dumps`` for what orjson refuses (an int past 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def driver_cursor(conn: sa.Connection) -> Any:
    """A DB-API cursor on ``conn``'s own connection, in its transaction: what a batch's
    SQLite statements of a fixed text run on. Through ``exec_driver_sql`` SQLAlchemy
    works on every row of an ``executemany``: some 10 µs a tic-tac-toe game, 6 to 11% of
    writing it (``bench/finished.py --batch 20 --rooms 100``). Errors are the driver's
    own, not SQLAlchemy's: these statements run after ``BEGIN IMMEDIATE`` took the lock
    (where a locked file shows, as SQLAlchemy's ``OperationalError``)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None  # a connection in a transaction has one
    return raw.cursor()


_JSON: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": orjson.loads}
"""Every engine's JSON columns, written and read by orjson."""


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
        engine = create_async_engine(url, connect_args=connect_args, **_JSON)
        _sqlite_transactions(engine.sync_engine)
        return engine
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(url, connect_args=connect_args, pool_pre_ping=True, **_JSON)


def _sqlite_transactions(engine: sa.Engine, *pragmas: str) -> None:
    """SQLAlchemy's documented recipe for pysqlite/aiosqlite: the driver begins no
    transactions of its own, and every one SQLAlchemy begins is IMMEDIATE. ``pragmas``:
    more settings of each connection."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", *pragmas):
            cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


CHECKPOINT_SECONDS = 1.0
"""How often, at most, the thread copies the write-ahead log into the SQLite file after
transactions run on the event loop (which never checkpoints: that is what fsyncs). A
transaction waits for the checkpoint under way: one that a write overtook would not
end with the whole log copied, and the log restarts only after one that did (without
the wait, a busy server's log never restarted: 300 MB for 8,000 tic-tac-toe games)."""


CHECKPOINT_WAIT_SECONDS = 2.0
"""The longest a transaction waits for the checkpoint under way (``CHECKPOINT_SECONDS``)."""


class Transactions:
    """Runs a function of a synchronous connection as one transaction (``run``): what
    writes a batch in a few statements.

    On an SQLite file it runs right on the event loop, on a synchronous connection that
    never waits for a lock (busy timeout 0) and never fsyncs: ``synchronous=NORMAL`` in
    WAL mode syncs only at checkpoints, which run in a thread of their own, and which a
    transaction waits for (``CHECKPOINT_SECONDS``). When another connection holds the
    write lock (a sign-up on aiosqlite's, another process's), the transaction runs
    instead in that thread, which waits for the lock; the loop never blocks on one. A
    thread for every transaction cost a busy server more than the writes (its Python
    contends with the loop's for the GIL: 60% more CPU per tic-tac-toe move,
    bench/README.md), and aiosqlite's engine hands every statement over (some 180 µs of
    CPU a statement).

    The trade: a committed game survives the process's death (kill -9) but an operating
    system crash or power cut may take the last second's games with it, as SQLite's
    documentation says of WAL with NORMAL, and as Redis's ``appendfsync everysec`` does.
    Elsewhere (PostgreSQL) it runs on the async engine's connection
    (``AsyncConnection.run_sync``)."""

    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self._engine = engine
        self._here: sa.Engine | None = None
        """The event loop's connection: no busy wait, no fsync, no checkpoint."""
        self._held: sa.Connection | None = None
        """Its connection, kept from one transaction to the next: a pool checkout and
        return a transaction cost 8 to 11 µs a tic-tac-toe game (6 to 8% of writing it,
        ``bench/finished.py --batch 20 --rooms 100``). Given back after a failure."""
        self._sync: sa.Engine | None = None
        """The thread's: waits for the lock (30 s), checkpoints."""
        self._thread: ThreadPoolExecutor | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._checkpointed = 0.0
        path = sa.make_url(url).database if is_sqlite(url) else None
        if path and path != ":memory:":
            file_url = sa.make_url(url).set(drivername="sqlite")
            self._sync = sa.create_engine(file_url, connect_args={"timeout": 30.0}, **_JSON)
            _sqlite_transactions(self._sync)
            self._here = sa.create_engine(file_url, connect_args={"timeout": 0.0}, **_JSON)
            _sqlite_transactions(
                self._here, "PRAGMA synchronous=NORMAL", "PRAGMA wal_autocheckpoint=0"
            )
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="meeple-sqlite")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in one transaction, committed if it returns; run
        again, whole, in the thread when the lock was taken (so ``fn`` must be a
        function of the connection alone)."""
        if self._here is None or self._sync is None or self._thread is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn, *args)
        if self._checkpoint is not None and not self._checkpoint.done():
            # CHECKPOINT_SECONDS: the log restarts. Bounded: behind a transaction waiting
            # for the lock in the thread, the games are written without the restart.
            await asyncio.wait([self._checkpoint], timeout=CHECKPOINT_WAIT_SECONDS)
        try:
            result = self._on_loop(self._here, fn, args)
        except sa.exc.OperationalError as exc:
            if "locked" not in str(exc.orig):
                raise
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._thread, _transaction, self._sync, fn, args)
        self._checkpoint_soon()
        return result

    def _on_loop(self, engine: sa.Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """``fn`` in a transaction of the held connection (``_held``); a connection that
        failed goes back to the pool (which rolls it back), and the next run takes one
        afresh."""
        if self._held is None:
            self._held = engine.connect()
        conn = self._held
        try:
            with conn.begin():
                return fn(conn, *args)
        except BaseException:
            self._held = None
            conn.close()
            raise

    def _checkpoint_soon(self) -> None:
        """A passive checkpoint in the thread, unless one ran within ``CHECKPOINT_SECONDS``
        or is under way (it copies what no reader needs; it never blocks a writer)."""
        loop = asyncio.get_running_loop()
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        if loop.time() - self._checkpointed < CHECKPOINT_SECONDS:
            return
        self._checkpointed = loop.time()
        self._checkpoint = loop.run_in_executor(self._thread, self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        """Outside any transaction (a checkpoint cannot run inside one); a failure is
        logged, and the next one copies what this one did not."""
        assert self._sync is not None
        try:
            raw = self._sync.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                raw.close()
        except Exception:
            log.warning("the SQLite checkpoint failed", exc_info=True)

    async def close(self) -> None:
        """Close the connections; the thread's in the thread, after the transaction or
        checkpoint under way there if any (waiting ``CLOSE_SECONDS`` at most: a process
        that stops does not wait on a locked file)."""
        if self._held is not None:
            self._held.close()
            self._held = None
        if self._here is not None:
            self._here.dispose()
        if self._sync is not None and self._thread is not None:
            loop = asyncio.get_running_loop()
            closing = loop.run_in_executor(self._thread, self._sync.dispose)
            await asyncio.wait([closing], timeout=CLOSE_SECONDS)
            self._thread.shutdown(wait=False)


def _transaction(engine: sa.Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with engine.begin() as conn:
        return fn(conn, *args)


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


async def upgrade(engine: AsyncEngine, to: str = "head") -> tuple[str | None, str]:
    """Apply every migration not yet applied (up to ``to``: a test of a migration
    starts from the one before); the revision before and after."""

    def run(connection: sa.Connection) -> str | None:
        before = _current(connection)
        command.upgrade(_config(connection), to)
        return before

    async with engine.begin() as conn:
        before = await conn.run_sync(run)
    return before, head() if to == "head" else to


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
    "Transactions",
    "check",
    "current",
    "head",
    "is_sqlite",
    "make_engine",
    "prepare",
    "upgrade",
]
