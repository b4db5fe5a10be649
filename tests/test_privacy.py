"""Private rooms stay private (issue 16, item 13): invite codes cannot be guessed at speed
(429, or 1008 on the WebSocket), and a private room's finished games are readable only
by its players, its creator and those with its code. Looking a code up (issue 20, item
11: the signed-out invitee is told which room) shows no more than joining would, answers
an unknown code and an expired one alike, and is limited per address like every try."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from meeple.client.errors import ApiError
from meeple.client.rest import MeepleClient
from meeple.lobby.settings import Settings
from tests.conftest import Peer, of_type, open_peer
from tests.servers import LiveServer, live_server, until


async def guest(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    made = await client.post("/api/sessions", json={"name": name})
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def test_guessing_invite_codes_is_rate_limited(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        eve = await guest(client, "Eve")
        answers = [
            (await client.post(f"/api/invites/guess{i}", json={}, headers=eve)).status_code
            for i in range(12)
        ]
        assert answers[:10] == [404] * 10 and answers[10:] == [429, 429]
        limited = await client.post("/api/invites/guess", json={}, headers=eve)
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        # Another player from the same address is limited too (per address as well).
        mallory = await guest(client, "Mallory")
        room = (
            await client.post(
                "/api/rooms", json={"game": "tictactoe", "private": True}, headers=mallory
            )
        ).json()
        watch = await client.post(
            f"/api/rooms/{room['id']}/watch", json={"invite": "nope"}, headers=mallory
        )
        assert watch.status_code == 200  # the creator needs no code: no attempt counted
        ivan = await guest(client, "Ivan")
        tried = await client.post(
            f"/api/rooms/{room['id']}/watch", json={"invite": "nope"}, headers=ivan
        )
        assert tried.status_code == 429


async def test_guessing_invite_codes_on_the_websocket_is_closed_1008(server: LiveServer) -> None:
    from websockets.asyncio.client import connect

    room = await server.services.rooms.create("tictactoe", private=True)
    token, _ = await server.services.sessions.create("Eve")
    codes = []
    for i in range(11):
        ws = await connect(
            f"{server.ws}/ws/rooms/{room.id}?invite=guess{i}",
            subprotocols=["meeple.v1", f"token.{token}"],  # type: ignore[list-item]
        )
        codes.append((await Peer(ws).closed())[0])
    assert codes[:10] == [4403] * 10 and codes[10] == 1008


async def test_a_private_rooms_games_are_for_its_members(server: LiveServer) -> None:
    async with (
        MeepleClient(server.http) as ada,
        MeepleClient(server.http) as bo,
        MeepleClient(server.http) as eve,
    ):
        a = await ada.create_session("Ada")
        await bo.create_session("Bo")
        await eve.create_session("Eve")
        room = await ada.create_room("tictactoe", private=True)
        await bo.join_invite(room["invite"])
        async with ada.connect(room["id"]) as ca, bo.connect(room["id"]) as cb:
            await ca.wait_for(lambda c: c.my_turn, timeout=10)
            await cb.wait_for(lambda c: c.status == "playing", timeout=10)
            cb.resign()
            await ca.wait_for(lambda c: c.finished, timeout=10)
        record_id = f"{room['id']}-0"
        # the record is written just after the game ends
        await until(lambda: server.services.records.get(record_id), what="the game's record")
        assert [g["id"] for g in (await bo.player_games(a["player_id"]))["items"]] == [record_id]
        assert (await ada.record(record_id))["id"] == record_id
        assert (await eve.player_games(a["player_id"]))["items"] == []
        with pytest.raises(ApiError) as hidden:
            await eve.record(record_id)
        assert (hidden.value.status, hidden.value.code) == (404, "no_such_record")
        shown = await eve.record(record_id, invite=room["invite"])  # the code opens it
        assert shown["id"] == record_id and "invite" not in shown


@pytest.mark.both_stores
async def test_an_invite_lookup_names_the_room_and_nothing_more(
    stores: Callable[..., Settings],
) -> None:
    async with (
        live_server(stores(finished_room_ttl=0.2)) as server,
        httpx.AsyncClient(base_url=server.http) as client,
    ):
        ada = await guest(client, "Ada")
        made = await client.post(
            "/api/rooms",
            json={"game": "chess", "private": True, "clock": {"bank": 300, "inc": 3}},
            headers=ada,
        )
        room = made.json()
        code = room["invite"]
        # 128 random bits: 16 bytes of URL-safe base64, nothing to guess.
        assert len(base64.urlsafe_b64decode(code + "==")) == 16

        # Signed out (no Authorization at all): what the room is, who invited, the seats.
        found = await client.get(f"/api/invites/{code}")
        assert found.status_code == 200, found.text
        assert found.json() == {
            "game": "chess",
            "title": "Chess",
            "host": "Ada",
            "status": "waiting",
            "seat_count": 2,
            "free": 1,
            "players": [{"name": "Ada", "bot": False}],
            "clock": {"bank": 300.0, "inc": 3.0},
        }
        assert found.headers["Cache-Control"] == "no-store"
        assert room["id"] not in found.text and "player_id" not in found.text
        # Signed in, the same answer.
        assert (await client.get(f"/api/invites/{code}", headers=ada)).json() == found.json()

        # A code nobody made, and this room's code once the room has closed: one 404.
        unknown = await client.get("/api/invites/" + "A" * 22)
        long = await client.get("/api/invites/" + "A" * 500)
        peer = await open_peer(server.ws, room["id"], ada["Authorization"].split()[1])
        await peer.until(of_type("snap"))
        await peer.ws.close()  # nobody in a room that is not playing: it closes after 0.2 s

        async def gone() -> bool:
            return await server.services.directory.room_for_invite(code) is None

        await until(gone, what="the closed room's invite going")
        expired = await client.get(f"/api/invites/{code}")
        for answer in (unknown, long, expired):
            assert answer.status_code == 404
            assert answer.json() == unknown.json()
        assert unknown.json()["code"] == "unknown_invite"
        joined = await client.post(f"/api/invites/{code}", json={}, headers=ada)
        assert joined.status_code == 404 and joined.json() == unknown.json()


async def test_looking_up_invite_codes_is_rate_limited_per_address(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        answers = [(await client.get(f"/api/invites/guess{i}")).status_code for i in range(12)]
        assert answers[:10] == [404] * 10 and answers[10:] == [429, 429]
        limited = await client.get("/api/invites/guess")
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        # One budget for every try from this address: joining is limited now too, and a
        # real code answers 429 like a guess (the limit tells nothing about codes).
        eve = await guest(client, "Eve")
        assert (await client.post("/api/invites/guess", json={}, headers=eve)).status_code == 429
        room = await server.services.rooms.create("tictactoe", private=True)
        assert room.invite is not None
        assert (await client.get(f"/api/invites/{room.invite}")).status_code == 429


async def test_the_sdk_looks_an_invite_up_signed_out_then_joins_with_it(
    server: LiveServer,
) -> None:
    """What a Python player sent an invite code does: see where it leads before having
    a session, then take the seat; a code that leads nowhere is the API's 404."""
    async with MeepleClient(server.http) as ada, MeepleClient(server.http) as bo:
        await ada.create_session("Ada")
        room = await ada.create_room("tictactoe", private=True, clock={"move": 30})
        code = room["invite"]
        preview = await bo.look_up_invite(code)  # bo has no session yet
        assert bo.token is None
        assert preview == {
            "game": "tictactoe",
            "title": "Tic-tac-toe",
            "host": "Ada",
            "status": "waiting",
            "seat_count": 2,
            "free": 1,
            "players": [{"name": "Ada", "bot": False}],
            "clock": {"move": 30.0},
        }
        with pytest.raises(ApiError) as unknown:
            await bo.look_up_invite("A" * 22)
        assert (unknown.value.status, unknown.value.code) == (404, "unknown_invite")
        await bo.create_session("Bo")
        seat = await bo.join_invite(code)
        assert seat["room"] == room["id"]
        assert (await bo.look_up_invite(code))["free"] == 0
