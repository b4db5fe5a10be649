"""Private rooms stay private (issue 16, item 13): invite codes cannot be guessed at speed
(429, or 1008 on the WebSocket), and a private room's finished games are readable only
by its players, its creator and those with its code."""

from __future__ import annotations

import asyncio

import httpx

from meeple.client.rest import MeepleClient
from tests.conftest import Peer
from tests.servers import LiveServer


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
        for _ in range(50):  # the record is written just after the game ends
            if await server.services.records.get(record_id):
                break
            await asyncio.sleep(0.05)
        assert [g["id"] for g in (await bo.player_games(a["player_id"]))["items"]] == [record_id]
        assert (await ada.record(record_id))["id"] == record_id
        assert (await eve.player_games(a["player_id"]))["items"] == []
        async with httpx.AsyncClient(base_url=server.http) as client:
            auth = {"Authorization": f"Bearer {eve.token}"}
            hidden = await client.get(f"/api/records/{record_id}", headers=auth)
            assert hidden.status_code == 404 and hidden.json()["code"] == "no_such_record"
            shown = await client.get(
                f"/api/records/{record_id}", params={"invite": room["invite"]}, headers=auth
            )
            assert shown.status_code == 200 and "invite" not in shown.json()
