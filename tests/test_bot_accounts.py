"""Bot accounts (lichess's BOT accounts are the model): ``meeple bot`` signs its players up
as bots and logs in as them again on its next run, so they keep their ratings; bots are
shown as bots on leaderboards, in room listings and snapshots, and in records, and the
server's own bots carry the same flag. Whether bots are rated is ``rate_bots``."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from meeple.client.errors import ApiError
from meeple.client.rest import MeepleClient
from meeple.lobby.settings import Settings
from tests.servers import (
    ServerProcess,
    live_server,
    meeple_bot,
    play_top_row,
    until,
)


async def test_meeple_bot_keeps_its_bot_accounts_and_ratings_across_runs(tmp_path: Path) -> None:
    server = ServerProcess({"MEEPLE_CREATE_LIMITS": "off"})
    await server.start()
    try:
        first = await meeple_bot(server.http, "tictactoe", count=2, games=2, data=tmp_path)
        assert first["games"] >= 2 and first["errors"] == 0, first
        kept = tmp_path / "bots.json"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        accounts = json.loads(kept.read_text())[server.http]
        assert len(accounts) == 2
        assert all(a.keys() == {"username", "password"} for a in accounts.values())
        async with MeepleClient(server.http) as reader:
            await reader.create_session("Reader")
            board = await until(lambda: _board(reader, want=2))
            before = {r["player_id"]: r["games"] for r in board["items"]}
            assert all(r["bot"] and r["player_id"].startswith("bot_") for r in board["items"])

            again = await meeple_bot(server.http, "tictactoe", count=2, games=2, data=tmp_path)
            assert again["games"] >= 2 and again["errors"] == 0, again
            assert json.loads(kept.read_text())[server.http] == accounts  # logged in, no sign-up
            board = await until(lambda: _board(reader, want=2, more_games_than=before))
            assert {r["player_id"] for r in board["items"]} == set(before)
            history = await reader.player_games(next(iter(before)))
            seats = history["items"][0]["seats"]
            assert [s["bot"] for s in seats] == [True, True]
            assert [s["kind"] for s in seats] == ["human", "human"]
    finally:
        server.stop()


async def _board(reader: MeepleClient, want: int, more_games_than: Any = None) -> Any:
    board = await reader.leaderboard("tictactoe")
    if len(board["items"]) < want:
        return None
    if more_games_than is not None and any(
        r["games"] <= more_games_than.get(r["player_id"], 0) for r in board["items"]
    ):
        return None
    return board


async def test_bots_are_shown_as_bots_in_rooms_snapshots_records_and_leaderboards() -> None:
    """A person plays a bot account; the server's own bot fills a seat in another room."""
    async with (
        live_server() as srv,
        MeepleClient(srv.http) as ada,
        MeepleClient(srv.http) as robo,
    ):
        await ada.register("ada", "correct horse")
        await robo.register("robo", "battery staple", "Robo", bot=True)
        assert robo.player_id is not None and robo.player_id.startswith("bot_")

        room = await play_top_row(ada, robo)
        listed = await ada.get_room(room)
        seats = [(s["kind"], s["bot"]) for s in listed["seats"]]
        assert seats == [("human", False), ("human", True)]
        board = await until(lambda: _board(ada, want=2))
        assert {r["name"]: r["bot"] for r in board["items"]} == {"ada": False, "Robo": True}
        history = await ada.player_games(robo.player_id)
        record = await ada.record(history["items"][0]["id"])
        assert [s["bot"] for s in record["seats"]] == [False, True]

        computer = await ada.create_room("tictactoe", bots=[1])
        listed = await ada.get_room(computer["id"])
        seats = [(s["kind"], s["bot"]) for s in listed["seats"]]
        assert seats == [("human", False), ("bot", True)]
        async with ada.connect(computer["id"]) as conn:
            await conn.wait_for(lambda c: c.status == "playing", timeout=10)
            assert [s.bot for s in conn.seats] == [False, True]


async def test_a_guest_does_not_become_a_bot() -> None:
    """A guest's games were played as a person; a bot account starts afresh (lichess
    turns only accounts that have played no games into BOT accounts)."""
    async with live_server() as srv, MeepleClient(srv.http) as guest:
        await guest.create_session("Guest")
        with pytest.raises(ApiError) as refused:
            await guest.register("robo", "battery staple", bot=True)
        assert (refused.value.status, refused.value.code) == (409, "bot_from_guest")


@pytest.mark.parametrize("rate_bots", [True, False])
async def test_rate_bots_decides_whether_games_with_bots_are_rated(rate_bots: bool) -> None:
    async with (
        live_server(Settings(rate_bots=rate_bots)) as srv,
        MeepleClient(srv.http) as ada,
        MeepleClient(srv.http) as bo,
        MeepleClient(srv.http) as robo,
    ):
        await ada.register("ada", "correct horse")
        await bo.register("bob", "correct horse")
        await robo.register("robo", "battery staple", bot=True)
        await play_top_row(ada, robo)
        await play_top_row(ada, bo)  # two people: rated either way
        board = await until(lambda: _board(ada, want=2))
        rated = {r["name"]: r["games"] for r in board["items"]}
        if rate_bots:
            board = await until(lambda: _board(ada, want=3))
            assert {r["name"]: r["games"] for r in board["items"]} == {
                "ada": 2,
                "bob": 1,
                "robo": 1,
            }
        else:
            assert rated == {"ada": 1, "bob": 1}
