"""The REST API's contract: every endpoint's shape, and every error as a problem detail.

In-process (httpx over ASGI, with the app's lifespan running); the event stream and
real games are in test_rest_matchmaking.py and test_rest_ratings.py.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import services_of
from tests.servers import ManualClock, run_out_session, until

pytestmark = pytest.mark.both_stores
"""On the in-memory stores and on Redis: the two forms users deploy."""

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class Player:
    def __init__(self, client: httpx.AsyncClient, session: dict[str, Any]) -> None:
        self.client = client
        self.session = session
        self.id: str = session["player_id"]
        self.headers = {"Authorization": f"Bearer {session['token']}"}

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers, **kw)

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.client.post(path, headers=self.headers, json=json)

    async def delete(self, path: str) -> httpx.Response:
        return await self.client.delete(path, headers=self.headers)


async def player(client: httpx.AsyncClient, name: str = "Ada") -> Player:
    response = await client.post("/api/sessions", json={"name": name})
    assert response.status_code == 201, response.text
    return Player(client, response.json())


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    if code is not None:
        assert body["code"] == code, body
    return body


# Sessions ----------------------------------------------------------------------------


async def test_create_session(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/sessions", json={"name": "  Ada Lovelace \t"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "player_id", "name", "expires_at"}
    assert body["name"] == "Ada Lovelace"
    assert body["player_id"].startswith("p_")
    assert len(body["token"]) >= 22  # at least 128 random bits, URL-safe
    assert ISO.match(body["expires_at"])

    me = await client.get("/api/session", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["player_id"] == body["player_id"] and me.json()["name"] == "Ada Lovelace"
    assert ISO.match(me.json()["expires_at"])


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 33}, {"name": "a\x00b"}, {"name": 5},
     {"name": "Ada", "admin": True}, []],
)  # fmt: skip
async def test_bad_session_requests_are_422(client: httpx.AsyncClient, body: Any) -> None:
    problem = assert_problem(await client.post("/api/sessions", json=body), 422, "validation_error")
    assert problem["errors"] and all("loc" in e and "msg" in e for e in problem["errors"])


async def test_name_of_32_characters_is_fine(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/sessions", json={"name": " " + "é" * 32 + " "})
    assert response.status_code == 201 and response.json()["name"] == "é" * 32


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/sessions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic YWRhOmFkYQ=="}],
)
async def test_missing_token_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/session", headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/session", headers={"Authorization": "Bearer nope"})
    assert_problem(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("app_settings", [{"session_ttl_seconds": 2}], indirect=True)
async def test_expired_token_is_401(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    ada = await player(client)
    assert (await ada.get("/api/session")).status_code == 200
    await run_out_session(services_of(app), ada.session["token"], clock)
    assert_problem(await ada.get("/api/session"), 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/rooms"),
        ("POST", "/api/rooms"),
        ("GET", "/api/rooms/r_1"),
        ("POST", "/api/rooms/r_1/seats"),
        ("DELETE", "/api/rooms/r_1/seats/me"),
        ("POST", "/api/rooms/r_1/watch"),
        ("POST", "/api/invites/abc"),
        ("POST", "/api/matchmaking/tickets"),
        ("GET", "/api/matchmaking/tickets/t_1"),
        ("DELETE", "/api/matchmaking/tickets/t_1"),
        ("GET", "/api/matchmaking/events"),
        ("GET", "/api/leaderboards/tictactoe"),
        ("GET", "/api/players/p_1/games"),
        ("GET", "/api/records/r_1-0"),
    ],
)
async def test_every_call_but_the_open_ones_needs_a_session(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert_problem(response, 401, "unauthorized")


# The catalog -------------------------------------------------------------------------


async def test_catalog(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/games")
    assert response.status_code == 200
    games = {g["name"]: g for g in response.json()}
    assert {"tictactoe", "connect4", "liarsdice", "chess"} <= set(games)
    ttt = games["tictactoe"]
    assert set(ttt) == {
        "name", "title", "min_seats", "max_seats", "description", "options_schema", "move_schema",
        "board",
    }  # fmt: skip
    assert (ttt["min_seats"], ttt["max_seats"]) == (2, 2)
    assert ttt["title"] == "Tic-tac-toe"
    assert "cell" in ttt["move_schema"]["properties"]
    assert ttt["options_schema"]["type"] == "object"
    assert ttt["board"] == "/games/tictactoe/board/tictactoe.js"


async def test_board_modules_are_served_from_their_package(client: httpx.AsyncClient) -> None:
    """Every board the catalog names is an ES module the browser can import, served with a
    JavaScript type and an ETag; paths outside the board's folder are not served."""
    for game in (await client.get("/api/games")).json():
        if game["board"] is None:
            continue
        response = await client.get(game["board"])
        assert response.status_code == 200, game["name"]
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "export function createBoard" in response.text
        again = await client.get(game["board"], headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
    for path in ("../dom.js", "..%2Fdom.js", "nope.js", "", "a//b.js"):
        missing = await client.get(f"/games/tictactoe/board/{path}")
        assert missing.status_code == 404, path
    assert (await client.get("/games/go/board/go.js")).status_code == 404
    for public in ("board", "board-kit", "connection", "delta"):  # the browser's public API
        module = await client.get(f"/{public}.js")
        declared = await client.get(f"/{public}.d.ts")
        assert declared.status_code == 200 and declared.headers["content-type"].startswith(
            "text/plain"
        ), public
        assert "export" in declared.text and (public == "board" or module.status_code == 200)


# Rooms -------------------------------------------------------------------------------


ROOM_KEYS = {
    "id", "game", "status", "seat_count", "seats", "free", "spectators", "private", "options",
    "abandon", "clock", "to_act", "deadline", "seq", "game_no", "created_at", "ws",
}  # fmt: skip


async def test_create_room_seats_the_creator(client: httpx.AsyncClient) -> None:
    ada = await player(client)
    response = await ada.post("/api/rooms", {"game": "tictactoe"})
    assert response.status_code == 201, response.text
    room = response.json()
    assert set(room) == ROOM_KEYS | {"reservation"}
    assert room["status"] == "waiting" and room["seat_count"] == 2 and room["free"] == 1
    assert room["private"] is False and room["abandon"] == "forfeit"
    assert room["ws"] == f"/ws/rooms/{room['id']}"
    assert ISO.match(room["created_at"])
    assert room["seats"][0] == {
        "kind": "human",
        "player_id": ada.id,
        "name": "Ada",
        "bot": False,
        "on": False,
    }
    reservation = room["reservation"]
    assert reservation["room"] == room["id"] and reservation["seat"] == 0
    assert reservation["ws"] == room["ws"] and ISO.match(reservation["expires_at"])

    again = await ada.post(f"/api/rooms/{room['id']}/seats", {})
    assert again.status_code == 200 and again.json()["seat"] == 0  # the same seat

    detail = await ada.get(f"/api/rooms/{room['id']}")
    assert detail.status_code == 200
    assert set(detail.json()) == ROOM_KEYS and detail.json()["id"] == room["id"]


async def test_create_room_without_joining(client: httpx.AsyncClient) -> None:
    ada = await player(client)
    response = await ada.post(
        "/api/rooms",
        {
            "game": "liarsdice",
            "seats": 3,
            "options": {"dice_per_player": 3},
            "join": False,
            "abandon": "bot",
        },
    )
    assert response.status_code == 201, response.text
    room = response.json()
    assert "reservation" not in room
    assert room["seat_count"] == 3 and room["free"] == 3 and room["abandon"] == "bot"
    assert room["options"]["dice_per_player"] == 3


async def test_create_room_with_bots(client: httpx.AsyncClient) -> None:
    ada = await player(client)
    response = await ada.post("/api/rooms", {"game": "connect4", "bots": [0]})
    assert response.status_code == 201, response.text
    room = response.json()
    assert room["seats"][0]["kind"] == "bot" and room["seats"][0]["on"] is True
    assert room["reservation"]["seat"] == 1 and room["seats"][1]["player_id"] == ada.id
    assert room["free"] == 0
    assert room["seats"][0]["name"].endswith("(best)")
    easy = await ada.post("/api/rooms", {"game": "tictactoe", "bots": [1], "bot": "random"})
    assert easy.status_code == 201, easy.text
    assert easy.json()["seats"][1]["name"].endswith("(random)")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"game": "go"}, "unknown_game"),
        ({"game": "tictactoe", "seats": 3}, "bad_seats"),
        ({"game": "tictactoe", "options": {"turn_seconds": -1}}, "bad_options"),
        ({"game": "tictactoe", "options": {"colour": "red"}}, "bad_options"),
        ({"game": "tictactoe", "bots": [0, 1]}, "bad_bots"),
        ({"game": "liarsdice", "seats": 3, "bots": [1, 1]}, "bad_bots"),
        ({"game": "tictactoe", "bots": [5]}, "bad_bots"),
        ({"game": "tictactoe", "abandon": "explode"}, "validation_error"),
        ({"game": "tictactoe", "bots": [1], "bot": "genius"}, "validation_error"),
        ({"game": "tictactoe", "seats": "two"}, "validation_error"),
        ({"game": "tictactoe", "private": "maybe"}, "validation_error"),
        ({"game": "tictactoe", "surprise": 1}, "validation_error"),
        ({}, "validation_error"),
    ],
)
async def test_bad_room_requests_are_422(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    ada = await player(client)
    assert_problem(await ada.post("/api/rooms", body), 422, code)
    rooms = (await ada.get("/api/rooms")).json()
    assert rooms["items"] == []  # nothing half-made


async def test_private_room_invite_is_shown_to_members_only(client: httpx.AsyncClient) -> None:
    ada, bo, cy = (
        await player(client, "Ada"),
        await player(client, "Bo"),
        await player(client, "Cy"),
    )
    created = (await ada.post("/api/rooms", {"game": "tictactoe", "private": True})).json()
    code, room_id = created["invite"], created["id"]
    assert code and created["private"] is True
    assert (await ada.get(f"/api/rooms/{room_id}")).json()["invite"] == code
    assert "invite" not in (await bo.get(f"/api/rooms/{room_id}")).json()
    for who in (ada, bo):
        listing = (await who.get("/api/rooms")).json()
        assert listing["items"] == []  # private rooms are never listed

    assert_problem(await bo.post(f"/api/rooms/{room_id}/seats", {}), 403, "invite_required")
    assert_problem(
        await bo.post(f"/api/rooms/{room_id}/seats", {"invite": "wrong"}), 403, "bad_invite"
    )
    assert_problem(await bo.post(f"/api/rooms/{room_id}/watch", {}), 403, "invite_required")
    seat = await bo.post(f"/api/rooms/{room_id}/seats", {"invite": code})
    assert seat.status_code == 200 and seat.json()["seat"] == 1
    assert (await bo.get(f"/api/rooms/{room_id}")).json()["invite"] == code
    assert "invite" not in (await cy.get(f"/api/rooms/{room_id}")).json()

    watch = await cy.post(f"/api/rooms/{room_id}/watch", {"invite": code})
    assert watch.status_code == 200
    assert watch.json() == {"room": room_id, "ws": f"/ws/rooms/{room_id}", "invite": code}


async def test_join_by_invite(client: httpx.AsyncClient) -> None:
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    created = (await ada.post("/api/rooms", {"game": "tictactoe", "private": True})).json()
    response = await bo.post(f"/api/invites/{created['invite']}")
    assert response.status_code == 200, response.text
    assert response.json()["room"] == created["id"] and response.json()["seat"] == 1
    assert set(response.json()) == {"room", "seat", "expires_at", "ws"}
    assert_problem(await bo.post("/api/invites/not-a-code"), 404, "unknown_invite")


async def test_seats(client: httpx.AsyncClient) -> None:
    ada, bo, cy = (
        await player(client, "Ada"),
        await player(client, "Bo"),
        await player(client, "Cy"),
    )
    room_id = (await ada.post("/api/rooms", {"game": "tictactoe"})).json()["id"]
    assert_problem(await bo.post(f"/api/rooms/{room_id}/seats", {"seat": 0}), 409, "seat_taken")
    assert_problem(await bo.post(f"/api/rooms/{room_id}/seats", {"seat": 7}), 404, "no_such_seat")
    assert_problem(
        await bo.post(f"/api/rooms/{room_id}/seats", {"seat": -1}), 422, "validation_error"
    )
    taken = await bo.post(f"/api/rooms/{room_id}/seats", {"seat": 1})
    assert taken.status_code == 200
    assert set(taken.json()) == {"room", "seat", "expires_at", "ws"}
    assert_problem(await cy.post(f"/api/rooms/{room_id}/seats"), 409, "room_full")

    left = await bo.delete(f"/api/rooms/{room_id}/seats/me")
    assert left.status_code == 204 and left.content == b""
    assert_problem(await bo.delete(f"/api/rooms/{room_id}/seats/me"), 404, "not_seated")
    again = await cy.post(f"/api/rooms/{room_id}/seats")
    assert again.status_code == 200 and again.json()["seat"] == 1


async def test_unknown_room_is_404(client: httpx.AsyncClient) -> None:
    ada = await player(client)
    for response in (
        await ada.get("/api/rooms/r_nope"),
        await ada.post("/api/rooms/r_nope/seats", {}),
        await ada.post("/api/rooms/r_nope/watch", {}),
        await ada.delete("/api/rooms/r_nope/seats/me"),
    ):
        assert_problem(response, 404, "no_such_room")


async def test_watch_a_public_room(client: httpx.AsyncClient) -> None:
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    room_id = (await ada.post("/api/rooms", {"game": "tictactoe"})).json()["id"]
    response = await bo.post(f"/api/rooms/{room_id}/watch")
    assert response.status_code == 200
    assert response.json() == {"room": room_id, "ws": f"/ws/rooms/{room_id}"}


async def test_list_rooms_filters_and_pages(client: httpx.AsyncClient, app: FastAPI) -> None:
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    made = []
    for game in ("tictactoe", "connect4", "tictactoe", "tictactoe", "connect4"):
        made.append((await ada.post("/api/rooms", {"game": game})).json()["id"])
        await asyncio.sleep(0.002)  # distinct creation times
    await bo.post(f"/api/rooms/{made[0]}/seats")  # the first room is now full
    await services_of(app).rooms.flush()

    everything = (await bo.get("/api/rooms")).json()
    assert [r["id"] for r in everything["items"]] == made[::-1]  # newest first
    assert everything["next_cursor"] is None
    assert all(set(r) == ROOM_KEYS for r in everything["items"])  # no "invite" key

    ttt = (await bo.get("/api/rooms", params={"game": "tictactoe"})).json()["items"]
    assert [r["id"] for r in ttt] == [made[3], made[2], made[0]]
    free = (await bo.get("/api/rooms", params={"game": "tictactoe", "free": "true"})).json()
    assert [r["id"] for r in free["items"]] == [made[3], made[2]]
    full = (await bo.get("/api/rooms", params={"free": "false"})).json()
    assert [r["id"] for r in full["items"]] == [made[0]]
    waiting = (await bo.get("/api/rooms", params={"status": "waiting"})).json()["items"]
    assert len(waiting) == 5
    assert (await bo.get("/api/rooms", params={"status": "finished"})).json()["items"] == []

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await bo.get("/api/rooms", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1] and pages == 3


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "many"}, {"status": "lost"}, {"free": "perhaps"}],
)
async def test_bad_room_queries_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    ada = await player(client)
    assert_problem(await ada.get("/api/rooms", params=params), 422, "validation_error")


