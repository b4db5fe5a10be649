"""What players earn outlasts the server: a plain ``meeple serve`` (its SQLite default, a
file in MEEPLE_DATA_DIR) plays rated games, is stopped, and is started again; ratings,
the leaderboard, histories and records are all still there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meeple.client.rest import MeepleClient
from tests.servers import TOP_ROW, ServerProcess, play_top_row, until


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
