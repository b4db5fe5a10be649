"""Quick-match: many players at once, rating windows, and the server-sent event stream."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from meeple.lobby.rooms.matchmaker import Notifier
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import PlayerRating, RatingWindow, Ticket
from meeple.lobby.stores.memory import MemoryTicketQueue, pick_group
from tests.conftest import services_of
from tests.servers import LiveServer, ManualClock, until

pytestmark = pytest.mark.both_stores
"""On the in-memory stores and on Redis: the two forms users deploy."""


async def new_session(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.post("/api/sessions", json={"name": name})
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()
    return session


def auth(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


async def wait_matched(
    client: httpx.AsyncClient, session: dict[str, Any], ticket_id: str
) -> dict[str, Any]:
    """The ticket once it no longer waits (matched, or expired)."""

    async def settled() -> dict[str, Any] | None:
        response = await client.get(f"/api/matchmaking/tickets/{ticket_id}", headers=auth(session))
        ticket: dict[str, Any] = response.json()
        return ticket if ticket["status"] != "waiting" else None

    found: dict[str, Any] | None = await until(settled, what=f"ticket {ticket_id} settling")
    assert found is not None  # until returns what is truthy
    return found


# Many at once ------------------------------------------------------------------------


@pytest.mark.parametrize(("game", "seats", "players"), [("tictactoe", 2, 40), ("liarsdice", 3, 30)])
async def test_many_players_are_each_matched_once(
    client: httpx.AsyncClient, app: FastAPI, game: str, seats: int, players: int
) -> None:
    services = services_of(app)
    services.limits.configure("sessions", rate=1000, burst=1000)
    sessions = await asyncio.gather(*(new_session(client, f"P{i}") for i in range(players)))

    async def queue_up(session: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(
            "/api/matchmaking/tickets", json={"game": game, "seats": seats}, headers=auth(session)
        )
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    tickets = await asyncio.gather(*(queue_up(s) for s in sessions))
    assert len({t["id"] for t in tickets}) == players
    final = await asyncio.gather(
        *(wait_matched(client, s, t["id"]) for s, t in zip(sessions, tickets, strict=True))
    )

    assert all(t["status"] == "matched" for t in final), Counter(t["status"] for t in final)
    by_room: dict[str, list[tuple[str, int]]] = {}
    for session, ticket in zip(sessions, final, strict=True):
        assert ticket["ws"] == f"/ws/rooms/{ticket['room']}"
        by_room.setdefault(ticket["room"], []).append((session["player_id"], ticket["seat"]))
    assert len(by_room) == players // seats
    for room_id, members in by_room.items():
        assert len(members) == seats
        assert len({p for p, _ in members}) == seats  # nobody twice in one room
        assert sorted(s for _, s in members) == list(range(seats))  # every seat, once
        room = services.rooms.get(room_id)
        assert room is not None and room.match.free_seats() == []
        for player_id, seat in members:
            assert room.match.seats[seat].player_id == player_id
    # nobody is in two rooms either
    everyone = [p for members in by_room.values() for p, _ in members]
    assert len(everyone) == len(set(everyone)) == players


def test_the_ticket_lifetime_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().ticket_seconds == 60.0
    monkeypatch.setenv("MEEPLE_TICKET_SECONDS", "2.5")
    assert Settings.from_env().ticket_seconds == 2.5


@pytest.mark.parametrize("app_settings", [{"ticket_seconds": 30.0}], indirect=True)
async def test_odd_player_out_waits_then_expires(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    matchmaker = services_of(app).matchmaker
    assert matchmaker.ticket_ttl == 30.0  # Settings.ticket_seconds
    sessions = [await new_session(client, n) for n in ("Ada", "Bo", "Cy")]
    tickets = []
    for session in sessions:
        response = await client.post(
            "/api/matchmaking/tickets", json={"game": "connect4"}, headers=auth(session)
        )
        tickets.append(response.json())
    await matchmaker.tick()  # a round with all three in the queue: one pair, one left over
    clock.advance(31)  # past the tickets' 30 s: the one left waiting expires
    final = [await wait_matched(client, s, t["id"]) for s, t in zip(sessions, tickets, strict=True)]
    assert Counter(t["status"] for t in final) == {"matched": 2, "expired": 1}


async def test_different_options_or_seats_do_not_mix(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    matchmaker = services_of(app).matchmaker
    bodies = [
        {"game": "tictactoe"},
        {"game": "tictactoe", "options": {"turn_seconds": 10}},
        {"game": "liarsdice", "seats": 2},
        {"game": "liarsdice", "seats": 3},
    ]
    pairs = []
    for i, body in enumerate(bodies):
        session = await new_session(client, f"P{i}")
        ticket = await client.post("/api/matchmaking/tickets", json=body, headers=auth(session))
        pairs.append((session, ticket.json()))
    assert await matchmaker.tick() == 0  # all four in the queue, and no room for any two
    clock.advance(matchmaker.ticket_ttl + 1)
    final = [await wait_matched(client, s, t["id"]) for s, t in pairs]
    assert [t["status"] for t in final] == ["expired"] * 4


# Ratings -----------------------------------------------------------------------------


def ticket(n: int, rating: float, created_at: float = 0.0, seats: int = 2) -> Ticket:
    return Ticket(
        id=f"t_{n}",
        player_id=f"p_{n}",
        name=f"P{n}",
        game="chess",
        options={},
        seats=seats,
        rating=rating,
        created_at=created_at,
        expires_at=created_at + 60,
    )


def test_groups_prefer_close_ratings() -> None:
    window = RatingWindow()
    pool = [ticket(1, 1500), ticket(2, 1905), ticket(3, 1510), ticket(4, 1900)]
    group = pick_group(pool, 2, now=0.0, window=window)
    assert group is not None and {t.id for t in group} == {"t_2", "t_4"}  # the tightest pair
    rest = [t for t in pool if t not in group]
    group = pick_group(rest, 2, now=0.0, window=window)
    assert group is not None and {t.id for t in group} == {"t_1", "t_3"}
    far = [ticket(1, 1500), ticket(2, 1700)]
    assert pick_group(far, 2, now=0.0, window=window) is None
    assert pick_group(far, 2, now=4.9, window=window) is None  # ±100 for the first 5 s
    assert pick_group(far, 2, now=10.0, window=window) is not None  # ±200 after 10 s


def test_the_longest_waiting_ticket_goes_first() -> None:
    pool = [ticket(1, 1500, 5.0), ticket(2, 1500, 6.0), ticket(3, 1500, 1.0)]
    group = pick_group(pool, 2, now=7.0, window=RatingWindow())
    assert group is not None and group[0].id == "t_3"


def test_window_widens() -> None:
    window = RatingWindow()
    assert [window.width(t) for t in (0, 4.9, 5, 12, 60)] == [100, 100, 150, 200, 700]


async def test_queue_takes_groups_atomically() -> None:
    queue = MemoryTicketQueue()
    for n in range(5):
        _, created = await queue.add(ticket(n, 1500))
        assert created
    again, created = await queue.add(replace_id(ticket(0, 1500), "t_other"))
    assert not created and again.id == "t_0"
    groups = []
    while (group := await queue.take_group(1.0, RatingWindow())) is not None:
        groups.append(group)
    assert [len(g) for g in groups] == [2, 2]
    taken = [t.id for g in groups for t in g]
    assert len(set(taken)) == 4 and all(t.status == "matching" for g in groups for t in g)
    left = [t for t in [await queue.get(f"t_{n}") for n in range(5)] if t and t.status == "waiting"]
    assert len(left) == 1 and left[0].id not in taken
    # a taken ticket cannot be cancelled; a waiting one can
    assert (await queue.cancel(taken[0], 2.0)).status == "matching"  # type: ignore[union-attr]
    assert (await queue.cancel(left[0].id, 2.0)).status == "cancelled"  # type: ignore[union-attr]
    assert await queue.expire(100.0) == []


def replace_id(t: Ticket, new_id: str) -> Ticket:
    from dataclasses import replace

    return replace(t, id=new_id)


async def test_far_apart_ratings_wait_for_the_window(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    services = services_of(app)
    # The window widens every 20 s of the (manual) clock: never by itself in this test.
    services.matchmaker.window = RatingWindow(base=100, step=400, every=20)
    strong, weak = await new_session(client, "Strong"), await new_session(client, "Weak")
    await services.ratings.put_many(
        "chess", [PlayerRating(strong["player_id"], "Strong", 1900.0, 60.0, 0.06, 20)]
    )
    body = {"game": "chess"}
    t1 = (await client.post("/api/matchmaking/tickets", json=body, headers=auth(strong))).json()
    t2 = (await client.post("/api/matchmaking/tickets", json=body, headers=auth(weak))).json()
    assert await services.matchmaker.tick() == 0  # 400 apart, window ±100
    waiting = await client.get(f"/api/matchmaking/tickets/{t1['id']}", headers=auth(strong))
    assert waiting.json()["status"] == "waiting"
    clock.advance(20)  # window ±500 now (the tickets' 60 s are not up)
    matched = await wait_matched(client, weak, t2["id"])
    assert matched["status"] == "matched"


# Server-sent events (a real server: httpx over ASGI does not stream) ----------------------


class Events:
    """Reads an event stream: events as (name, data), comments as ("comment", text)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, seconds: float = 5) -> tuple[str, str]:
        event: str | None = None
        async with asyncio.timeout(seconds):
            while True:
                line = await anext(self.lines)
                if line.startswith(":"):
                    return "comment", line[1:].strip()
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:") and event is not None:
                    return event, line.partition(":")[2].strip()

    async def take(self, count: int) -> list[tuple[str, str]]:
        return [await self.next() for _ in range(count)]

    async def event(self, seconds: float = 5) -> tuple[str, str]:
        """The next event that is not a comment."""
        async with asyncio.timeout(seconds):
            while True:
                kind, data = await self.next()
                if kind != "comment":
                    return kind, data


