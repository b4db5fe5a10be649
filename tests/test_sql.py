"""The SQL database itself: migrations, start-up's check, and a finished game written once
with its rating updates in one transaction. Against SQLite and the real PostgreSQL (a
schema of the test's own); the stores' contract is in test_stores.py."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from meeple.lobby.players.ratings import rate_record
from meeple.lobby.stores.base import PlayerRating
from meeple.lobby.stores.sql import Database, SchemaBehind, database
from meeple.lobby.stores.sql.database import check, current, head, upgrade
from meeple.lobby.stores.sql.finished import TRANSACTION_GAMES, write_games
from tests.conftest import DATABASE_URL

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Place:
    """Where a test's database lives: opens as many Databases on it as the test wants
    (each its own engine and connections, as another process would have)."""

    def __init__(self, url: str, schema: str | None) -> None:
        self.url = url
        self.schema = schema
        self._opened: list[Database] = []

    def open(self) -> Database:
        db = Database(self.url, self.schema)
        self._opened.append(db)
        return db

    async def close(self) -> None:
        for db in self._opened:
            await db.close()


@pytest.fixture(params=KINDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """The database's URL and schema: a file of the test's own, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}", None
    schema: str = request.getfixturevalue("pg_schema")
    return DATABASE_URL, schema


@pytest.fixture
async def place(where: tuple[str, str | None]) -> AsyncIterator[Place]:
    found = Place(*where)
    try:
        yield found
    finally:
        await found.close()


def record(room: str, game_no: int, *players: str, winner: int = 0) -> dict[str, Any]:
    returns = [-1.0] * len(players)
    returns[winner] = 1.0
    return {
        "id": f"{room}-{game_no}",
        "room": room,
        "game": "tictactoe",
        "game_no": game_no,
        "options": {},
        "seed": "s",
        "seat_count": len(players),
        "seats": [{"kind": "human", "player_id": p, "name": p.upper()} for p in players],
        "outcome": {"winners": [winner], "draw": False, "returns": returns},
        "log": [],
        "finished_at": 1_700_000_000.0 + game_no,
        "private": False,
        "invite": None,
        "creator": players[0],
    }


async def test_upgrade_builds_the_newest_schema_once(place: Place) -> None:
    db = place.open()
    assert await current(db.engine) is None
    with pytest.raises(SchemaBehind, match="meeple db upgrade"):
        await check(db.engine)
    assert await upgrade(db.engine) == (None, head())
    assert await upgrade(db.engine) == (head(), head())
    await check(db.engine)
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert {"accounts", "records", "record_players", "ratings", "alembic_version"} <= tables


async def test_migration_0003_keeps_every_row_and_drops_two_indexes(place: Place) -> None:
    """0003 leaves records, histories and ratings as they read, with one index less on
    records (the id is room and game number) and on record_players (keyed by history
    order); a finished game is still written once."""
    db = place.open()
    await upgrade(db.engine, "0002")
    games = [record("r_1", n, "p_a", "p_b", winner=n % 2) for n in range(3)]
    games.append(record("r_2", 0, "p_c", "p_a"))
    assert await db.transactions.run(write_games, games, rate_record) == [True] * 4

    async def everything() -> list[Any]:
        first, cursor = await db.records.for_player("p_a", cursor=None, limit=2)
        rest, _ = await db.records.for_player("p_a", cursor=cursor, limit=10)
        board = await db.ratings.page("tictactoe", cursor=None, limit=10)
        return [first, rest, board, [await db.records.get(g["id"]) for g in games]]

    before = await everything()
    assert await upgrade(db.engine) == ("0002", head())
    assert await everything() == before

    def shape(conn: sa.Connection) -> dict[str, Any]:
        found = sa.inspect(conn)
        return {
            "unique": found.get_unique_constraints("records"),
            "indexes": [i["name"] for i in found.get_indexes("record_players")],
            "key": found.get_pk_constraint("record_players")["constrained_columns"],
            "board": [i["name"] for i in found.get_indexes("ratings")],
        }

    async with db.engine.connect() as conn:
        assert await conn.run_sync(shape) == {
            "unique": [],
            "indexes": [],
            "key": ["player_id", "finished_at", "record_id"],
            "board": ["ratings_board"],
        }
        if place.schema is None:  # SQLite: the key's B-tree is the table
            ddl = await conn.execute(sa.text("SELECT name, sql FROM sqlite_master"))
            without = {name for name, sql in ddl if sql and "WITHOUT ROWID" in sql}
            assert without == {"record_players", "ratings"}
    again = {**games[0], "finished_at": games[0]["finished_at"] + 5}
    assert await db.finish_game(again, rate_record) is False
    assert await db.finish_game(record("r_1", 3, "p_a", "p_b"), rate_record) is True
    items, _ = await db.records.for_player("p_a", cursor=None, limit=10)
    assert [r["id"] for r in items] == ["r_1-3", "r_1-2", "r_1-1", "r_2-0", "r_1-0"]


