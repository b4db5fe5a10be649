"""Games are found, not listed: entry points, ``--game``/``MEEPLE_GAMES`` and
``create_app(games=...)``, each app with a registry of its own; a game that cannot be
served stops start-up with one line naming it and why."""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest

from meeple.game import Game
from meeple.game.registry import GameError, Registry
from meeple.lobby.app import create_app
from meeple.lobby.games import build_games
from meeple.lobby.settings import Settings
from tests.sample_games import Nim
from tests.servers import ROOT, ServerProcess, free_port


def test_the_built_in_games_come_from_meeple_s_own_entry_points() -> None:
    offered = build_games()
    assert {"tictactoe", "connect4", "liarsdice", "chess"} <= set(offered.registry)
    assert "meeple.game.games.tictactoe:TicTacToe" in offered.registry.source("tictactoe")
    assert offered.boards["tictactoe"].url == "/games/tictactoe/board/tictactoe.js"
    assert "nim" not in offered.registry
    alone = build_games(["tests.sample_games:Nim"], entry_points=False)
    assert list(alone.registry) == ["nim"] and alone.boards == {}


class NotAGame:
    name = "nope"


class Nameless(Nim):
    name = "Not A Name!"


class OtherNim(Nim):
    """Another game that calls itself nim."""


class LostBoard(Nim):
    board = "meeple.client:web/boards/no-such-board.js"


@pytest.mark.parametrize(
    ("specs", "games", "says"),
    [
        (["no_such_package.games:Game"], [], "--game no_such_package.games:Game: cannot import"),
        (["tests.sample_games:Nothing"], [], "has no Nothing"),
        (["tests.sample_games"], [], "is not 'package.module:GameClass'"),
        ([], [NotAGame], "NotAGame is not a subclass of meeple.game.Game"),
        ([], [Nameless], "name must match"),
        (["tests.sample_games:Nim"], [OtherNim], "a game named 'nim' is already registered by"),
        ([], [LostBoard], "no file web/boards/no-such-board.js in package meeple.client"),
    ],
)
def test_a_game_that_cannot_be_served_is_one_clear_line(
    specs: list[str], games: list[object], says: str
) -> None:
    with pytest.raises(GameError, match=says) as refused:
        build_games(specs, games)  # type: ignore[arg-type]
    assert "\n" not in str(refused.value)
    with pytest.raises(GameError, match=says):
        create_app(Settings(games=tuple(specs)), games)  # type: ignore[arg-type]


def test_the_same_game_twice_is_one_game() -> None:
    offered = build_games(["tests.sample_games:Nim"], [Nim, Nim()], entry_points=False)
    assert list(offered.registry) == ["nim"]
    assert isinstance(offered.registry["nim"], Game)


async def test_each_app_serves_its_own_games() -> None:
    """No module-level table: two apps in one process offer different games."""
    plain, with_nim = create_app(Settings()), create_app(Settings(), games=[Nim])
    catalogs = []
    for app in (plain, with_nim):
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://m") as http,
        ):
            catalogs.append({g["name"]: g for g in (await http.get("/api/games")).json()})
            token = (await http.post("/api/sessions", json={"name": "Ada"})).json()["token"]
            made = await http.post(
                "/api/rooms", json={"game": "nim"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert made.status_code == (201 if app is with_nim else 422), made.text
    assert set(catalogs[1]) - set(catalogs[0]) == {"nim"}
    assert catalogs[1]["nim"]["board"] is None  # the generic board


async def test_meeple_serve_game_flag_and_environment() -> None:
    server = ServerProcess({"MEEPLE_ENTRY_POINT_GAMES": "off", "MEEPLE_GAMES": ""})
    server.extra_args = ["--game", "tests.sample_games:Nim"]
    await server.start()
    try:
        async with httpx.AsyncClient() as http:
            names = [g["name"] for g in (await http.get(f"{server.http}/api/games")).json()]
        assert names == ["nim"]
    finally:
        server.stop()


async def test_meeple_serve_stops_with_one_line_for_a_broken_game() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meeple.lobby.cli", "serve", "--port", str(free_port()),
        "--game", "tests.sample_games:Nothing",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    lines = err.decode().strip().splitlines()
    assert lines == [
        "meeple serve: --game tests.sample_games:Nothing: tests.sample_games has no Nothing"
    ]


def test_registry_lookup_names_the_games_there_are() -> None:
    registry = Registry([(Nim, "test")])
    with pytest.raises(KeyError, match="no game 'go'; there are nim"):
        registry.lookup("go")
