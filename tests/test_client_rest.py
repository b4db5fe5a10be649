"""The client's REST half against ``httpx.MockTransport``: no server, no network.

What is checked is the client's side of docs/protocol.md: the bearer token, problem
details, 429 retries, and waiting for a quick-match by events or by polling.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from meeple.client import ApiError, MatchmakingError, MeepleClient

Route = Callable[[httpx.Request], httpx.Response]
Routes = dict[tuple[str, str], Route | list[Route]]


def client(routes: Routes, log: list[httpx.Request]) -> MeepleClient:
    """A client whose requests go to ``routes`` by (method, path); a list answers in turn."""

    def handle(request: httpx.Request) -> httpx.Response:
        log.append(request)
        route = routes.get((request.method, request.url.path))
        if route is None:
            return problem(404, "not_found", f"no route {request.url.path}")
        if isinstance(route, list):
            route = route.pop(0) if len(route) > 1 else route[0]
        return route(request)

    return MeepleClient("http://test", transport=httpx.MockTransport(handle))


def ok(body: Any, status: int = 200) -> Route:
    return lambda request: httpx.Response(status, json=body)


def problem(status: int, code: str, detail: str, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "x", "status": status, "detail": detail, "code": code}
    return httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json", **headers}
    )


def rate_limited(request: httpx.Request) -> httpx.Response:
    return problem(429, "rate_limited", "slow down", **{"Retry-After": "0"})


SESSION = {"token": "tok", "player_id": "p_1", "name": "Ada", "expires_at": "2026-01-01T00:00:00Z"}
WAITING = {"id": "t_1", "status": "waiting", "expires_at": "2026-01-01T00:00:00Z"}
MATCHED = {"id": "t_1", "status": "matched", "room": "r_9", "seat": 1}


async def test_session_token_is_sent_as_a_bearer() -> None:
    log: list[httpx.Request] = []
    routes: Routes = {
        ("POST", "/api/sessions"): ok(SESSION, 201),
        ("POST", "/api/rooms"): ok({"id": "r_1", "game": "tictactoe"}, 201),
        ("POST", "/api/rooms/r_1/seats"): ok({"room": "r_1", "seat": 0, "ws": "/ws/rooms/r_1"}),
    }
    async with client(routes, log) as api:
        assert (await api.create_session("Ada"))["player_id"] == "p_1"
        assert api.token == "tok" and api.player_id == "p_1"
        room = await api.create_room("tictactoe", bots=[1])
        seat = await api.take_seat(room["id"])
        assert seat["seat"] == 0
    assert "authorization" not in log[0].headers
    assert log[1].headers["authorization"] == "Bearer tok"
    assert json.loads(log[1].content) == {"game": "tictactoe", "private": False, "bots": [1]}
    assert json.loads(log[2].content) == {}


async def test_problems_become_api_errors_with_their_code() -> None:
    routes: Routes = {
        ("POST", "/api/rooms/r_1/seats"): lambda r: problem(409, "seat_taken", "seat 1 is taken"),
    }
    async with client(routes, []) as api:
        with pytest.raises(ApiError) as caught:
            await api.take_seat("r_1", seat=1)
    assert (caught.value.status, caught.value.code) == (409, "seat_taken")
    assert caught.value.detail == "seat 1 is taken"


async def test_rate_limited_calls_are_retried_after_retry_after() -> None:
    log: list[httpx.Request] = []
    routes: Routes = {
        ("POST", "/api/sessions"): [
            rate_limited,
            ok(SESSION, 201),
        ],
    }
    async with client(routes, log) as api:
        await api.create_session("Ada")
    assert len(log) == 2


async def test_rate_limited_too_often_gives_up() -> None:
    routes: Routes = {
        ("POST", "/api/sessions"): lambda r: problem(
            429, "rate_limited", "no", **{"Retry-After": "0"}
        ),
    }
    async with client(routes, []) as api:
        with pytest.raises(ApiError) as caught:
            await api.create_session("Ada")
    assert caught.value.code == "rate_limited" and caught.value.retry_after == 0


def sse(*events: tuple[str, dict[str, Any]]) -> Route:
    text = ": keep-alive\n\n" + "".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events
    )
    return lambda request: httpx.Response(
        200, content=text.encode(), headers={"content-type": "text/event-stream"}
    )


async def test_quick_match_by_server_sent_events() -> None:
    log: list[httpx.Request] = []
    other = {"ticket": "t_0", "room": "r_0", "seat": 0, "ws": "/ws/rooms/r_0"}
    mine = {"ticket": "t_1", "room": "r_9", "seat": 1, "ws": "/ws/rooms/r_9"}
    routes: Routes = {
        ("POST", "/api/sessions"): ok(SESSION, 201),
        ("POST", "/api/matchmaking/tickets"): ok(WAITING, 201),
        ("GET", "/api/matchmaking/tickets/t_1"): ok(WAITING),
        ("GET", "/api/matchmaking/events"): sse(("matched", other), ("matched", mine)),
    }
    async with client(routes, log) as api:
        await api.create_session("Ada")
        matched = await api.quick_match("tictactoe", timeout=2)
    assert matched == mine
    events = next(r for r in log if r.url.path == "/api/matchmaking/events")
    assert events.headers["Authorization"] == "Bearer tok" and not events.url.params


async def test_quick_match_falls_back_to_polling() -> None:
    routes: Routes = {
        ("POST", "/api/matchmaking/tickets"): ok(WAITING, 201),
        ("GET", "/api/matchmaking/tickets/t_1"): [ok(WAITING), ok(WAITING), ok(MATCHED)],
        ("GET", "/api/matchmaking/events"): lambda r: problem(404, "not_found", "no events"),
    }
    async with client(routes, []) as api:
        api.token = "tok"
        matched = await api.wait_for_match("t_1", timeout=3, poll_interval=0.01)
    assert matched == {"ticket": "t_1", "room": "r_9", "seat": 1}


async def test_an_expired_ticket_is_an_error_and_a_timeout_cancels_the_ticket() -> None:
    log: list[httpx.Request] = []
    routes: Routes = {
        ("POST", "/api/matchmaking/tickets"): ok({"id": "t_2", "status": "waiting"}, 201),
        ("GET", "/api/matchmaking/tickets/t_1"): ok({"id": "t_1", "status": "expired"}),
        ("GET", "/api/matchmaking/tickets/t_2"): ok({"id": "t_2", "status": "waiting"}),
        ("DELETE", "/api/matchmaking/tickets/t_2"): lambda r: httpx.Response(204),
        ("GET", "/api/matchmaking/events"): sse(),
    }
    async with client(routes, log) as api:
        api.token = "tok"
        with pytest.raises(MatchmakingError):
            await api.wait_for_match("t_1", timeout=2)
        with pytest.raises(TimeoutError):
            await api.quick_match("tictactoe", timeout=0.05)
    assert [r.url.path for r in log if r.method == "DELETE"] == ["/api/matchmaking/tickets/t_2"]


def test_websocket_urls_follow_the_server() -> None:
    api = MeepleClient("https://play.example/base/", token="tok")
    conn = api.connect("r_1")
    assert conn.url == "wss://play.example/base/ws/rooms/r_1" and conn.token == "tok"
    assert api.connect("r_1", ws="/ws/rooms/r_1", invite="abc").url.endswith("r_1?invite=abc")
    assert api.connect("r_1", ws="ws://elsewhere/ws/rooms/r_1").url == "ws://elsewhere/ws/rooms/r_1"
    with pytest.raises(ValueError):
        MeepleClient("http://x").connect("r_1")
