"""Full games through the Python client against a real uvicorn: every built-in game,
played to its end by real WebSocket clients, with a spectator watching."""

from __future__ import annotations

import asyncio
import random

import pytest

from meeple.client.bots import choose_move
from meeple.client.connection import MoveRejected, RoomConnection
from meeple.client.rest import MeepleClient
from tests.games import GAMES
from tests.servers import LiveServer, tictactoe_pair

SEATS = {"tictactoe": 2, "connect4": 2, "chess": 2, "liarsdice": 3}
STRATEGY = {"tictactoe": "best", "connect4": "random", "chess": "random", "liarsdice": "random"}


async def play_until_over(conn: RoomConnection, game: str, rng: random.Random) -> int:
    """Move whenever it is our turn; returns how many moves we made."""
    moves = 0
    while True:
        await conn.wait_for(lambda c: c.my_turn or c.finished, timeout=30)
        if conn.finished:
            return moves
        if game == "chess" and moves >= 60:  # random chess can run long: resign to end it
            conn.resign()
            await conn.wait_for(lambda c: c.finished, timeout=30)
            return moves
        move = choose_move(STRATEGY[game], game, conn.view, conn.seat or 0, rng)
        await conn.move(move)
        moves += 1


@pytest.mark.parametrize("game", sorted(GAMES))
async def test_players_play_a_full_game_with_a_spectator(server: LiveServer, game: str) -> None:
    assert set(SEATS) == set(GAMES)
    apis = [MeepleClient(server.http) for _ in range(SEATS[game] + 1)]
    try:
        for i, api in enumerate(apis):
            await api.create_session(f"P{i}")
        room = await apis[0].create_room(game, seats=SEATS[game])
        for api in apis[1:-1]:
            await api.take_seat(room["id"])
        await apis[-1].watch(room["id"])
        conns = [api.connect(room["id"]) for api in apis]
        for conn in conns:
            await conn.open()
        *players, spectator = conns
        rng = random.Random(7)
        moves = await asyncio.gather(*(play_until_over(c, game, rng) for c in players))
        assert sum(moves) > 0
        await spectator.wait_for(lambda c: c.finished, timeout=30)
        for conn in conns:
            await conn.wait_for(lambda c: c.seq == players[0].seq, timeout=10)
        result = players[0].result
        assert result is not None and result == spectator.result
        assert all(c.result == result for c in players)
        assert spectator.seat is None and spectator.status == "finished"
        # What each client built from deltas equals what the server holds.
        match = server.services.rooms.get(room["id"]).match  # type: ignore[union-attr]
        assert spectator.view == match.view(None)
        for conn in players:
            assert conn.view == match.view(conn.seat)
        if game == "liarsdice":
            assert "d" not in spectator.view  # spectators never hold anyone's dice
        # The record replays to the same outcome.
        record = await apis[0].record(f"{room['id']}-0")
        assert record["outcome"]["winners"] == result.winners
        assert [e["s"] for e in record["log"]] == list(range(2, match.seq + 1))
        for conn in conns:
            await conn.close()
    finally:
        for api in apis:
            await api.aclose()


async def test_a_rejected_move_raises_and_changes_nothing(server: LiveServer) -> None:
    async with tictactoe_pair(server.http) as (ca, cb, _):
        seq = await ca.move({"cell": 4})
        await cb.wait_for(lambda c: c.seq == seq, timeout=10)
        with pytest.raises(MoveRejected) as refused:
            await cb.move({"cell": 4})
        assert refused.value.code == "cell_taken"
        with pytest.raises(MoveRejected) as refused:
            await ca.move({"cell": 0})
        assert refused.value.code == "not_your_turn"
        assert ca.seq == cb.seq == seq
        assert ca.view == cb.view == {"b": [-1, -1, -1, -1, 0, -1, -1, -1, -1]}


async def test_gap_in_sequence_numbers_resyncs(server: LiveServer) -> None:
    async with tictactoe_pair(server.http) as (ca, cb, _):
        cb.seq = (cb.seq or 0) - 1  # pretend a delta was lost
        seq = await ca.move({"cell": 0})
        await cb.wait_for(lambda c: c.seq == seq and c.view == ca.view, timeout=10)
        assert cb.view["b"][0] == 0
