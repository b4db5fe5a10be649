"""Correspondence rooms and "my games": days per move, no grace forfeit, many at once,
whose turn it is, and rooms that outlive a restart (with Redis, through the journal)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from meeple.game.clock import DAY_MS
from meeple.lobby.settings import Settings
from tests.conftest import REDIS_URL, acked, of_type, open_peer
from tests.servers import LiveServer, ServerProcess, live_server
from tests.test_clocks import FakeClock, fake_clock, refused_or_acked
from tests.test_cluster import reconnect, session, started

__all__ = ["fake_clock"]  # the fixture, used here by name


@pytest.fixture
async def srv() -> AsyncIterator[LiveServer]:
    async with live_server(Settings(grace_seconds=0.2)) as server:
        yield server


async def two_player_room(
    http: httpx.AsyncClient, base: str, auth_a: dict[str, str], auth_b: dict[str, str], **body: Any
) -> str:
    r = await http.post(f"{base}/api/rooms", json={"game": "tictactoe", **body}, headers=auth_a)
    assert r.status_code == 201, r.text
    room_id: str = r.json()["id"]
    r = await http.post(f"{base}/api/rooms/{room_id}/seats", json={}, headers=auth_b)
    assert r.status_code == 200, r.text
    return room_id


async def my_games(http: httpx.AsyncClient, base: str, auth: dict[str, str]) -> list[Any]:
    r = await http.get(f"{base}/api/me/games", headers=auth)
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


async def test_a_correspondence_room_keeps_an_absent_player_seated(
    srv: LiveServer, fake_clock: FakeClock
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        token_a, auth_a = await session(http, srv.http, "Ada")
        token_b, auth_b = await session(http, srv.http, "Bo")
        room_id = await two_player_room(http, srv.http, auth_a, auth_b, clock={"days": 3})
        listed = (await http.get(f"{srv.http}/api/rooms", headers=auth_a)).json()["items"]
        assert [r["clock"] for r in listed if r["id"] == room_id] == [{"days": 3}]
        a = await open_peer(srv.ws, room_id, token_a)
        b = await open_peer(srv.ws, room_id, token_b)
        snap = await started(a)
        assert snap["k"] == {"ms": [3 * DAY_MS, 3 * DAY_MS], "run": [0]}
        await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
        await a.until(acked(1))
        await a.ws.close()
        await b.ws.close()
        await asyncio.sleep(0.6)  # three grace periods: a live room would be forfeited
        room = srv.services.rooms.get(room_id)
        assert room is not None and room.match.status == "playing"
        theirs = await my_games(http, srv.http, auth_b)
        assert [(g["room"]["id"], g["your_turn"], g["correspondence"]) for g in theirs] == [
            (room_id, True, True)
        ]
        assert theirs[0]["deadline"] is not None and theirs[0]["seat"] == 1
        mine = await my_games(http, srv.http, auth_a)
        assert [(g["room"]["id"], g["your_turn"]) for g in mine] == [(room_id, False)]
        # Days later, within the three: b comes back and moves.
        fake_clock.now += 2 * DAY_MS
        b = await open_peer(srv.ws, room_id, token_b, since=2, game=0)
        await b.send({"t": "move", "id": 2, "m": {"cell": 0}})
        d = await b.until(acked(2))
        assert d["k"]["ms"][1] == 3 * DAY_MS and d["k"]["run"] == [0]
        # a does not come back in time: three days and it is over.
        fake_clock.now += 3 * DAY_MS
        await b.send({"t": "move", "id": 3, "m": {"cell": 1}})  # not b's turn; a's clock ran out
        await b.until(refused_or_acked(3))
        end = await b.saw(of_type("d", st="finished"))
        assert end["r"]["winners"] == [1] and end["r"]["reason"] == "timeout"


async def test_many_games_at_once_yours_to_move_first(
    srv: LiveServer, fake_clock: FakeClock
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        token_a, auth_a = await session(http, srv.http, "Ada")
        token_b, auth_b = await session(http, srv.http, "Bo")
        rooms = []
        for days in (7, 1, 3):
            rooms.append(
                await two_player_room(http, srv.http, auth_a, auth_b, clock={"days": days})
            )
        live = await two_player_room(http, srv.http, auth_b, auth_a)  # a in seat 1
        waiting = (
            await http.post(f"{srv.http}/api/rooms", json={"game": "chess"}, headers=auth_a)
        ).json()["id"]
        peers = []
        for room_id in [*rooms, live]:
            pair = [await open_peer(srv.ws, room_id, token) for token in (token_a, token_b)]
            for peer in pair:
                await started(peer)
            peers.extend(pair)
        mine = await my_games(http, srv.http, auth_a)
        order = [(g["room"]["id"], g["your_turn"]) for g in mine]
        # a moves first in the three correspondence rooms (seat 0): soonest deadline first;
        # then the live room (b's turn), then the waiting one.
        assert order == [
            (rooms[1], True),
            (rooms[2], True),
            (rooms[0], True),
            (live, False),
            (waiting, False),
        ]
        theirs = await my_games(http, srv.http, auth_b)
        assert [g["room"]["id"] for g in theirs][:1] == [live]
        assert {g["room"]["id"] for g in theirs} == {*rooms, live}
        for peer in peers:
            await peer.ws.close()


@pytest.mark.redis
async def test_a_correspondence_room_outlives_a_restart(redis_prefix: str) -> None:
    """Nobody connected, the only server restarts: the room is taken from the journal,
    its deadline as before, and "my games" on the new process shows whose turn it is."""
    env = {
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        "MEEPLE_LEASE_SECONDS": "2",
        "MEEPLE_GRACE_SECONDS": "0.2",
    }
    first = ServerProcess(env)
    await first.start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            token_a, auth_a = await session(http, first.http, "Ada")
            token_b, auth_b = await session(http, first.http, "Bo")
            room_id = await two_player_room(http, first.http, auth_a, auth_b, clock={"days": 5})
            a = await open_peer(first.ws, room_id, token_a)
            b = await open_peer(first.ws, room_id, token_b)
            await started(a)
            await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
            moved = await a.until(acked(1))
            await a.ws.close()
            await b.ws.close()
            before = (await my_games(http, first.http, auth_b))[0]
            assert before["your_turn"] and before["room"]["status"] == "playing"
            first.stop()
            second = ServerProcess(env, port=first.port)
            await second.start()
            try:
                b2 = await reconnect(second, room_id, token_b, since=2)
                await b2.send({"t": "sync", "id": 2})
                snap = await b2.until(of_type("snap"))
                assert snap["dl"] == moved["dl"]  # the same deadline: not restarted
                assert snap["k"]["run"] == [1] and snap["st"] == "playing"
                await b2.ws.close()
                after = await my_games(http, second.http, auth_b)
                assert [(g["room"]["id"], g["your_turn"]) for g in after] == [(room_id, True)]
                assert after[0]["deadline"] == before["deadline"]
            finally:
                second.stop()
    finally:
        first.stop()
