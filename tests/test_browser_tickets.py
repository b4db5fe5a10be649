"""The browser client never puts its session token in a URL (issue 16, item 12): its
room WebSocket and its quick-match event stream carry connect tickets, one per
connection, and quick match works through them. Debian's headless Chromium."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Route, expect

from tests.servers import LiveServer, until
from tests.test_browser_game import ROOM_LIST_MS, browser, close_players, new_player

__all__ = ["browser"]  # the fixture, shared with test_browser_game.py

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

IN_A_ROOM = re.compile(r"#/room/[^/]+$")


async def test_quick_match_in_the_browser_with_connect_tickets(
    server: LiveServer, browser: Browser
) -> None:
    players = [await new_player(browser, name) for name in ("Ada", "Bo")]
    urls: list[str] = []
    for player in players:
        player.page.on("websocket", lambda ws: urls.append(ws.url))
        player.page.on("request", lambda request: urls.append(request.url))
        await player.sign_in(server.http)
    for player in players:
        await player.page.get_by_test_id("qm-game").select_option("tictactoe")
        await player.page.get_by_test_id("quick-match").click()
    for player in players:
        await expect(player.page).to_have_url(IN_A_ROOM, timeout=ROOM_LIST_MS)
        await expect(player.page.get_by_test_id("conn")).to_have_text("connected")
    tokens = [
        await p.page.evaluate("JSON.parse(localStorage['meeple.session']).token") for p in players
    ]
    sockets = [u for u in urls if u.startswith("ws://")]
    streams = [u for u in urls if "/api/me/events" in u]  # the lobby's, quick match's too
    assert len(sockets) >= 2 and all("ticket=" in u for u in sockets), sockets
    assert len(streams) == len(players) and all("ticket=" in u for u in streams), streams
    assert not [u for u in urls for t in tokens if t in u]
    for player in players:
        assert player.errors == [], player.errors


async def test_a_match_heard_of_before_the_tickets_answer(
    server: LiveServer, browser: Browser
) -> None:
    """The matchmaker runs as soon as a ticket is filed, so the `matched` event can reach
    the page before the answer to its POST, which still says "waiting". The page goes
    to the room and withdraws nothing: a DELETE then is refused (409, already matched),
    an error in the console. Bo's answer is held until the event has done its work."""
    ada, bo = [await new_player(browser, name) for name in ("Ada", "Bo")]
    await ada.sign_in(server.http)
    await bo.sign_in(server.http)
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()

    async def hold(route: Route) -> None:
        if route.request.method == "POST" and not held.done():
            held.set_result(route)
        else:
            await route.continue_()

    await bo.page.route("**/api/matchmaking/tickets", hold)
    for player in (ada, bo):
        await player.page.get_by_test_id("qm-game").select_option("tictactoe")
    await ada.page.get_by_test_id("quick-match").click()
    await expect(ada.page.get_by_test_id("qm-cancel")).to_be_visible()  # Ada's ticket waits
    await bo.page.get_by_test_id("quick-match").click()
    route = await asyncio.wait_for(held, 30)
    bo_id = await bo.page.evaluate("JSON.parse(localStorage['meeple.session']).player_id")
    events = server.services.matchmaker.events
    # The lobby's stream, which quick match listens on (one a page): the event will find it.
    await until(lambda: events.streams(bo_id) == 1, what="Bo's lobby event stream")
    answer = await route.fetch()
    assert answer.status == 201 and (await answer.json())["status"] == "waiting"
    for player in (ada, bo):
        await expect(player.page).to_have_url(IN_A_ROOM, timeout=ROOM_LIST_MS)
    await route.fulfill(response=answer)
    for player in (ada, bo):
        await expect(player.page.get_by_test_id("conn")).to_have_text("connected")
    room = str(await bo.page.evaluate("location.hash")).rsplit("/", 1)[-1]
    assert await ada.page.evaluate("location.hash") == f"#/room/{room}"
    ticket = await server.services.tickets.get((await answer.json())["id"])
    assert ticket is not None and (ticket.status, ticket.room) == ("matched", room)
    await close_players(ada, bo)
