"""The browser's "My games" and clocks (client/web), in Debian's headless Chromium.

Two players sit in a correspondence room; the lobby lists it under "My games" with a
"your turn" mark for whoever is to move and one click back into it; the room shows
each seat's clock (board-kit's clockText); a hidden tab says it is your turn in its
title, from the lobby too (the player's event stream).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from meeple.lobby.settings import Settings
from tests.conftest import open_peer
from tests.servers import LiveServer, live_server, until
from tests.test_browser_game import ROOM_LIST_MS, Player, browser, new_player

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]
__all__ = ["browser"]  # the fixture, used here by name


async def token_of(page: Page) -> str:
    saved = await page.evaluate("localStorage.getItem('meeple.session')")
    token: str = json.loads(saved)["token"]
    return token


async def test_my_games_marks_your_turn_and_opens_the_room(
    server: LiveServer, browser: Browser
) -> None:
    ada = await new_player(browser, "Ada")
    bo = await new_player(browser, "Bo")
    for player in (ada, bo):
        await player.sign_in(server.http)
    auth = {p.name: {"Authorization": f"Bearer {await token_of(p.page)}"} for p in (ada, bo)}
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        body = {"game": "tictactoe", "clock": {"days": 3}}
        room = (await http.post("/api/rooms", json=body, headers=auth["Ada"])).json()
        r = await http.post(f"/api/rooms/{room['id']}/seats", json={}, headers=auth["Bo"])
        r.raise_for_status()
    mine = f"[data-testid=my-game][data-room='{room['id']}']"
    for player in (ada, bo):
        item = player.page.locator(mine)
        await expect(item).to_be_visible(timeout=ROOM_LIST_MS)
        await expect(item).to_contain_text("3 days per move")
        await expect(item.get_by_test_id("your-turn")).to_have_count(0)  # not started yet
        await item.get_by_test_id("open-game").click()
        await expect(player.page).to_have_url(re.compile(rf"#/room/{re.escape(room['id'])}$"))
    for player in (ada, bo):
        await expect(player.page.get_by_test_id("clock-0")).to_have_text(
            re.compile(r"^(2d 23h|3d 0h)$")
        )
        await expect(player.page.get_by_test_id("clock-1")).to_have_text("3d 0h")
    await expect(ada.page.get_by_test_id("status")).to_have_text("Your turn")

    # Bo's tab goes to the background; Ada moves; Bo's title says so.
    await bo.page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true})"
    )
    await ada.page.locator("[data-cell='4']").click()
    await expect(bo.page).to_have_title("(Your turn) Meeple")
    await expect(bo.page.get_by_test_id("clock-0")).to_have_text("3d 0h")  # fresh next turn
    await bo.page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: false, configurable: true})"
    )
    await expect(bo.page).to_have_title("Meeple")

    # Back in the lobby, it is Bo's turn: marked, first, and one click away.
    await bo.page.goto(server.http + "/#/lobby")
    first = bo.page.get_by_test_id("my-game").first
    await expect(first).to_have_attribute("data-room", room["id"], timeout=ROOM_LIST_MS)
    await expect(first.get_by_test_id("your-turn")).to_have_text("your turn")
    await first.get_by_test_id("open-game").click()
    await expect(bo.page.get_by_test_id("status")).to_have_text("Your turn")
    await ada.page.goto(server.http + "/#/lobby")
    theirs = ada.page.locator(mine)
    await expect(theirs).to_be_visible(timeout=ROOM_LIST_MS)
    await expect(theirs.get_by_test_id("your-turn")).to_have_count(0)
    assert ada.errors == [] and bo.errors == []


async def test_a_hidden_lobby_hears_your_turn_from_the_event_stream(
    server: LiveServer, browser: Browser
) -> None:
    """Bo sits in a correspondence room but is not in it: his lobby tab, in the
    background (where it polls nothing), learns of his turn from his event stream."""
    bo = await new_player(browser, "Bo")
    await bo.sign_in(server.http)
    token_b = await token_of(bo.page)
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        token_a = (await http.post("/api/sessions", json={"name": "Ada"})).json()["token"]
        auth_a = {"Authorization": f"Bearer {token_a}"}
        body = {"game": "tictactoe", "clock": {"days": 1}}
        room = (await http.post("/api/rooms", json=body, headers=auth_a)).json()
        auth_b = {"Authorization": f"Bearer {token_b}"}
        r = await http.post(f"/api/rooms/{room['id']}/seats", json={}, headers=auth_b)
        r.raise_for_status()
    a = await open_peer(server.ws, room["id"], token_a)
    b = await open_peer(server.ws, room["id"], token_b)  # once, to start the game
    await a.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
    await b.ws.close()
    item = bo.page.locator(f"[data-testid=my-game][data-room='{room['id']}']")
    await expect(item).to_be_visible(timeout=ROOM_LIST_MS)
    await bo.page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true})"
    )
    await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
    await expect(bo.page).to_have_title("(Your turn) Meeple")
    assert bo.errors == []


async def test_the_lobby_subscribes_to_push_and_the_worker_shows_a_turn(
    browser: Browser, tmp_path: Path
) -> None:
    """As far as Web Push runs in a headless Chromium with no push service: the button
    asks for the permission, registers the service worker and tries to subscribe with
    the server's key; a push handed to the worker (DevTools) shows a notification."""
    async with live_server(Settings(vapid_key_file=str(tmp_path / "vapid.pem"))) as server:
        bo = await new_player(browser, "Bo")
        try:
            await _subscribe_and_show(server, bo)
        finally:
            await bo.context.close()  # its event stream open would hold the server up


async def _subscribe_and_show(server: LiveServer, bo: Player) -> None:
    await bo.context.grant_permissions(["notifications"], origin=server.http)
    await bo.sign_in(server.http)
    auth = {"Authorization": f"Bearer {await token_of(bo.page)}"}
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        body = {"game": "tictactoe", "clock": {"days": 7}}
        (await http.post("/api/rooms", json=body, headers=auth)).raise_for_status()
    page = bo.page
    cdp = await bo.context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(r["registrationId"] for r in e["registrations"]),
    )
    await cdp.send("ServiceWorker.enable")
    await page.get_by_test_id("enable-push").click(timeout=ROOM_LIST_MS)
    info = page.get_by_test_id("push-info")
    await expect(info).to_have_text(
        re.compile(r"^(You will be told of your correspondence turns\.|Push is not available here)")
    )
    active = "navigator.serviceWorker.getRegistration().then((r) => Boolean(r && r.active))"
    assert await page.evaluate(active)
    assert registrations
    data = json.dumps({"event": "your_turn", "room": "r_1", "game": "tictactoe"})
    shown = (
        "navigator.serviceWorker.getRegistration()"
        ".then((r) => r.getNotifications()).then((n) => n.map((x) => x.title + '|' + x.tag))"
    )

    async def delivered() -> list[str]:
        # DevTools hands the push to a worker it may first have to start; on a loaded
        # machine that hand-over is sometimes dropped, so it is handed again (the tag
        # makes a second one replace the first, never add to it).
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.http, "registrationId": registrations[-1], "data": data},
        )
        with contextlib.suppress(TimeoutError):
            return await until(lambda: page.evaluate(shown), within=5, what="a notification")
        return []

    titles = await until(delivered, within=60, what="the pushed turn's notification")
    assert titles == ["Your turn|meeple-r_1"]
    # Playwright's contexts are incognito, where Chromium refuses pushManager.subscribe
    # and says so on the console itself: that line is the browser's, and the only one.
    assert [e for e in bo.errors if "Push API in incognito" not in e] == []
