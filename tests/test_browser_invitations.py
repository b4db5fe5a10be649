"""Invitations by name in the browser (client/web: inviteplayer.js in the room,
invitations.js in the lobby), in Debian's headless Chromium against a real server.

1. Ada (an account) makes a room and, from the room page, invites Bo (an account) by
   username with the keyboard; inviting herself says why not. Bo's lobby, open all along,
   shows the invitation without a reload (the `invited` player event); it passes axe-core
   and is photographed under tests/artifacts/invitations/; Bo joins from it with the
   keyboard, lands in the room seated, and the game starts.
2. Invited into a public and a private room, Bo declines the first (it is gone, also after
   a reload) and joins the second, whose seat needs the room's invite code.
3. Signed in, an invite link shows its room first (the game, who invited you, who is in
   it, the seats), with Join and Not now; a full room says so and offers no Join.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from meeple.client.rest import MeepleClient
from tests.servers import LiveServer
from tests.test_browser_a11y import every_look
from tests.test_browser_accounts import PASSWORD, sign_up
from tests.test_browser_game import ARTIFACTS, assert_png, browser, close_players, new_player

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
__all__ = ["browser"]  # the fixture, used here by name

SHOTS = ARTIFACTS / "invitations"
SELF_REFUSED = re.compile(r"Failed to load resource: the server responded with a status of 409")
"""What Chromium logs for the refusal the first test provokes (inviting yourself)."""


async def lobby_listening(page: Page, base: str, username: str, display: str) -> None:
    """Sign up from the welcome screen and wait until the lobby's player event stream is
    open: what arrives from then on can only reach the page through it."""
    async with page.expect_response(lambda r: "/api/me/events" in r.url and r.ok):
        await sign_up(page, base, username, display)
    await expect(page.get_by_test_id("invitations-panel")).to_be_hidden()


async def test_invite_by_username_from_the_room_and_join_from_the_lobby(
    server: LiveServer, browser: Browser
) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    ada = await new_player(browser, "Ada")
    bo = await new_player(browser, "Bo")
    await lobby_listening(bo.page, server.http, "bo_invited", "Bo")
    await sign_up(ada.page, server.http, "ada_host", "Ada")
    room = await ada.create_room("tictactoe")

    page = ada.page
    form = page.get_by_test_id("invite-player")
    await expect(form).to_be_visible()
    notice = page.get_by_test_id("notice")
    username = page.get_by_label("Invite a player by username")
    await username.fill("ada_host")
    await username.press("Enter")
    await expect(notice).to_have_text("That is you: invite someone else.")
    await expect(notice).to_have_attribute("role", "alert")
    await username.fill("bo_invited")
    await username.press("Enter")
    await expect(notice).to_have_text(
        "Invitation sent: if bo_invited plays here, they have been invited."
    )
    await expect(notice).to_have_attribute("role", "status")
    await expect(username).to_have_value("")
    await expect(username).to_be_focused()
    await page.screenshot(path=str(SHOTS / "room-invitation-sent.png"))
    assert_png(SHOTS / "room-invitation-sent.png")

    lobby = bo.page
    invitation = lobby.get_by_test_id("invitation")
    await expect(invitation).to_have_count(1)  # no reload: the `invited` event
    await expect(invitation).to_have_attribute("data-room", room)
    await expect(invitation.locator(".room-name")).to_have_text("Ada invites you to Tic-tac-toe")
    await expect(invitation).to_contain_text("with Ada · 1 of 2 free")
    await every_look(lobby, "lobby-invitation", SHOTS)

    join = invitation.get_by_role("button", name="Join Tic-tac-toe (invited by Ada)")
    await join.focus()
    await lobby.keyboard.press("Enter")
    await expect(lobby).to_have_url(re.compile(rf"#/room/{re.escape(room)}$"))
    await expect(lobby.get_by_test_id("seat-1")).to_contain_text("you")
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    await expect(form).to_be_hidden()  # the game runs: no one to invite now
    await expect(lobby.get_by_test_id("invite-player")).to_be_hidden()

    ada.errors = [e for e in ada.errors if not SELF_REFUSED.search(e)]
    await close_players(ada, bo)


async def test_decline_removes_an_invitation_and_a_private_room_is_joined_with_its_code(
    server: LiveServer, browser: Browser
) -> None:
    bo = await new_player(browser, "Bo")
    await lobby_listening(bo.page, server.http, "bo_invited", "Bo")
    async with MeepleClient(server.http) as ada:
        await ada.register("ada_host", PASSWORD, "Ada")
        public = (await ada.create_room("tictactoe"))["id"]
        private = (await ada.create_room("connect4", private=True))["id"]
        await ada.invite(public, username="bo_invited")
        await ada.invite(private, username="bo_invited")

        lobby = bo.page
        invitations = lobby.get_by_test_id("invitation")
        await expect(invitations).to_have_count(2)
        await expect(invitations.first).to_have_attribute("data-room", private)  # newest first
        await expect(invitations.first).to_contain_text("private")

        declined = lobby.locator(f"[data-testid=invitation][data-room='{public}']")
        await declined.get_by_role("button", name="Decline Ada's invitation to Tic-tac-toe").click()
        await expect(declined).to_have_count(0)
        await expect(invitations).to_have_count(1)
        await lobby.reload()
        await expect(invitations).to_have_count(1)
        await expect(invitations).to_have_attribute("data-room", private)
        assert [i["room"]["id"] for i in await bo_invitations(server, lobby)] == [private]

        await invitations.get_by_test_id("invitation-join").click()
        await expect(lobby).to_have_url(re.compile(rf"#/room/{re.escape(private)}$"))
        await expect(lobby.get_by_test_id("conn")).to_have_text("connected")
        await expect(lobby.locator("[data-testid^=seat-]", has_text="you")).to_have_count(1)
        seats = (await ada.get_room(private))["seats"]
        assert [s["name"] for s in seats if s["kind"] != "empty"].count("Bo") == 1, seats
    await close_players(bo)


async def bo_invitations(server: LiveServer, page: Page) -> list[dict[str, Any]]:
    """What the server now lists for the page's player (through the SDK, with its token)."""
    token = await page.evaluate("JSON.parse(localStorage.getItem('meeple.session')).token")
    async with MeepleClient(server.http) as bo:
        bo.token = str(token)
        return await bo.invitations()