async def test_matched_event_reaches_both_players(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        ada, bo = await new_session(client, "Ada"), await new_session(client, "Bo")
        ticket = (await client.post("/api/session/ticket", headers=auth(ada))).json()["ticket"]
        async with client.stream(
            "GET", "/api/matchmaking/events", params={"ticket": ticket}
        ) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = Events(stream)
            assert await events.next() == ("comment", "connected")
            t1 = await client.post(
                "/api/matchmaking/tickets", json={"game": "tictactoe"}, headers=auth(ada)
            )
            t2 = await client.post(
                "/api/matchmaking/tickets", json={"game": "tictactoe"}, headers=auth(bo)
            )
            kind, data = await events.event()
        assert kind == "matched"
        event = json.loads(data)
        assert set(event) == {"ticket", "room", "seat", "ws"}
        assert event["ticket"] == t1.json()["id"] and event["ws"] == f"/ws/rooms/{event['room']}"

        # Bo opens his stream after the match: the event waited for him.
        async with client.stream("GET", "/api/matchmaking/events", headers=auth(bo)) as stream:
            got = await Events(stream).take(2)
        assert got[0] == ("comment", "connected") and got[1][0] == "matched"
        bo_event = json.loads(got[1][1])
        assert bo_event["ticket"] == t2.json()["id"] and bo_event["room"] == event["room"]
        assert {bo_event["seat"], event["seat"]} == {0, 1}

        # and the stream is gone once the client is
        notifier = server.services.matchmaker.events
        await until(
            lambda: notifier.streams(ada["player_id"]) == notifier.streams(bo["player_id"]) == 0,
            what="the event streams closing",
        )


async def test_event_stream_keeps_alive_and_reports_expiry(server: LiveServer) -> None:
    matchmaker = server.services.matchmaker
    matchmaker.keepalive = 0.2
    matchmaker.ticket_ttl = 0.5
    async with httpx.AsyncClient(base_url=server.http) as client:
        ada = await new_session(client, "Ada")
        ticket = (await client.post("/api/session/ticket", headers=auth(ada))).json()["ticket"]
        async with client.stream(
            "GET", "/api/matchmaking/events", params={"ticket": ticket}
        ) as stream:
            events = Events(stream)
            assert await events.take(3) == [
                ("comment", "connected"), ("comment", "keepalive"), ("comment", "keepalive")
            ]  # fmt: skip
            ticket = await client.post(
                "/api/matchmaking/tickets", json={"game": "chess"}, headers=auth(ada)
            )
            kind, data = await events.event()
        assert kind == "expired" and json.loads(data) == {"ticket": ticket.json()["id"]}


async def test_event_stream_needs_a_session(server: LiveServer) -> None:
    """A header, or a connect ticket in the URL: a session token in the URL is not read."""
    async with httpx.AsyncClient(base_url=server.http) as client:
        ada = await new_session(client, "Ada")
        for params in ({}, {"ticket": "nope"}, {"token": ada["token"]}):
            response = await client.get("/api/matchmaking/events", params=params)
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "unauthorized"


async def test_waiting_events_are_dropped_once_the_ticket_is_read() -> None:
    notifier = Notifier()
    notifier.publish("p_1", "matched", {"ticket": "t_1", "room": "r_1"})
    notifier.publish("p_1", "expired", {"ticket": "t_2"})
    notifier.seen("p_1", "t_1")
    queue = notifier.subscribe("p_1")
    assert queue.get_nowait().data == {"ticket": "t_2"} and queue.empty()
    notifier.publish("p_1", "matched", {"ticket": "t_3"})
    assert queue.get_nowait().data == {"ticket": "t_3"}
    assert notifier.streams("p_1") == 1
    notifier.unsubscribe("p_1", queue)
    assert notifier.streams("p_1") == 0
