"""What players earn outlasts the server: a plain ``meeple serve`` (its SQLite default, a
file in MEEPLE_DATA_DIR) plays rated games, is stopped, and is started again; ratings,
the leaderboard, histories and records are all still there."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from meeple.client.rest import MeepleClient
from tests.servers import ServerProcess, tictactoe_pair

TOP_ROW = [(0, 0), (1, 3), (0, 1), (1, 4), (0, 2)]
"""(seat, cell): seat 0 wins with the top row."""


async def play_top_row(http: str) -> str:
    """One game of tic-tac-toe that Ada wins (two new guests): its room."""
    async with tictactoe_pair(http) as (ada, bo, room):
        conns = (ada, bo)
        for seat, cell in TOP_ROW:
            conn = conns[seat]
            await conn.wait_for(lambda c: c.my_turn, timeout=10)
            await conn.move({"cell": cell})
        await bo.wait_for(lambda c: c.finished, timeout=10)
        return room


async def until(check: Any, tries: int = 200) -> Any:
    """Poll a REST read until it answers truthily: a finished game is written in the
    background, after the players are told."""
    for _ in range(tries):
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the finished game was never written")


async def test_ratings_leaderboard_history_and_records_survive_a_restart(tmp_path: Path) -> None:
    server = ServerProcess({"MEEPLE_DATA_DIR": str(tmp_path), "MEEPLE_CREATE_LIMITS": "off"})
    await server.start()
    try:
        room = await play_top_row(server.http)
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
        await play_top_row(again.http)
        async with MeepleClient(again.http) as reader:
            await reader.create_session("Reader")
            board = await until(lambda: _items(reader.leaderboard("tictactoe"), want=4))
            assert {ada, bo} < {r["player_id"] for r in board["items"]}
    finally:
        again.stop()


async def _items(answer: Any, want: int) -> Any:
    board = await answer
    return board if len(board["items"]) >= want else None