async def test_a_signed_in_player_sees_an_invite_links_room_before_joining(
    server: LiveServer, browser: Browser
) -> None:
    """Gus, signed in, opens an invite link: the page says who invited him to what and
    who is in the room (a bot marked), with "Join" focused and "Not now". Not now takes
    nothing and goes to the lobby; opened again, Join seats him in the room. Ivy types
    the code into the lobby's "Join with an invite" (asked for by its code, no preview
    first). Hal, opening the link once the room is full, is told so, with no Join."""
    async with MeepleClient(server.http) as wes:
        await wes.create_session("Wes")
        room = await wes.create_room("liarsdice", seats=4, private=True, bots=[3])
        code = room["invite"]
        link = f"{server.http}/#/invite/{code}"
        gus = await new_player(browser, "Gus")
        page = gus.page
        await sign_up(page, server.http, "gus_invited", "Gus")
        await page.goto(link)
        await expect(page.get_by_test_id("invited-lead")).to_have_text(
            f"Wes invited you to a game of Liar's Dice (invite {code})."
        )
        players = page.get_by_test_id("invited-players")
        await expect(players).to_contain_text("Wes")
        await expect(players.get_by_test_id("bot-tag")).to_have_count(1)
        await expect(page.get_by_test_id("invited-seats")).to_have_text("2 of 4 free")
        join = page.get_by_test_id("invited-join")
        await expect(join).to_be_focused()
        await every_look(page, "invite-preview", SHOTS)

        await page.get_by_test_id("invited-later").click()
        await expect(page).to_have_url(re.compile(r"#/lobby$"))
        preview = await wes.request("GET", f"/api/invites/{code}")
        assert preview["free"] == 2, "Not now took no seat"
        assert [(p["name"], p["bot"]) for p in preview["players"]][:1] == [("Wes", False)]
        assert [p["bot"] for p in preview["players"]] == [False, True]

        await page.goto(link)
        await expect(join).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(re.compile(rf"#/room/{re.escape(room['id'])}$"))
        await expect(page.get_by_test_id("seat-1")).to_contain_text("Gus")

        ivy = await new_player(browser, "Ivy")
        await sign_up(ivy.page, server.http, "ivy_typed", "Ivy")
        await ivy.page.get_by_test_id("invite-code").fill(code)
        await ivy.page.get_by_test_id("invite-code").press("Enter")
        await expect(ivy.page).to_have_url(re.compile(rf"#/room/{re.escape(room['id'])}$"))
        await expect(ivy.page.get_by_test_id("seat-2")).to_contain_text("Ivy")

        hal = await new_player(browser, "Hal")
        await sign_up(hal.page, server.http, "hal_late", "Hal")
        await hal.page.goto(link)
        await expect(hal.page.get_by_test_id("invited-players")).to_contain_text("Gus")
        await expect(hal.page.get_by_test_id("invited-next")).to_have_text(
            "No seat is free in it any more."
        )
        await expect(hal.page.get_by_test_id("invited-join")).to_be_hidden()
        later = hal.page.get_by_test_id("invited-later")
        await expect(later).to_have_text("Back to the lobby")
        await later.click()
        await expect(hal.page).to_have_url(re.compile(r"#/lobby$"))
        for player in (gus, ivy, hal):
            assert player.errors == [], player.errors
        await close_players(gus, ivy, hal)