async def test_start_up_migrates_sqlite_and_refuses_a_postgresql_schema_behind(
    place: Place,
) -> None:
    db = place.open()
    if place.schema is None:
        await db.prepare()
        assert await current(db.engine) == head()
    else:
        with pytest.raises(SchemaBehind) as refused:
            await db.prepare()
        assert "\n" not in str(refused.value)
        assert await current(db.engine) is None
        await upgrade(db.engine)
        await db.prepare()


async def test_a_finished_game_is_written_once_with_its_ratings(place: Place) -> None:
    db = place.open()
    await upgrade(db.engine)
    game = record("r_1", 0, "p_a", "p_b")
    assert await db.finish_game(game, rate_record) is True
    a = await db.ratings.get("tictactoe", "p_a")
    b = await db.ratings.get("tictactoe", "p_b")
    assert a is not None and b is not None and a.rating > 1500 > b.rating and a.games == 1
    # The room failed over and its new owner finishes the same game again: nothing changes.
    again = {**game, "finished_at": game["finished_at"] + 5}
    assert await db.finish_game(again, rate_record) is False
    assert await db.ratings.get("tictactoe", "p_a") == a
    assert await db.records.get("r_1-0") == game
    items, _ = await db.records.for_player("p_a", cursor=None, limit=10)
    assert [r["id"] for r in items] == ["r_1-0"]


async def test_a_failed_rating_update_leaves_no_record(place: Place) -> None:
    db = place.open()
    await upgrade(db.engine)
    game = record("r_1", 0, "p_a", "p_b")

    def broken(game: dict[str, Any], before: Mapping[str, PlayerRating | None]) -> Any:
        rate_record(game, before)
        raise RuntimeError("the process died half-way")

    with pytest.raises(RuntimeError):
        await db.finish_game(game, broken)
    assert await db.records.get("r_1-0") is None
    assert await db.ratings.get("tictactoe", "p_a") is None
    assert await db.finish_game(game, rate_record) is True


async def test_games_ending_at_once_for_one_player_lose_no_update(place: Place) -> None:
    """Ada plays six opponents at once, their games finished on three engines (as three
    processes would) all together: every game counts, none overwrites another."""
    first = place.open()
    await upgrade(first.engine)
    dbs = [first, place.open(), place.open()]
    games = [record(f"r_{i}", 0, "p_ada", f"p_{i}") for i in range(6)]
    done = await asyncio.gather(
        *(dbs[i % 3].finish_game(g, rate_record) for i, g in enumerate(games))
    )
    assert done == [True] * 6
    ada = await first.ratings.get("tictactoe", "p_ada")
    assert ada is not None and ada.games == 6
    items, _ = await first.records.for_player("p_ada", cursor=None, limit=10)
    assert len(items) == 6


async def test_one_game_finished_by_two_processes_at_once_counts_once(place: Place) -> None:
    """A room that failed over mid-write: its old and new owner write the same game at
    the same moment. One of them writes it; the other learns it was there, and changes
    no rating (the insert says which records it wrote, even while the other's
    transaction is still open)."""
    first = place.open()
    await upgrade(first.engine)
    game = record("r_1", 0, "p_a", "p_b")
    done = await asyncio.gather(
        first.finish_game(game, rate_record), place.open().finish_game(dict(game), rate_record)
    )
    assert sorted(done) == [False, True]
    a = await first.ratings.get("tictactoe", "p_a")
    assert a is not None and a.games == 1
    items, _ = await first.records.for_player("p_b", cursor=None, limit=10)
    assert [r["id"] for r in items] == ["r_1-0"]