async def test_limit_of_100_is_fine(client: httpx.AsyncClient) -> None:
    ada = await player(client)
    assert (await ada.get("/api/rooms", params={"limit": 100})).status_code == 200


@pytest.mark.parametrize("app_settings", [{"reservation_seconds": 1.5}], indirect=True)
async def test_unused_reservation_frees_the_seat(client: httpx.AsyncClient, app: FastAPI) -> None:
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    room_id = (await ada.post("/api/rooms", {"game": "tictactoe", "join": False})).json()["id"]
    reservation = await bo.post(f"/api/rooms/{room_id}/seats", {"seat": 1})
    assert reservation.status_code == 200
    room = (await bo.get(f"/api/rooms/{room_id}")).json()
    assert room["free"] == 1 and room["seats"][1]["player_id"] == bo.id

    async def freed() -> dict[str, Any] | None:  # the room's timer: the loop's own clock
        room: dict[str, Any] = (await bo.get(f"/api/rooms/{room_id}")).json()
        return room if room["free"] == 2 else None

    room = await until(freed, what="the reservation's lapse")
    assert room["seats"][1]["kind"] == "empty"
    await services_of(app).rooms.flush()
    listed = (await bo.get("/api/rooms")).json()["items"]
    assert listed[0]["free"] == 2
    # ... so someone else may take it
    assert (await ada.post(f"/api/rooms/{room_id}/seats", {"seat": 1})).status_code == 200


