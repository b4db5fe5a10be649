"""The per-player event stream (``GET /api/me/events``): your turn in a room you are away
from, the end of a game, quick-match results; across processes too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from meeple.lobby.settings import Settings
from tests.conftest import acked
from tests.servers import LiveServer, ServerProcess, live_server
from tests.test_cluster import cluster, next_event, playing, session
from tests.test_correspondence import two_player_room

__all__ = ["cluster"]  # the fixture, used here by name

STREAM = httpx.Timeout(10, read=20)


@pytest.fixture
async def srv() -> AsyncIterator[LiveServer]:
    async with live_server(Settings()) as server:
        yield server


async def event(lines: Any, name: str) -> dict[str, Any]:
    return await asyncio.wait_for(next_event(lines, name), 15)


async def test_your_turn_and_game_over_reach_a_player_away_from_the_room(
    srv: LiveServer,
) -> None:
    async with httpx.AsyncClient(timeout=STREAM) as http:
        token_a, auth_a = await session(http, srv.http, "Ada")
        token_b, auth_b = await session(http, srv.http, "Bo")
        room_id = await two_player_room(http, srv.http, auth_a, auth_b, clock={"days": 1})
        a, b = await playing(room_id, [(srv.ws, token_a), (srv.ws, token_b)])
        await b.ws.close()  # Bo goes away; correspondence keeps his seat
        ticket = (await http.post(f"{srv.http}/api/session/ticket", headers=auth_b)).json()
        url = f"{srv.http}/api/me/events?ticket={ticket['ticket']}"  # as EventSource does
        async with http.stream("GET", url) as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            lines = events.aiter_lines()
            await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
            moved = await a.until(acked(1))
            turn = await event(lines, "your_turn")
            assert turn == {
                "room": room_id,
                "game": "tictactoe",
                "seat": 1,
                "deadline": moved["dl"],
                "correspondence": True,
            }
            await a.send({"t": "resign", "id": 2})
            over = await event(lines, "game_over")
            assert over["room"] == room_id and over["seat"] == 1
            assert over["r"]["winners"] == [1] and over["r"]["reason"] == "resigned"
        # A player in the room hears it there, not twice: Ada's stream got no your_turn.
        async with http.stream("GET", f"{srv.http}/api/me/events", headers=auth_a) as mine:
            over_a = await event(mine.aiter_lines(), "game_over")  # waited for her stream
            assert over_a["seat"] == 0
        r = await http.get(f"{srv.http}/api/me/events?token={token_b}")
        assert r.status_code == 401  # a token never goes in a URL


@pytest.mark.redis
async def test_your_turn_crosses_processes(cluster: list[ServerProcess]) -> None:
    one, two = cluster
    async with httpx.AsyncClient(timeout=STREAM) as http:
        token_a, auth_a = await session(http, one.http, "Ada")
        token_b, auth_b = await session(http, two.http, "Bo")
        room_id = await two_player_room(http, one.http, auth_a, auth_b, clock={"days": 2})
        a, b = await playing(room_id, [(one.ws, token_a), (two.ws, token_b)])
        await b.ws.close()
        async with http.stream("GET", f"{two.http}/api/me/events", headers=auth_b) as events:
            lines = events.aiter_lines()
            async for line in lines:  # the stream is open on two before the move on one
                if line == ": connected":
                    break
            await a.send({"t": "move", "id": 1, "m": {"cell": 0}})
            await a.until(acked(1))
            turn = await event(lines, "your_turn")
            assert turn["room"] == room_id and turn["seat"] == 1
