"""Full games through the Python client against a real uvicorn: every installed game,
played to its end by real WebSocket clients that know no rules (they ask the server for
their legal moves), with a spectator watching."""

from __future__ import annotations

import asyncio
import random

import pytest

from meeple.client.connection import MoveRejected, RoomConnection
from meeple.client.rest import MeepleClient
from tests.games import GAMES, NAMES
from tests.servers import LiveServer, tictactoe_pair

pytestmark = pytest.mark.both_stores
"""On the in-memory stores and on Redis: the two forms users deploy."""

MAX_MOVES = 60
"""Moves a player makes before it resigns: random games of some games run long."""


async def play_until_over(conn: RoomConnection, rng: random.Random) -> int:
    """Move whenever it is our turn, a random one of the legal moves the server lists;
    returns how many moves we made."""
    moves = 0
    while True:
        await conn.wait_for(lambda c: c.my_turn or c.finished, timeout=30)
        if conn.finished:
            return moves
        if moves >= MAX_MOVES:
            conn.resign()
            await conn.wait_for(lambda c: c.finished or not c.my_turn, timeout=30)
            await conn.wait_for(lambda c: c.finished, timeout=60)
            return moves
        try:
            await conn.move(rng.choice(await conn.legal_moves()))
        except MoveRejected as exc:  # another seat acted first in a simultaneous phase
            assert exc.code == "not_your_turn", exc
            continue
        moves += 1


@pytest.mark.parametrize("game", NAMES)
async def test_players_play_a_full_game_with_a_spectator(server: LiveServer, game: str) -> None:
    definition = GAMES[game]
    seats = min(definition.max_seats, definition.min_seats + 1)
    apis = [MeepleClient(server.http) for _ in range(seats + 1)]
    try:
        for i, api in enumerate(apis):
            await api.create_session(f"P{i}")
        room = await apis[0].create_room(game, seats=seats)
        for api in apis[1:-1]:
            await api.take_seat(room["id"])
        await apis[-1].watch(room["id"])
        conns = [api.connect(room["id"]) for api in apis]
        for conn in conns:
            await conn.open()
        *players, spectator = conns
        rng = random.Random(7)
        moves = await asyncio.gather(*(play_until_over(c, rng) for c in players))
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
        assert ca.change == cb.change == [[["b", 4], 0]]  # what moved last: X in the centre


async def test_gap_in_sequence_numbers_resyncs(server: LiveServer) -> None:
    async with tictactoe_pair(server.http) as (ca, cb, _):
        cb.seq = (cb.seq or 0) - 1  # pretend a delta was lost
        seq = await ca.move({"cell": 0})
        await cb.wait_for(lambda c: c.seq == seq and c.view == ca.view, timeout=10)
        assert cb.view["b"][0] == 0