# Quick-match (the contract; matching itself is in test_rest_matchmaking.py) ------------


async def test_tickets(client: httpx.AsyncClient) -> None:
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    response = await ada.post("/api/matchmaking/tickets", {"game": "connect4"})
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "waiting" and ticket["id"].startswith("t_")
    assert ticket["game"] == "connect4" and ticket["seats"] == 2
    assert ISO.match(ticket["expires_at"]) and ISO.match(ticket["created_at"])
    assert ticket["room"] is None and ticket["seat"] is None

    same = await ada.post("/api/matchmaking/tickets", {"game": "connect4", "options": {}})
    assert same.status_code == 200 and same.json()["id"] == ticket["id"]
    other = await ada.post(
        "/api/matchmaking/tickets", {"game": "connect4", "options": {"turn_seconds": 30}}
    )
    assert_problem(other, 409, "ticket_exists")

    got = await ada.get(f"/api/matchmaking/tickets/{ticket['id']}")
    assert got.status_code == 200 and got.json()["id"] == ticket["id"]
    assert_problem(await bo.get(f"/api/matchmaking/tickets/{ticket['id']}"), 404, "no_such_ticket")
    assert_problem(
        await bo.delete(f"/api/matchmaking/tickets/{ticket['id']}"), 404, "no_such_ticket"
    )
    assert_problem(await ada.get("/api/matchmaking/tickets/t_nope"), 404, "no_such_ticket")

    cancelled = await ada.delete(f"/api/matchmaking/tickets/{ticket['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await ada.delete(f"/api/matchmaking/tickets/{ticket['id']}")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    fresh = await ada.post(
        "/api/matchmaking/tickets", {"game": "connect4", "options": {"turn_seconds": 30}}
    )
    assert fresh.status_code == 201 and fresh.json()["id"] != ticket["id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"game": "go"}, "unknown_game"),
        ({"game": "tictactoe", "seats": 4}, "bad_seats"),
        ({"game": "tictactoe", "options": {"nope": 1}}, "bad_options"),
        ({"game": "tictactoe", "seats": 0}, "validation_error"),
        ({"options": {}}, "validation_error"),
    ],
)
async def test_bad_tickets_are_422(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    ada = await player(client)
    assert_problem(await ada.post("/api/matchmaking/tickets", body), 422, code)


async def test_tickets_expire(client: httpx.AsyncClient, app: FastAPI, clock: ManualClock) -> None:
    ada = await player(client)
    ticket = (await ada.post("/api/matchmaking/tickets", {"game": "chess"})).json()
    clock.advance(services_of(app).matchmaker.ticket_ttl + 1)

    async def expired() -> bool:  # at the matchmaker's next round
        got = (await ada.get(f"/api/matchmaking/tickets/{ticket['id']}")).json()
        return bool(got["status"] == "expired")

    await until(expired, what="the ticket's expiry")
    # an expired ticket no longer holds the player's place: a new one may be made
    assert (await ada.post("/api/matchmaking/tickets", {"game": "chess"})).status_code == 201


async def test_matched_ticket_cannot_be_cancelled(client: httpx.AsyncClient) -> None:
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    ticket = (await ada.post("/api/matchmaking/tickets", {"game": "tictactoe"})).json()
    await bo.post("/api/matchmaking/tickets", {"game": "tictactoe"})

    async def matched() -> dict[str, Any] | None:
        now: dict[str, Any] = (await ada.get(f"/api/matchmaking/tickets/{ticket['id']}")).json()
        return now if now["status"] == "matched" else None

    now = await until(matched, what="the match")
    assert now["status"] == "matched" and now["room"] and now["ws"] == f"/ws/rooms/{now['room']}"
    assert_problem(
        await ada.delete(f"/api/matchmaking/tickets/{ticket['id']}"), 409, "already_matched"
    )


# Results -----------------------------------------------------------------------------


async def test_empty_results(client: httpx.AsyncClient) -> None:
    ada = await player(client)
    board = await ada.get("/api/leaderboards/tictactoe")
    assert board.status_code == 200
    assert board.json() == {"game": "tictactoe", "items": [], "next_cursor": None}
    games = await ada.get(f"/api/players/{ada.id}/games")
    assert games.status_code == 200 and games.json() == {"items": [], "next_cursor": None}
    assert_problem(await ada.get("/api/leaderboards/go"), 404, "unknown_game")
    assert_problem(await ada.get("/api/records/r_nope-0"), 404, "no_such_record")
    assert_problem(
        await ada.get("/api/leaderboards/tictactoe", params={"cursor": "x"}),
        422,
        "validation_error",
    )
    assert_problem(
        await ada.get("/api/leaderboards/tictactoe", params={"limit": 500}), 422, "validation_error"
    )


async def test_leaderboard_pages_best_first(client: httpx.AsyncClient, app: FastAPI) -> None:
    from meeple.lobby.stores.base import PlayerRating

    ratings = [PlayerRating(f"p_{i}", f"P{i}", 1400.0 + 10 * i, 80.0, 0.06, 3) for i in range(5)]
    await services_of(app).ratings.put_many("chess", ratings)
    ada = await player(client)
    first = (await ada.get("/api/leaderboards/chess", params={"limit": 3})).json()
    assert [e["player_id"] for e in first["items"]] == ["p_4", "p_3", "p_2"]
    assert [e["rank"] for e in first["items"]] == [1, 2, 3]
    assert set(first["items"][0]) == {
        "rank",
        "player_id",
        "name",
        "rating",
        "rd",
        "volatility",
        "games",
        "bot",
    }
    second = (
        await ada.get(
            "/api/leaderboards/chess", params={"limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [e["player_id"] for e in second["items"]] == ["p_1", "p_0"]
    assert [e["rank"] for e in second["items"]] == [4, 5]
    assert second["next_cursor"] is None


# Rate limits -------------------------------------------------------------------------


async def test_sessions_are_rate_limited_per_address(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    services_of(app).limits.configure("sessions", rate=0.01, burst=3)
    for _ in range(3):
        assert (await client.post("/api/sessions", json={"name": "Ada"})).status_code == 201
    response = await client.post("/api/sessions", json={"name": "Ada"})
    problem = assert_problem(response, 429, "rate_limited")
    assert problem["title"] == "Too Many Requests"
    retry = response.headers["retry-after"]
    assert retry.isdigit() and 1 <= int(retry) <= 100


async def test_rooms_and_tickets_are_rate_limited_per_player(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    limits = services_of(app).limits
    limits.clock = clock
    limits.configure("rooms", rate=0.5, burst=2)
    limits.configure("tickets", rate=0.5, burst=1)
    ada, bo = await player(client, "Ada"), await player(client, "Bo")
    for _ in range(2):
        assert (await ada.post("/api/rooms", {"game": "tictactoe"})).status_code == 201
    limited = await ada.post("/api/rooms", {"game": "tictactoe"})
    assert_problem(limited, 429, "rate_limited")
    assert limited.headers["retry-after"] in {"1", "2"}
    assert (await bo.post("/api/rooms", {"game": "tictactoe"})).status_code == 201  # Bo has his own

    assert (await ada.post("/api/matchmaking/tickets", {"game": "chess"})).status_code == 201
    assert_problem(
        await ada.post("/api/matchmaking/tickets", {"game": "chess"}), 429, "rate_limited"
    )
    clock.advance(2.05)  # a token back at 0.5 a second
    assert (await ada.post("/api/rooms", {"game": "tictactoe"})).status_code == 201


# Everything else ---------------------------------------------------------------------


async def test_unknown_api_paths_are_problems(client: httpx.AsyncClient) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = await client.request(method, "/api/nothing/here")
        assert_problem(response, 404, "not_found")
    wrong = await client.get("/api/sessions")
    assert_problem(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == "POST"
    wrong = await client.put("/api/rooms/r_1/seats/me")
    assert_problem(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == "DELETE"


async def test_openapi_documents_every_endpoint(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert (await client.get("/docs")).status_code == 200
    assert "Problem" in schema["components"]["schemas"]
    api = {p: ops for p, ops in schema["paths"].items() if p.startswith("/api/")}
    expected = {
        ("post", "/api/sessions"), ("get", "/api/session"), ("get", "/api/games"),
        ("get", "/api/rooms"), ("post", "/api/rooms"), ("get", "/api/rooms/{room_id}"),
        ("post", "/api/rooms/{room_id}/seats"), ("delete", "/api/rooms/{room_id}/seats/me"),
        ("post", "/api/rooms/{room_id}/watch"), ("post", "/api/invites/{code}"),
        ("get", "/api/invites/{code}"),
        ("post", "/api/matchmaking/tickets"), ("get", "/api/matchmaking/tickets/{ticket_id}"),
        ("delete", "/api/matchmaking/tickets/{ticket_id}"), ("get", "/api/matchmaking/events"),
        ("get", "/api/leaderboards/{game}"), ("get", "/api/players/{player_id}/games"),
        ("get", "/api/records/{record_id}"),
    }  # fmt: skip
    found = {(m, p) for p, ops in api.items() for m in ops}
    assert expected <= found
    for method, path in expected:
        responses = api[path][method]["responses"]
        ok = [s for s in responses if s.startswith("2")]
        assert ok, (method, path)
        if path not in ("/api/rooms/{room_id}/seats/me", "/api/matchmaking/events"):
            content = responses[ok[0]]["content"]["application/json"]["schema"]
            assert content, (method, path)
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
        if (method, path) not in (
            ("post", "/api/sessions"), ("get", "/api/games"), ("get", "/api/invites/{code}")
        ):  # fmt: skip
            assert "401" in responses, (method, path)
