"""What players earn outlasts the server: a plain ``meeple serve`` (its SQLite default, a
file in MEEPLE_DATA_DIR), or two processes on Redis and PostgreSQL, play rated games, are
stopped, and are started again; players log in with their passwords, and ratings, the
leaderboard, histories and records are all still there. An app embedded with
``create_app()`` and no settings keeps accounts the same way."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from meeple.client.rest import MeepleClient
from meeple.lobby.app import create_app
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import PASSWORD, TOP_ROW, ServerProcess, db_upgrade, play_top_row, until


async def play_guests_top_row(http: str) -> str:
    """One game of tic-tac-toe that Ada wins (two new guests): its room."""
    async with MeepleClient(http) as a, MeepleClient(http) as b:
        await a.create_session("Ada")
        await b.create_session("Bo")
        return await play_top_row(a, b)


async def test_ratings_leaderboard_history_and_records_survive_a_restart(tmp_path: Path) -> None:
    server = ServerProcess({"MEEPLE_DATA_DIR": str(tmp_path), "MEEPLE_CREATE_LIMITS": "off"})
    await server.start()
    try:
        room = await play_guests_top_row(server.http)
        async with MeepleClient(server.http) as reader:
            await reader.create_session("Reader")
            board_before = await until(lambda: _items(reader.leaderboard("tictactoe"), want=2))
            ada, bo = (r["player_id"] for r in board_before["items"])
            history_before = await reader.player_games(bo)
    finally:
        server.stop()
    assert (tmp_path / "meeple.db").exists()

    again = ServerProcess({"MEEPLE_DATA_DIR": str(tmp_path)}, port=server.port)
    await again.start()
    try:
        async with MeepleClient(again.http) as reader:
            await reader.create_session("Reader")
            board = await reader.leaderboard("tictactoe")
            assert board == board_before
            assert [r["name"] for r in board["items"]] == ["Ada", "Bo"]
            assert board["items"][0]["rating"] > 1500 > board["items"][1]["rating"]
            history = await reader.player_games(bo)
            assert history == history_before
            assert [g["room"] for g in history["items"]] == [room]
            record = await reader.record(history["items"][0]["id"])
            assert [e["m"]["cell"] for e in record["log"]] == [cell for _, cell in TOP_ROW]
        # A second game after the restart builds on the ratings kept.
        await play_guests_top_row(again.http)
        async with MeepleClient(again.http) as reader:
            await reader.create_session("Reader")
            board = await until(lambda: _items(reader.leaderboard("tictactoe"), want=4))
            assert {ada, bo} < {r["player_id"] for r in board["items"]}
    finally:
        again.stop()


async def _items(answer: Any, want: int) -> Any:
    board = await answer
    return board if len(board["items"]) >= want else None


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis+postgres", marks=[pytest.mark.redis, pytest.mark.postgres]),
    ]
)
def servers(request: pytest.FixtureRequest, tmp_path: Path) -> list[ServerProcess]:
    """The SQLite default (one process), or two processes on Redis and PostgreSQL."""
    common = {"MEEPLE_CREATE_LIMITS": "off"}
    if request.param == "sqlite":
        return [ServerProcess({**common, "MEEPLE_DATA_DIR": str(tmp_path)})]
    env = {
        **common,
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": request.getfixturevalue("redis_prefix"),
        "DATABASE_URL": DATABASE_URL,
        "MEEPLE_DATABASE_SCHEMA": request.getfixturevalue("pg_schema"),
    }
    return [ServerProcess(env), ServerProcess(env)]


async def start_all(servers: list[ServerProcess]) -> None:
    await asyncio.gather(*(s.start() for s in servers))


def stop_all(servers: list[ServerProcess]) -> None:
    for server in servers:
        server.stop()


async def everything_seen_by(
    http: str, username: str, rival: str
) -> tuple[str, Any, Any, Any, Any]:
    """Log in with the password and read what a player would: their player id, the
    leaderboard, their history, a rival's history and their newest game's record."""
    async with MeepleClient(http) as me:
        logged_in = await me.login(username, PASSWORD)
        board = await me.leaderboard("tictactoe")
        mine = await me.player_games(logged_in["player_id"])
        theirs = await me.player_games(rival)
        record = await me.record(mine["items"][0]["id"])
        return logged_in["player_id"], board, mine, theirs, record


@pytest.mark.timeout(300)  # servers start twice: on a loaded machine that takes minutes
async def test_accounts_play_rated_games_and_find_them_all_after_a_restart(
    servers: list[ServerProcess],
) -> None:
    """What a user does: sign up, play rated games (on both processes, when there are
    two), stop the server, start it again, log in with the password: ratings, the
    leaderboard, history and records are all there."""
    if len(servers) > 1:  # PostgreSQL: the operator upgrades the schema first
        await db_upgrade(servers[0].env)
    await start_all(servers)
    try:
        async with (
            MeepleClient(servers[0].http) as ada,
            MeepleClient(servers[-1].http) as bob,
        ):
            await ada.register("ada", PASSWORD, "Ada")
            await bob.register("bob", PASSWORD, "Bob")
            rooms = [await play_top_row(ada, bob), await play_top_row(bob, ada)]
            assert bob.player_id is not None
            bob_id = bob.player_id
            await until(lambda: _rated(ada, games=2))
            before = await everything_seen_by(servers[-1].http, "ada", bob_id)
    finally:
        stop_all(servers)

    await start_all(servers)  # the same ports, files and schema, new processes
    try:
        for server in servers:
            after = await everything_seen_by(server.http, "ada", bob_id)
            assert after == before
            player_id, board, mine, theirs, record = after
            assert {r["name"]: r["games"] for r in board["items"]} == {"Ada": 2, "Bob": 2}
            assert (
                player_id == board["items"][0]["player_id"]
                or player_id == board["items"][1]["player_id"]
            )
            assert (
                {g["room"] for g in mine["items"]}
                == set(rooms)
                == {g["room"] for g in theirs["items"]}
            )
            assert [e["m"]["cell"] for e in record["log"]] == [cell for _, cell in TOP_ROW]
        # Rated play goes on from the ratings kept.
        async with (
            MeepleClient(servers[0].http) as ada,
            MeepleClient(servers[-1].http) as bob,
        ):
            await ada.login("ada", PASSWORD)
            await bob.login("bob", PASSWORD)
            await play_top_row(ada, bob)
            await until(lambda: _rated(ada, games=3))
    finally:
        stop_all(servers)


async def _rated(reader: MeepleClient, games: int) -> Any:
    """The leaderboard once every player on it has ``games`` games."""
    board = await reader.leaderboard("tictactoe")
    items = board["items"]
    return board if items and all(r["games"] >= games for r in items) else None


async def test_an_app_embedded_with_no_settings_keeps_accounts_as_meeple_serve_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``create_app()`` in a program of one's own reads the environment like ``meeple
    serve``: with nothing set but the data folder, accounts are in its SQLite file, so a
    player signed up before a restart logs in after it; ``DATABASE_URL=memory`` keeps
    nothing."""
    for name in ("REDIS_URL", "DATABASE_URL", "MEEPLE_DATABASE_SCHEMA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEEPLE_DATA_DIR", str(tmp_path))

    async def signed_up_then_logged_in_again() -> int:
        """Sign Ada up on one app, then log in on a new one: the log-in's status."""
        async with embedded(create_app()) as http:
            made = await http.post("/api/accounts", json={"username": "ada", "password": PASSWORD})
            assert made.status_code == 201, made.text
        async with embedded(create_app()) as http:
            login = await http.post("/api/login", json={"username": "ada", "password": PASSWORD})
            return login.status_code

    assert await signed_up_then_logged_in_again() == 200
    assert (tmp_path / "meeple.db").exists()
    monkeypatch.setenv("MEEPLE_DATA_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("DATABASE_URL", "memory")
    assert await signed_up_then_logged_in_again() == 401
    assert not (tmp_path / "unused").exists()


@contextlib.asynccontextmanager
async def embedded(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app running in this process (its lifespan), called as a host program would."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://meeple.test") as http:
            yield http
