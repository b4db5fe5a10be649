"""The ``moves`` message: a seat asks for its legal moves (generic boards and bots need
no rules of their own). Answered only to a seat that is to act, bounded in count and in
size, and never changing anything."""

from __future__ import annotations

import json
import random

import httpx
from pydantic import Field

from meeple.game import Game, MoveModel, Options, Outcome, Rejection, View, win
from meeple.game.codec import encode
from meeple.game.protocol import MAX_FRAME, MAX_LEGAL_MOVES, server_message
from tests.conftest import acked, of_type, open_peer
from tests.servers import LiveServer, live_server
from tests.test_gateway import two_players


async def test_the_seat_to_act_gets_its_legal_moves(server: LiveServer) -> None:
    room, a, b = await two_players(server)
    await a.send({"t": "moves", "id": 5})
    answer = await a.until(of_type("moves"))
    server_message.validate_python(answer)
    assert answer == {
        "t": "moves",
        "id": 5,
        "s": 1,
        "m": [{"cell": i} for i in range(9)],
        "more": False,
    }
    await a.send({"t": "move", "id": 6, "m": {"cell": 4}})
    await b.until(of_type("d"))
    await b.send({"t": "moves"})
    answer = await b.until(of_type("moves"))
    assert answer["id"] is None and answer["s"] == 2
    assert {"cell": 4} not in answer["m"] and len(answer["m"]) == 8
    assert room.match.seq == 2  # asking changed nothing
    await b.send({"t": "moves", "id": 7})  # once a turn: the list cannot have changed
    assert (await b.until(of_type("err", id=7)))["code"] == "rate_limited"


async def test_asking_is_paced_by_turns_not_by_the_message_rate(server: LiveServer) -> None:
    """A bot that asks every turn never hits the 20 messages a second of other messages."""
    room, a, b = await two_players(server, "connect4")
    peers = [a, b]
    for turn in range(30):
        mover = peers[turn % 2]
        await mover.send({"t": "moves", "id": 100 + turn})
        listed = await mover.until(of_type("moves", id=100 + turn))
        await mover.send({"t": "move", "id": 200 + turn, "m": listed["m"][turn % len(listed["m"])]})
        await mover.until(acked(200 + turn))
        if room.match.status != "playing":
            break
    assert not [m for p in peers for m in p.seen if m.get("t") == "err"]


async def test_refused_for_a_seat_not_to_act_a_spectator_and_after_the_end(
    server: LiveServer,
) -> None:
    room, a, b = await two_players(server)
    await b.send({"t": "moves", "id": 1})
    assert (await b.until(of_type("err")))["code"] == "not_your_turn"
    token, _ = await server.services.sessions.create("Cy")
    spectator = await open_peer(server.ws, room.id, token)
    await spectator.send({"t": "moves", "id": 2})
    assert (await spectator.until(of_type("err")))["code"] == "not_seated"
    await a.send({"t": "resign"})
    await a.until(lambda m: m.get("st") == "finished")
    await a.send({"t": "moves", "id": 3})
    assert (await a.until(of_type("err")))["code"] == "game_over"
    waiting = await server.services.rooms.create("tictactoe")
    token, session = await server.services.sessions.create("Di")
    waiting.reserve(session.player_id, "Di")
    early = await open_peer(server.ws, waiting.id, token)
    await early.send({"t": "moves", "id": 4})
    assert (await early.until(of_type("err")))["code"] == "not_playing"


class Pick(MoveModel):
    n: int = Field(ge=0)
    label: str


class Many(Game[int, Pick, Options]):
    """A game with far too many (and too large) moves to send: the answer is cut."""

    name = "many"
    title = "Many"
    min_seats = max_seats = 2
    move = Pick
    hidden_information = False

    def setup(self, seats: int, options: Options, rng: random.Random) -> int:
        return 0

    def to_act(self, state: int) -> tuple[int, ...]:
        return () if state else (0,)

    def legal_moves(self, state: int, seat: int) -> list[Pick]:
        return [Pick(n=i, label="x" * 200) for i in range(5000)] if seat == 0 and not state else []

    def apply(self, state: int, seat: int, move: Pick, rng: random.Random) -> int | Rejection:
        return 1

    def outcome(self, state: int) -> Outcome | None:
        return win(0, 2, "picked") if state else None

    def view(self, state: int, seat: int | None) -> View:
        return {"x": state}

    def forfeit(self, state: int, seat: int, reason: str) -> int:
        return 1

    def max_moves(self, seats: int, options: Options) -> int:
        return 1


async def test_a_long_list_is_cut_to_the_limits() -> None:
    async with live_server(games=[Many]) as srv:
        room = await srv.services.rooms.create("many")
        peers = []
        for name in ("Ada", "Bo"):
            token, session = await srv.services.sessions.create(name)
            room.reserve(session.player_id, name)
            peers.append(await open_peer(srv.ws, room.id, token))
        await peers[0].until(lambda m: m["t"] == "snap" and m["st"] == "playing")
        await peers[0].send({"t": "moves", "id": 1})
        message = await peers[0].until(of_type("moves"))
        assert len(encode(message)) <= MAX_FRAME  # the server's bytes: the same map
        assert message["more"] is True and 0 < len(message["m"]) <= MAX_LEGAL_MOVES
        assert message["m"][0] == {"n": 0, "label": "x" * 200}


async def test_the_published_protocol_has_the_moves_message(server: LiveServer) -> None:
    async with httpx.AsyncClient() as http:
        schema = (await http.get(f"{server.http}/api/protocol.json")).json()
    both = json.dumps(schema["client_to_server"]), json.dumps(schema["server_to_client"])
    assert all('"moves"' in side for side in both)
    assert "LegalMovesMsg" in both[0] and "MovesOut" in both[1]
    assert schema["limits"]["max_legal_moves"] == MAX_LEGAL_MOVES
