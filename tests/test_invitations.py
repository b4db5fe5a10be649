"""Invitations, end to end on two processes sharing Redis (and one SQLite file for the
accounts): a player invites another by username or player id on one process; the
invitee, whose event stream is open on the other, hears ``invited``, finds the
invitation (with a private room's code) and takes the seat. Nothing tells who exists;
only members invite; it is rate limited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from meeple.lobby.settings import Settings
from tests.conftest import REDIS_URL
from tests.servers import LiveServer, ServerProcess, live_server
from tests.test_cluster import session
from tests.test_correspondence_durable import account
from tests.test_player_events import STREAM, event


@pytest.fixture
async def pair(redis_prefix: str, tmp_path: Path) -> AsyncIterator[list[ServerProcess]]:
    env = {
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}",
    }
    procs = [ServerProcess(env), ServerProcess(env)]
    try:
        for proc in procs:  # one after the other: the first migrates the file
            await proc.start(timeout=60)  # a loaded machine imports slowly
        yield procs
    finally:
        for proc in procs:
            proc.stop()


async def invite(
    http: httpx.AsyncClient, base: str, room_id: str, auth: dict[str, str], **who: str
) -> httpx.Response:
    return await http.post(f"{base}/api/rooms/{room_id}/invitations", json=who, headers=auth)


@pytest.mark.redis
async def test_an_invitation_crosses_processes_and_seats_the_invitee(
    pair: list[ServerProcess],
) -> None:
    one, two = pair
    async with httpx.AsyncClient(timeout=STREAM) as http:
        _, auth_a = await account(http, one.http, "ada")
        _, auth_b = await account(http, two.http, "bob")
        bo = (await http.get(f"{two.http}/api/session", headers=auth_b)).json()["player_id"]
        _, auth_c = await session(http, two.http, "Cy")
        r = await http.post(
            f"{one.http}/api/rooms", json={"game": "tictactoe", "private": True}, headers=auth_a
        )
        assert r.status_code == 201, r.text
        room_id = r.json()["id"]
        async with http.stream("GET", f"{two.http}/api/me/events", headers=auth_b) as events:
            lines = events.aiter_lines()
            async for line in lines:  # open on two before the invitation on one
                if line == ": connected":
                    break
            sent = await invite(http, one.http, room_id, auth_a, username="BOB")  # any case
            assert sent.status_code == 202, sent.text
            heard = await event(lines, "invited")
            ada = heard["from"]["player_id"]
            assert heard == {
                "room": room_id,
                "game": "tictactoe",
                "from": {"player_id": ada, "name": "ada"},
                "private": True,
                "ws": f"/ws/rooms/{room_id}",
            }
            assert "invite" not in heard  # the code is for GET /api/me/invitations

        listed = (await http.get(f"{two.http}/api/me/invitations", headers=auth_b)).json()
        [item] = listed["items"]
        assert item["room"]["id"] == room_id and item["invited_by"] == heard["from"]
        code = item["room"]["invite"]
        assert code  # the private room's code, for the invitee
        r = await http.get(f"{two.http}/api/me/invitations", headers=auth_c)
        assert r.json() == {"items": []}  # another player sees none of it
        r = await http.post(
            f"{two.http}/api/rooms/{room_id}/seats", json={"invite": code}, headers=auth_b
        )
        assert r.status_code == 200, r.text
        listed = (await http.get(f"{two.http}/api/me/invitations", headers=auth_b)).json()
        assert listed == {"items": []}  # the room takes no one else now

        # Full now: nobody more is invited; and Bo is seated, so no one invites him again.
        r = await invite(http, one.http, room_id, auth_a, player_id=bo)
        assert r.status_code == 409 and r.json()["code"] == "room_full"


@pytest.fixture
async def srv() -> AsyncIterator[LiveServer]:
    async with live_server(Settings()) as server:
        yield server


async def test_invitations_tell_nobody_who_exists(srv: LiveServer) -> None:
    """In memory, one process (the same answers on any)."""
    one = two = srv
    async with httpx.AsyncClient(timeout=10) as http:
        _, auth_a = await account(http, one.http, "ada")
        _, auth_b = await account(http, two.http, "bob")
        _, auth_c = await session(http, two.http, "Cy")
        r = await http.post(f"{one.http}/api/rooms", json={"game": "tictactoe"}, headers=auth_a)
        room_id = r.json()["id"]
        answers: list[dict[str, Any]] = []
        for who in (
            {"username": "bob"},
            {"username": "nobody-of-that-name"},
            {"player_id": "p_0123456789abcdef"},
        ):
            r = await invite(http, one.http, room_id, auth_a, **who)
            assert r.status_code == 202, r.text
            answers.append(r.json())
        assert {tuple(sorted(a)) for a in answers} == {("expires_at", "room")}
        assert {a["room"] for a in answers} == {room_id}

        r = await invite(http, two.http, room_id, auth_c, username="bob")
        assert r.status_code == 403 and r.json()["code"] == "not_a_member"
        r = await invite(http, one.http, room_id, auth_a, username="ada")
        assert r.status_code == 409 and r.json()["code"] == "invite_yourself"
        for bad in ({}, {"username": "bob", "player_id": "p_0123456789abcdef"}, {"player_id": "x"}):
            r = await http.post(
                f"{one.http}/api/rooms/{room_id}/invitations", json=bad, headers=auth_a
            )
            assert r.status_code == 422, (bad, r.text)
        r = await invite(http, one.http, "r_0000000000000000", auth_a, username="bob")
        assert r.status_code == 404

        statuses = [
            (await invite(http, one.http, room_id, auth_a, player_id=f"p_{i:016x}")).status_code
            for i in range(25)
        ]
        assert 429 in statuses and statuses.count(202) <= 20, statuses
        listed = (await http.get(f"{two.http}/api/me/invitations", headers=auth_b)).json()
        assert [i["room"]["id"] for i in listed["items"]] == [room_id]
        assert listed["items"][0]["room"]["invite"] is None  # a public room has no code
        r = await http.delete(f"{two.http}/api/me/invitations/{room_id}", headers=auth_b)
        assert r.status_code == 204
        assert (await http.get(f"{two.http}/api/me/invitations", headers=auth_b)).json() == {
            "items": []
        }


async def test_an_invitation_taken_up_is_forgotten(srv: LiveServer) -> None:
    """Once the invitee sits in the room, the invitation is gone from their list, though
    the room still has a free seat for somebody else."""
    async with httpx.AsyncClient(timeout=10) as http:
        _, auth_a = await account(http, srv.http, "ada")
        _, auth_b = await account(http, srv.http, "bob")
        r = await http.post(
            f"{srv.http}/api/rooms", json={"game": "liarsdice", "seats": 3}, headers=auth_a
        )
        assert r.status_code == 201, r.text
        room_id = r.json()["id"]
        assert (await invite(http, srv.http, room_id, auth_a, username="bob")).status_code == 202
        listed = (await http.get(f"{srv.http}/api/me/invitations", headers=auth_b)).json()
        assert [item["room"]["id"] for item in listed["items"]] == [room_id]
        r = await http.post(f"{srv.http}/api/rooms/{room_id}/seats", json={}, headers=auth_b)
        assert r.status_code == 200, r.text
        assert r.json()["room"] == room_id
        room = (await http.get(f"{srv.http}/api/rooms/{room_id}", headers=auth_b)).json()
        assert room["free"] == 1  # still open to somebody else
        listed = (await http.get(f"{srv.http}/api/me/invitations", headers=auth_b)).json()
        assert listed == {"items": []}