async def test_a_batch_skips_its_duplicates_and_what_is_written(place: Place) -> None:
    """One transaction of several games (``write_games``): a game twice in the batch,
    and a game written before, count once each; a player in two of its games gets
    both, in order, as if they were written one at a time."""
    db = place.open()
    await upgrade(db.engine)
    written = record("r_0", 0, "p_ada", "p_bo")
    assert await db.finish_game(written, rate_record) is True
    one, two = record("r_1", 0, "p_ada", "p_cy"), record("r_2", 0, "p_dee", "p_ada", winner=0)
    batch = [one, two, dict(one), {**written, "finished_at": 1.0}]
    done = await db.transactions.run(write_games, batch, rate_record)
    assert done == [True, True, False, False]
    # The same three games rated one after another, in memory: the same ratings.
    expected: dict[str, PlayerRating | None] = {}
    for game in (written, one, two):
        players = [seat["player_id"] for seat in game["seats"]]
        for item in rate_record(game, {p: expected.get(p) for p in players}):
            expected[item.player_id] = item
    got = {p: await db.ratings.get("tictactoe", p) for p in expected}
    assert got == expected
    ada = got["p_ada"]
    assert ada is not None and ada.games == 3
    items, _ = await db.records.for_player("p_ada", cursor=None, limit=10)
    assert sorted(r["id"] for r in items) == ["r_0-0", "r_1-0", "r_2-0"]
    assert await db.records.get("r_0-0") == written  # the one there before is kept


@pytest.mark.server_errors("background store write failed")
async def test_games_finished_together_are_written_as_one_at_a_time(place: Place) -> None:
    """A busy server writes the games that finish meanwhile in one transaction
    (``Database.finished_games``): the same records and ratings as one game at a time, a
    game already written is skipped, and a game that fails fails alone."""
    alone, batched = place.open(), place.open()
    await upgrade(alone.engine)
    games = [record(f"r_{i}", 0, "p_ada", f"p_{i % 3}") for i in range(7)]
    games[3] = record("r_3", 0, "p_2", "p_ada")  # Ada loses one: ratings move both ways
    for game in games[:5]:
        assert await alone.finish_game(game, rate_record) is True
    expected = {p: await alone.ratings.get("tictactoe", p) for p in ("p_ada", "p_0", "p_2")}
    for table in ("record_players", "records", "ratings"):  # start again, batched
        async with alone.engine.begin() as conn:
            await conn.execute(sa.text(f"DELETE FROM {table}"))
    failures: list[int] = []

    def rate(game: dict[str, Any], before: Mapping[str, PlayerRating | None]) -> Any:
        if game["id"] == "r_late-0":
            raise RuntimeError("this game's update fails")
        return rate_record(game, before)

    finished = batched.finished_games(rate, lambda: failures.append(1))
    for game in [*games[:5], games[0]]:  # the last one again: written once
        finished.add(game)
    await finished.drain()
    assert failures == []
    assert {p: await batched.ratings.get("tictactoe", p) for p in expected} == expected
    items, _ = await batched.records.for_player("p_ada", cursor=None, limit=10)
    assert sorted(r["id"] for r in items) == sorted(g["id"] for g in games[:5])
    late = record("r_late", 0, "p_bo", "p_cy")
    finished.add(late)  # its batch fails, and is written again game by game
    finished.add(games[5])
    await finished.drain()
    assert failures == [1]
    assert await batched.records.get("r_late-0") is None
    assert await batched.records.get(games[5]["id"]) == games[5]
    ada = await batched.ratings.get("tictactoe", "p_ada")
    assert ada is not None and ada.games == 6


async def test_batches_on_two_processes_for_one_player_lose_no_update(place: Place) -> None:
    """Two servers each write a batch of Ada's games at the same moment (SQLite: one
    file, each server's own thread and connection; PostgreSQL: the ratings' locks):
    all six count."""
    first = place.open()
    await upgrade(first.engine)
    failures: list[int] = []
    servers = [
        db.finished_games(rate_record, lambda: failures.append(1)) for db in (first, place.open())
    ]
    for i in range(6):
        servers[i % 2].add(record(f"r_{i}", 0, "p_ada", f"p_{i}", winner=i % 2))
    await asyncio.gather(*(server.drain() for server in servers))
    assert failures == []
    ada = await first.ratings.get("tictactoe", "p_ada")
    assert ada is not None and ada.games == 6
    items, _ = await first.records.for_player("p_ada", cursor=None, limit=10)
    assert len(items) == 6


