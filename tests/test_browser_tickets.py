"""The browser client never puts its session token in a URL (issue 16, item 12): its
room WebSocket and its quick-match event stream carry connect tickets, one per
connection, and quick match works through them. Debian's headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.servers import LiveServer
from tests.test_browser_game import ROOM_LIST_MS, browser, new_player

__all__ = ["browser"]  # the fixture, shared with test_browser_game.py

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]


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
        await expect(player.page).to_have_url(re.compile(r"#/room/[^/]+$"), timeout=ROOM_LIST_MS)
        await expect(player.page.get_by_test_id("conn")).to_have_text("connected")
    tokens = [
        await p.page.evaluate("JSON.parse(localStorage['meeple.session']).token") for p in players
    ]
    sockets = [u for u in urls if u.startswith("ws://")]
    streams = [u for u in urls if "/api/me/events" in u]  # the lobby and quick match
    assert len(sockets) >= 2 and all("ticket=" in u for u in sockets), sockets
    assert streams and all("ticket=" in u for u in streams), streams
    assert not [u for u in urls for t in tokens if t in u]
    for player in players:
        assert player.errors == [], player.errors
