"""Dropping and coming back: resume with ``since``, replaced connections, heartbeats,
the grace period and its policies, and turn timers, against a real uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from meeple.lobby.rooms.room import Room
from tests.conftest import MakeSettings, Peer, acked, of_type, open_peer
from tests.servers import LiveServer, live_server, until

pytestmark = pytest.mark.both_stores
"""Every test here runs twice: in-memory stores, and Redis (sessions, rooms, journal)."""


async def seat_players(
    srv: LiveServer, game: str = "tictactoe", n: int = 2, **create: object
) -> tuple[Room, list[str], list[Peer]]:
    room = await srv.services.rooms.create(game, seats=n, **create)  # type: ignore[arg-type]
    tokens, peers = [], []
    for i in range(n):
        token, session = await srv.services.sessions.create(f"P{i}")
        room.reserve(session.player_id, f"P{i}")
        tokens.append(token)
        peers.append(await open_peer(srv.ws, room.id, token))
    for peer in peers:
        await peer.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
    return room, tokens, peers


async def test_resume_gets_exactly_the_missed_deltas(stores: MakeSettings) -> None:
    async with live_server(stores()) as server:
        room, tokens, (a, b) = await seat_players(server)
        await a.send({"t": "move", "id": 1, "m": {"cell": 0}})
        await b.until(of_type("d", s=2))
        await b.send({"t": "move", "id": 2, "m": {"cell": 4}})
        await b.ws.close()  # gone before reading the delta of its own move
        await a.until(of_type("d", s=3))
        await a.send({"t": "move", "id": 3, "m": {"cell": 8}})
        await a.until(acked(3))
        back = await open_peer(server.ws, room.id, tokens[1], since=2, game=0)
        first = await back.until(lambda m: m["t"] in ("d", "snap"))
        second = await back.until(lambda m: m["t"] in ("d", "snap"))
        assert (first["t"], first["s"], second["t"], second["s"]) == ("d", 3, "d", 4)
        assert second["o"] == [[["b", 8], 0]]
        assert [m for m in await back.drain() if m["t"] in ("d", "snap")] == []
        await back.send({"t": "move", "id": 4, "m": {"cell": 1}})
        assert (await back.until(acked()))["s"] == 5
        assert [e["s"] for e in room.match.log] == [2, 3, 4, 5]


async def test_resume_too_far_behind_gets_a_snapshot(stores: MakeSettings) -> None:
    async with live_server(stores(backlog=2)) as srv:
        room, tokens, (a, b) = await seat_players(srv)
        await b.ws.close()
        await a.send({"t": "move", "id": 1, "m": {"cell": 0}})
        await a.until(acked())
        back = await open_peer(srv.ws, room.id, tokens[1], since=1, game=0)
        assert (await back.until(lambda m: m["t"] in ("d", "snap")))["t"] == "d"
        for cell in (3, 1):
            peer = back if cell == 3 else a
            await peer.send({"t": "move", "id": cell, "m": {"cell": cell}})
            await peer.until(acked())
        await back.ws.close()
        await a.send({"t": "move", "id": 7, "m": {"cell": 7}})  # a is not to move: refused
        await a.until(of_type("err"))
        late = await open_peer(srv.ws, room.id, tokens[1], since=1, game=0)
        snap = await late.until(lambda m: m["t"] in ("d", "snap"))
        assert snap["t"] == "snap" and snap["s"] == room.match.seq


async def test_resume_into_a_newer_game_or_without_one_gets_a_snapshot(
    stores: MakeSettings,
) -> None:
    async with live_server(stores()) as srv:
        room, tokens, (a, b) = await seat_players(srv)
        for seat, cell in ((0, 0), (1, 3), (0, 1), (1, 4), (0, 2)):  # seat 0 wins
            peer = a if seat == 0 else b
            await peer.send({"t": "move", "id": cell, "m": {"cell": cell}})
            await peer.until(acked(cell))
        last = room.match.seq
        await b.ws.close()
        await a.send({"t": "rematch", "id": 10})
        back = await open_peer(srv.ws, room.id, tokens[1], since=last, game=0)
        await back.send({"t": "rematch", "id": 11})
        fresh = await back.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
        assert (fresh["n"], fresh["s"]) == (1, 1) == (room.match.game_no, room.match.seq)
        # The same numbers, but no game named: a snapshot, never another game's deltas.
        # The rematch moved everyone one seat on: Bo is seat 0 and opens game 1.
        assert fresh["seat"] == 0
        await back.send({"t": "move", "id": 12, "m": {"cell": 4}})
        await back.until(acked(12))
        again = await open_peer(srv.ws, room.id, tokens[1], since=1)
        assert (await again.until(lambda m: m["t"] in ("d", "snap")))["t"] == "snap"
        resumed = await open_peer(srv.ws, room.id, tokens[1], since=1, game=1)
        delta = await resumed.until(lambda m: m["t"] in ("d", "snap"))
        assert (delta["t"], delta["s"]) == ("d", 2)


async def test_a_second_connection_replaces_the_first(stores: MakeSettings) -> None:
    async with live_server(stores()) as server:
        room, tokens, (a, b) = await seat_players(server)
        again = await open_peer(server.ws, room.id, tokens[0])
        snap = await again.until(of_type("snap"))
        assert snap["seat"] == 0
        code, reason = await a.closed()
        assert code == 4409 and reason and "replaced" in reason
        await again.send({"t": "move", "id": 1, "m": {"cell": 4}})
        assert (await again.until(acked()))["s"] == 2
        # The room tells b in order: whatever it said of the replacement came before this.
        await b.until(of_type("d", s=2))
        presence = [m for m in b.seen if m["t"] == "room"]
        assert presence and presence[-1]["seats"][0]["on"] is True


async def test_a_silent_connection_is_dropped_by_heartbeat_and_resumes(
    stores: MakeSettings,
) -> None:
    # A second to answer a ping: a's client shares this process's loop with the server,
    # and on a loaded machine a turn of it can outlast a short timeout.
    settings = stores(ping_interval=0.3, ping_timeout=1.0, grace_seconds=30)
    async with live_server(settings) as srv:
        room, tokens, (a, b) = await seat_players(srv)
        b.ws.transport.pause_reading()  # TCP stays open, but b answers nothing any more
        gone = await a.until(lambda m: m["t"] == "room" and not m["seats"][1]["on"], timeout=30)
        assert gone["seats"][0]["on"] is True
        assert room.match.seats[1].player_id is not None  # the seat is kept
        await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
        await a.until(acked())
        back = await open_peer(srv.ws, room.id, tokens[1], since=1, game=0)
        missed = await back.until(of_type("d"))
        assert missed["s"] == 2 and missed["a"] == [1]
        back_on = await a.until(lambda m: m["t"] == "room" and m["seats"][1]["on"])
        assert back_on["seats"][1]["on"]
        await back.send({"t": "move", "id": 2, "m": {"cell": 0}})
        assert (await back.until(acked()))["s"] == 3


async def test_after_the_grace_period_the_seat_forfeits(stores: MakeSettings) -> None:
    async with live_server(stores(grace_seconds=0.3)) as srv:
        room, _, (a, b) = await seat_players(srv)
        await b.ws.close()
        end = await a.until(lambda m: m["t"] == "d" and m.get("st") == "finished", timeout=30)
        assert end["r"]["winners"] == [0] and end["r"]["reason"] == "abandoned"
        assert room.match.log[-1]["k"] == "forfeit"


def answered(msg_id: int) -> Callable[[dict[str, Any]], bool]:
    """The answer to our message ``msg_id``: its acknowledgement, or any error."""
    return lambda m: acked(msg_id)(m) or m["t"] == "err"


async def test_skip_policy_applies_the_timeout_rule_on_each_turn(stores: MakeSettings) -> None:
    async with live_server(stores(grace_seconds=0.2)) as srv:
        room, _, peers = await seat_players(srv, "liarsdice", 3, abandon="skip")
        await peers[2].ws.close()

        def skipped() -> bool:
            return any(e["k"] == "timeout" and e["seat"] == 2 for e in room.match.log)

        # Play on, each move waited for: when seat 2 is to act (its grace run out), the
        # server applies the timeout rule for it.
        for msg_id in range(1, 31):
            if skipped() or room.match.status != "playing":
                break
            seat = room.match.to_act[0]
            if seat == 2:
                before = room.match.seq

                def applied(before: int = before) -> bool:
                    return room.match.seq != before

                await until(applied, what="seat 2's turn applied")
                continue
            move = room.match.legal_moves(seat)[0]
            payload = room.match.game.move_adapter().dump_python(move, mode="json")
            await peers[seat].send({"t": "move", "id": msg_id, "m": payload})
            answer = await peers[seat].until(answered(msg_id), 10)
            assert answer["t"] != "err", answer
        assert skipped()


async def test_turn_timer_fires_and_the_deadline_is_in_the_view(stores: MakeSettings) -> None:
    async with live_server(stores()) as srv:
        room = await srv.services.rooms.create("tictactoe", options={"turn_seconds": 1.5})
        peers = []
        for name in ("A", "B"):
            token, session = await srv.services.sessions.create(name)
            room.reserve(session.player_id, name)
            peers.append(await open_peer(srv.ws, room.id, token))
        a = peers[0]
        snap = await a.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
        assert isinstance(snap["dl"], int) and snap["dl"] > 0
        await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
        delta = await a.until(of_type("d"))
        assert delta["dl"] >= snap["dl"]
        end = await a.until(lambda m: m["t"] == "d" and m.get("st") == "finished", timeout=30)
        assert end["r"]["winners"] == [0] and end["r"]["reason"] == "timeout"
        last = dict(room.match.log[-1])
        clock = last.pop("c")  # the clocks after the change, for the journal
        assert last == {"s": 3, "seat": 1, "k": "timeout", "m": None}
        assert clock["ms"][1] == 0 and clock["run"] == []
        assert end["k"] == {"ms": clock["ms"], "run": []}