async def test_a_game_being_written_is_read_once_written(place: Place) -> None:
    """Whoever saw a game end reads its record at once, though it is written in a batch a
    moment later (``FinishedGames.written``); a game nobody is writing answers at once."""
    db = place.open()
    await upgrade(db.engine)
    finished = db.finished_games(rate_record, lambda: None)
    game = record("r_now", 0, "p_ada", "p_bo")
    finished.add(game)
    assert await db.records.get(game["id"]) is None  # the batch waits for others to join
    await finished.written(game["id"])
    assert await db.records.get(game["id"]) == game
    await finished.written("r_nobody-0")
    await finished.written(game["id"])  # written: nothing to wait for


async def test_a_locked_sqlite_file_is_waited_for_off_the_event_loop(tmp_path: Path) -> None:
    """Finished games are written on the event loop, which must never wait for a lock:
    while another connection (another process, a sign-up on aiosqlite's thread) holds
    the file's write lock, the batch waits in the thread, the loop goes on serving, and
    the batch lands once the lock is free."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}")
    try:
        await upgrade(db.engine)
        other = sqlite3.connect(tmp_path / "meeple.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        game = record("r_1", 0, "p_a", "p_b")
        writing = asyncio.ensure_future(db.transactions.run(write_games, [game], rate_record))
        turns = 0
        while turns < 20:  # the loop turns while the batch waits for the lock
            await asyncio.sleep(0.01)
            turns += 1
        assert not writing.done()
        other.execute("COMMIT")
        other.close()
        assert await asyncio.wait_for(writing, 10) == [True]
        assert await db.records.get("r_1-0") == game
        # The loop's connection that met the lock was given back: the next batch runs
        # on the loop again, on a connection of its own.
        after = record("r_2", 0, "p_a", "p_b")
        assert await db.transactions.run(write_games, [after], rate_record) == [True]
    finally:
        await db.close()


async def test_a_batch_larger_than_a_transaction_is_written_in_order(place: Place) -> None:
    """A busy server's batch of more games than one transaction holds
    (``TRANSACTION_GAMES``) is written in several, in the order the games finished: a
    player in all of them ends with the ratings of those games rated one after another."""
    db = place.open()
    await upgrade(db.engine)
    games = [
        record(f"r_{i}", 0, "p_ada", f"p_{i % 4}", winner=int(i % 3 == 0))
        for i in range(TRANSACTION_GAMES * 2 + 5)
    ]
    finished = db.finished_games(rate_record, lambda: pytest.fail("a write failed"))
    for game in games:
        finished.add(game)
    await finished.drain()
    expected: dict[str, PlayerRating | None] = {}
    for game in games:
        players = [seat["player_id"] for seat in game["seats"]]
        for item in rate_record(game, {p: expected.get(p) for p in players}):
            expected[item.player_id] = item
    assert {p: await db.ratings.get("tictactoe", p) for p in expected} == expected
    items, _ = await db.records.for_player("p_ada", cursor=None, limit=100)
    assert len(items) == len(games)


async def test_the_sqlite_log_restarts_under_a_steady_stream_of_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy server writes a batch every few milliseconds; a checkpoint in the thread
    that a write overtakes never ends with the whole log copied, so the log never
    restarts and grows by every page written (300 MB for 8,000 tic-tac-toe games). A
    batch waits for the checkpoint under way: the log then restarts at the next write
    and holds only the pages written since the last checkpoint."""
    monkeypatch.setattr(database, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint after each write
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}")
    try:
        await upgrade(db.engine)
        for i in range(200):
            game = record(f"r_{i}", 0, f"p_{i}", f"p_{i + 1}")
            assert await db.transactions.run(write_games, [game], rate_record) == [True]
        # The log's file keeps its largest size: a few writes' pages if it restarted,
        # every page of the 200 writes (a megabyte and more) if it never did.
        assert (tmp_path / "meeple.db-wal").stat().st_size < 100 * (4096 + 24)
    finally:
        await db.close()
