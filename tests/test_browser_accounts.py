"""Accounts in the browser (client/web: account.js, profile.js, record.js), in Debian's
headless Chromium against a real server.

1. Sign up, win a rated game, log out; log in again on a fresh page: the same rating and
   the same game in the history, whose record opens.
2. A guest plays a game, then signs up from the header: same player, and the game is
   still in the history ("keep playing as guest" first leaves it a guest).
3. A wrong password (or an unknown username) says the one generic thing; after repeated
   failures the page says how long to wait (Retry-After) and holds the button; sign-up
   errors show at their fields.
4. "Log out everywhere" ends the session of another browser logged in to the account.
5. Other players' profiles (from the leaderboard and the history) and the BOT label of a
   bot account. An invite link opened signed out tells the room above every way in, and
   logging in takes its seat.
6. Every new screen passes axe-core (no serious or critical violation) in light and dark,
   on a desktop and a phone, photographed under tests/artifacts/accounts/; the delete
   confirmation takes the password (a wrong one is told at the field and deletes
   nothing), then deletes the account, and the export downloads the player's data.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from meeple.client.rest import MeepleClient
from tests.servers import LiveServer
from tests.test_browser_a11y import every_look
from tests.test_browser_game import ARTIFACTS, ROOM_LIST_MS, Player, browser, new_player

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]
__all__ = ["browser"]  # the fixture, used here by name

PASSWORD = "correct horse battery"
SHOTS = ARTIFACTS / "accounts"
TICTACTOE_RATING = "[data-testid=rating-row][data-game=tictactoe] [data-testid=rating]"
REFUSED = re.compile(
    r"Failed to load resource: the server responded with a status of 4(01|03|09|29)"
)
"""What Chromium logs for each refused call (a wrong password, a taken name, a dead token)."""


def unexpected(player: Player) -> list[str]:
    """The page's errors, but for the refusals the test provokes."""
    return [e for e in player.errors if not REFUSED.search(e)]


async def saved_session(page: Page) -> dict[str, str]:
    saved = await page.evaluate("localStorage.getItem('meeple.session')")
    return json.loads(saved) if saved else {}


async def fill_sign_up(
    page: Page, username: str, password: str = PASSWORD, display: str | None = None
) -> None:
    """The sign-up form, open and focused on its username: filled in and sent."""
    await expect(page.get_by_test_id("username")).to_be_focused()
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(password)
    if display is not None:
        await page.get_by_test_id("display_name").fill(display)
    await page.get_by_test_id("signup-submit").click()


async def sign_up(page: Page, base: str, username: str, display: str) -> None:
    """From the welcome screen, signed out."""
    await page.goto(base + "/")
    await page.get_by_test_id("welcome-signup").click()
    await fill_sign_up(page, username, display=display)
    await expect(page.get_by_test_id("my-name")).to_have_text(display)
    await expect(page.get_by_test_id("guest-tag")).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"#/lobby$"))


async def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()


@asynccontextmanager
async def guest_opponent(server: LiveServer, name: str = "Bo") -> AsyncIterator[MeepleClient]:
    async with MeepleClient(server.http) as bo:
        await bo.create_session(name)
        yield bo


async def win_against(player: Player, bo: MeepleClient) -> str:
    """``player`` (in the browser) opens a tic-tac-toe room, ``bo`` sits down and then
    resigns: a rated win for ``player``. The room's id."""
    room = await player.create_room("tictactoe")
    await bo.take_seat(room)
    async with bo.connect(room):
        await expect(player.page.get_by_test_id("status")).to_have_text("Your turn")
        await bo.leave_seat(room)  # during the game: resigns
        await expect(player.page.get_by_test_id("game-over")).to_be_visible()
    return room


async def open_profile(page: Page) -> None:
    await page.get_by_test_id("my-name").click()
    await expect(page).to_have_url(re.compile(r"#/profile$"))
    await expect(page.get_by_test_id("history-row").first).to_be_visible()


async def test_sign_up_log_out_and_log_in_again_keep_the_rating_and_history(
    server: LiveServer, browser: Browser
) -> None:
    ada = await new_player(browser, "Ada")
    page = ada.page
    await sign_up(page, server.http, "ada_lovelace", "Ada")
    async with guest_opponent(server) as bo:
        room = await win_against(ada, bo)

    await open_profile(page)
    await expect(page.get_by_test_id("profile-name")).to_have_text("Ada")
    await expect(page.get_by_test_id("profile-sub")).to_have_text("Username: ada_lovelace")
    rating = page.locator(TICTACTOE_RATING)
    await expect(rating).to_have_text(re.compile(r"^1[5-9]\d\d\??$"))
    rating_text = await rating.inner_text()
    assert int(rating_text.rstrip("?")) > 1500, rating_text  # a win
    row = page.get_by_test_id("history-row")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-record", f"{room}-0")
    await expect(row.get_by_test_id("history-result")).to_have_text("Won")
    await expect(row.locator(".opponents")).to_have_text("Bo")

    await page.get_by_test_id("log-out").click()
    await expect(page.get_by_test_id("welcome-guest")).to_be_visible()
    assert await saved_session(page) == {}
    await ada.context.close()

    again = await new_player(browser, "Ada")
    page = again.page
    await page.goto(server.http + "/#/login")
    await expect(page.get_by_test_id("login-username")).to_be_focused()
    await log_in(page, "ADA_Lovelace")  # usernames are not case-sensitive
    await expect(page.get_by_test_id("my-name")).to_have_text("Ada")
    await expect(page).to_have_url(re.compile(r"#/lobby$"))
    await open_profile(page)
    await expect(page.locator(TICTACTOE_RATING)).to_have_text(rating_text)
    await expect(page.get_by_test_id("history-row")).to_have_attribute("data-record", f"{room}-0")
    await page.get_by_test_id("record-link").click()
    await expect(page).to_have_url(re.compile(rf"#/record/{re.escape(room)}-0$"))
    await expect(page.get_by_test_id("record-title")).to_have_text("Tic-tac-toe")
    await expect(page.get_by_test_id("record-seat-0")).to_contain_text("Ada")
    await expect(page.get_by_test_id("record-seat-0")).to_contain_text("Won")
    await expect(page.get_by_test_id("record-seat-1")).to_contain_text("Lost")
    await expect(page.get_by_test_id("record-moves").locator("li")).to_have_count(1)  # Bo resigned
    assert again.errors == [], again.errors
    await again.context.close()


async def test_a_guest_who_played_then_signs_up_keeps_the_game(
    server: LiveServer, browser: Browser
) -> None:
    cy = await new_player(browser, "Cy")
    page = cy.page
    await cy.sign_in(server.http)
    await expect(page.get_by_test_id("guest-tag")).to_have_text("guest")
    guest_id = (await saved_session(page))["player_id"]
    async with guest_opponent(server) as bo:
        room = await win_against(cy, bo)

    # Sign up, then think better of it: still the same guest.
    await page.get_by_test_id("sign-up").click()
    await expect(page.get_by_test_id("display_name")).to_have_value("Cy")
    await page.get_by_test_id("keep-guest").click()
    await expect(page).to_have_url(re.compile(r"#/lobby$"))
    await expect(page.get_by_test_id("guest-tag")).to_be_visible()

    await page.get_by_test_id("sign-up").click()
    await fill_sign_up(page, "cyril")
    await expect(page).to_have_url(re.compile(r"#/profile$"))
    await expect(page.get_by_test_id("guest-tag")).to_have_count(0)
    await expect(page.get_by_test_id("profile-sub")).to_have_text("Username: cyril")
    session = await saved_session(page)
    assert session["player_id"] == guest_id and session["username"] == "cyril"
    await expect(page.get_by_test_id("history-row")).to_have_attribute("data-record", f"{room}-0")
    await expect(page.get_by_test_id("rating-row")).to_have_count(1)
    assert cy.errors == [], cy.errors
    await cy.context.close()


async def test_wrong_passwords_and_sign_up_mistakes_are_told_inline(
    server: LiveServer, browser: Browser
) -> None:
    async with MeepleClient(server.http) as client:
        await client.register("dee", PASSWORD, "Dee")
    dee = await new_player(browser, "Dee")
    page = dee.page
    await page.goto(server.http + "/")
    await page.get_by_test_id("welcome-login").click()
    error = page.get_by_test_id("account-error")
    await log_in(page, "dee", "not the password")
    await expect(error).to_have_text("Wrong username or password.")
    await expect(page.get_by_test_id("login-password")).to_be_focused()
    await log_in(page, "nobody_at_all", "not the password")
    await expect(error).to_have_text("Wrong username or password.")  # the same words

    # Failures in a row: the server makes the next attempts wait, and the page says how long.
    waited = re.compile(r"^Too many failed log-ins: try again in \d+ seconds?\.$")
    for _ in range(10):
        await expect(page.get_by_test_id("login-submit")).to_be_enabled()
        await log_in(page, "dee", "still not it")
        await expect(error).to_have_text(re.compile(r"Wrong username|Too many"))
        if waited.match(await error.inner_text()):
            break
    await expect(error).to_have_text(waited)
    assert (await page.get_by_test_id("login-submit").get_attribute("aria-disabled")) == "true"

    # Sign-up: a short password is caught before sending, a taken username by the server.
    await page.get_by_test_id("welcome-signup").click()
    await fill_sign_up(page, "DEE", "short")
    await expect(page.get_by_test_id("password-error")).to_have_text(
        "A password is 8 to 128 characters."
    )
    await expect(page.get_by_test_id("password")).to_have_attribute("aria-invalid", "true")
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("signup-submit").click()
    await expect(page.get_by_test_id("username-error")).to_have_text(
        "That username is taken: pick another."
    )
    await expect(page.get_by_test_id("username")).to_be_focused()
    await expect(page.get_by_test_id("password-error")).to_have_text("")
    assert await saved_session(page) == {}
    assert unexpected(dee) == [], dee.errors
    await dee.context.close()


async def test_log_out_everywhere_ends_another_pages_session(
    server: LiveServer, browser: Browser
) -> None:
    here = await new_player(browser, "Eve")
    await sign_up(here.page, server.http, "eve", "Eve")
    there = await new_player(browser, "Eve")
    await there.page.goto(server.http + "/#/login")
    await log_in(there.page, "eve")
    await expect(there.page.get_by_test_id("create-form")).to_be_visible()

    await open_profile_empty(here.page)
    await here.page.get_by_test_id("log-out-everywhere").click()
    await expect(here.page.get_by_test_id("log-out-everywhere-confirm")).to_be_focused()
    await here.page.keyboard.press("Enter")
    await expect(here.page.get_by_test_id("signed-out-why")).to_have_text(
        "You are logged out on every device."
    )
    # The other page finds out at its next call (the lobby's refresh).
    await expect(there.page.get_by_test_id("signed-out-why")).to_have_text(
        "You were logged out: log in again to play.", timeout=ROOM_LIST_MS
    )
    assert await saved_session(there.page) == {}
    for player in (here, there):
        assert unexpected(player) == [], player.errors
        await player.context.close()


async def test_changing_the_password_logs_out_the_other_page(
    server: LiveServer, browser: Browser
) -> None:
    """From your profile: a wrong password now is told at its field; the right one
    changes it, this page stays logged in, another page is logged out, and the new
    password is the one that logs in."""
    here = await new_player(browser, "Hal")
    page = here.page
    await sign_up(page, server.http, "hal", "Hal")
    there = await new_player(browser, "Hal")
    await there.page.goto(server.http + "/#/login")
    await log_in(there.page, "hal")
    await expect(there.page.get_by_test_id("create-form")).to_be_visible()

    await open_profile_empty(page)
    await page.get_by_test_id("change-password").click()
    await expect(page.get_by_test_id("password-now")).to_be_focused()
    await page.get_by_test_id("password-now").fill("not my password")
    await page.get_by_test_id("new-password").fill("short")
    await page.get_by_test_id("change-password-submit").click()
    await expect(page.get_by_test_id("new-password-error")).to_have_text(
        "A password is 8 to 128 characters."
    )
    await page.get_by_test_id("new-password").fill("a far longer passphrase")
    await page.get_by_test_id("change-password-submit").click()
    await expect(page.get_by_test_id("password-now-error")).to_have_text(
        "That is not your password."
    )
    await every_look(page, "change-password-wrong", SHOTS)
    await page.get_by_test_id("password-now").fill(PASSWORD)
    await page.get_by_test_id("change-password-submit").click()
    await expect(page.get_by_test_id("account-status")).to_have_text(
        "Your password is changed, and every other device is logged out."
    )
    await expect(page.get_by_test_id("change-password")).to_be_focused()
    await page.reload()  # this page goes on with the session the change gave it
    await expect(page.get_by_test_id("my-name")).to_have_text("Hal")
    await expect(there.page.get_by_test_id("signed-out-why")).to_have_text(
        "You were logged out: log in again to play.", timeout=ROOM_LIST_MS
    )
    await there.page.get_by_test_id("welcome-login").click()
    await log_in(there.page, "hal")
    await expect(there.page.get_by_test_id("account-error")).to_have_text(
        "Wrong username or password."
    )
    await log_in(there.page, "hal", "a far longer passphrase")
    await expect(there.page.get_by_test_id("my-name")).to_have_text("Hal")
    for player in (here, there):
        assert unexpected(player) == [], player.errors
        await player.context.close()


async def open_profile_empty(page: Page) -> None:
    await page.get_by_test_id("my-name").click()
    await expect(page.get_by_test_id("profile-history")).to_contain_text("No finished games yet.")


async def test_other_players_profiles_and_the_bot_label(
    server: LiveServer, browser: Browser
) -> None:
    fay = await new_player(browser, "Fay")
    page = fay.page
    await sign_up(page, server.http, "fay", "Fay")
    async with guest_opponent(server) as bo:
        await win_against(fay, bo)
        bo_id = bo.player_id
    await page.goto(server.http + "/#/lobby")
    async with MeepleClient(server.http) as bot:
        await bot.register("beep", PASSWORD, "Beep", bot=True)
        room = await win_against(fay, bot)
        bot_id = bot.player_id

    # From the lobby's leaderboard (the bot marked BOT there) to Bo's profile, from Bo's
    # game to Fay's, and from Fay's game against the bot (BOT again) to the bot's.
    await page.goto(server.http + "/#/lobby")
    await page.get_by_test_id("lb-game").select_option("tictactoe")
    bot_row = page.locator(f"[data-testid=lb-row][data-player='{bot_id}']")
    await expect(bot_row.get_by_test_id("bot-tag")).to_have_text(re.compile("BOT$"))
    row = page.locator(f"[data-testid=lb-row][data-player='{bo_id}']")
    await expect(row.get_by_test_id("bot-tag")).to_have_count(0)
    await row.get_by_test_id("player-link").click()
    await expect(page).to_have_url(re.compile(rf"#/player/{re.escape(str(bo_id))}$"))
    await expect(page.get_by_test_id("profile-name")).to_have_text("Bo")
    await expect(page.get_by_test_id("profile-sub")).to_have_text("Guest")
    await expect(page.get_by_test_id("history-result")).to_have_text("Lost")
    await expect(page.get_by_test_id("account-status")).to_have_count(0)  # not yours
    await page.get_by_test_id("history-row").get_by_test_id("player-link").click()
    await expect(page.get_by_test_id("profile-name")).to_have_text("Fay")
    await expect(page.get_by_test_id("history-row")).to_have_count(2)
    against_bot = page.locator(f"[data-testid=history-row][data-record='{room}-0']")
    await expect(against_bot.locator(".opponents")).to_have_text(re.compile(r"^Beep.*BOT$"))
    await against_bot.get_by_test_id("player-link").click()
    await expect(page).to_have_url(re.compile(rf"#/player/{re.escape(str(bot_id))}$"))
    await expect(page.get_by_test_id("profile-name")).to_have_text(re.compile(r"^Beep.*BOT$"))
    await expect(page.get_by_test_id("bot-tag")).to_have_count(1)

    # The whole leaderboard, from a rating on Fay's profile.
    await page.goto(server.http + "/#/profile")
    await page.get_by_role("link", name="Tic-tac-toe", exact=True).click()
    await expect(page).to_have_url(re.compile(r"#/leaderboard/tictactoe$"))
    await expect(page.locator(f"[data-testid=lb-row][data-player='{bo_id}']")).to_be_visible()
    assert fay.errors == [], fay.errors
    await fay.context.close()


async def test_an_invite_link_opened_signed_out_takes_the_seat_after_logging_in(
    server: LiveServer, browser: Browser
) -> None:
    """Someone with an account, signed out, opens an invite link: the note says who
    invited them to what above every way in; they log in and land in their seat."""
    async with MeepleClient(server.http) as gus, MeepleClient(server.http) as wes:
        await gus.register("gus", PASSWORD, "Gus")
        await wes.create_session("Wes")
        room = await wes.create_room("tictactoe", private=True)
    gus_page = await new_player(browser, "Gus")
    page = gus_page.page
    await page.goto(f"{server.http}/#/invite/{room['invite']}")
    lead = page.get_by_test_id("invited-lead")
    told = f"Wes invited you to a game of Tic-tac-toe (invite {room['invite']})."
    await expect(lead).to_have_text(told)
    await page.get_by_test_id("welcome-login").click()
    await expect(lead).to_have_text(told)  # still told, whichever way in
    await expect(page.get_by_test_id("invited-next")).to_have_text(
        "Play as a guest, log in or sign up, and you will join it."
    )
    await every_look(page, "welcome-invited-login", SHOTS)
    await log_in(page, "gus")
    await expect(page).to_have_url(re.compile(rf"#/room/{re.escape(room['id'])}$"))
    await expect(page.get_by_test_id("seat-1")).to_contain_text("Gus")
    await expect(page.get_by_test_id("my-name")).to_have_text("Gus")
    assert gus_page.errors == [], gus_page.errors
    await gus_page.context.close()


async def test_every_account_screen_is_accessible_and_photographed(
    server: LiveServer, browser: Browser
) -> None:
    gus = await new_player(browser, "Gus")
    page = gus.page
    await page.goto(server.http + "/")
    await expect(page.get_by_test_id("name-input")).to_be_focused()
    await every_look(page, "welcome-guest", SHOTS)
    # Keyboard only: to "Log in", a failed attempt, then "Sign up" with its mistakes.
    await page.get_by_test_id("welcome-login").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("login-username")).to_be_focused()
    await page.keyboard.type("gus")
    await page.keyboard.press("Tab")
    await page.keyboard.type("wrong password")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("account-error")).to_have_text("Wrong username or password.")
    await every_look(page, "welcome-login-failed", SHOTS)
    await page.get_by_test_id("welcome-signup").click()
    await page.get_by_test_id("username").fill("-x")
    await page.get_by_test_id("signup-submit").click()
    await expect(page.get_by_test_id("username-error")).not_to_be_empty()
    await every_look(page, "welcome-signup-errors", SHOTS)

    await page.get_by_test_id("username").fill("gus")
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("display_name").fill("Gus")
    await page.get_by_test_id("password").press("Enter")
    await expect(page.get_by_test_id("my-name")).to_have_text("Gus")
    async with guest_opponent(server, "Hal") as hal:
        room = await win_against(gus, hal)
        hal_id = hal.player_id
    await open_profile(page)
    await every_look(page, "profile-own", SHOTS)

    await page.get_by_test_id("record-link").click()
    await expect(page.get_by_test_id("record-moves")).to_be_visible()
    await every_look(page, "record", SHOTS)
    await page.goto(f"{server.http}/#/player/{hal_id}")
    await expect(page.get_by_test_id("history-row")).to_have_attribute("data-record", f"{room}-0")
    await every_look(page, "profile-other", SHOTS)
    await page.goto(server.http + "/#/leaderboard/tictactoe")
    await expect(page.get_by_test_id("lb-row")).to_have_count(2)
    await every_look(page, "leaderboard", SHOTS)

    # A guest's sign-up screen.
    ivy = await new_player(browser, "Ivy")
    await ivy.sign_in(server.http)
    await ivy.page.get_by_test_id("sign-up").click()
    await expect(ivy.page.get_by_test_id("signup-form")).to_be_visible()
    await every_look(ivy.page, "signup-guest", SHOTS)
    await ivy.context.close()

    # The export, then the deletion, asked first (the username typed), all by keyboard.
    await page.goto(server.http + "/#/profile")
    async with page.expect_download() as download_info:
        await page.get_by_test_id("export").click()
    download = await download_info.value
    assert download.suggested_filename == "meeple-gus.json"
    exported = json.loads((await download.path()).read_text())
    assert exported["account"]["username"] == "gus"
    assert [g["id"] for g in exported["games"]] == [f"{room}-0"]
    await page.get_by_test_id("delete-account").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("delete-account-password")).to_be_focused()
    await every_look(page, "profile-delete-confirm", SHOTS)
    await page.keyboard.press("Enter")
    refusal = page.get_by_test_id("delete-account-error")
    await expect(refusal).to_have_text("Your password, please.")
    await page.keyboard.type("not my password")
    await page.keyboard.press("Enter")
    await expect(refusal).to_have_text("That is not your password: your account is kept.")
    await expect(page.get_by_test_id("delete-account-password")).to_be_focused()
    await expect(page.get_by_test_id("delete-account-password")).to_have_attribute(
        "aria-invalid", "true"
    )
    await every_look(page, "profile-delete-wrong-password", SHOTS)
    token = (await saved_session(page))["token"]
    async with httpx.AsyncClient(base_url=server.http) as client:
        kept = await client.get("/api/session", headers={"Authorization": f"Bearer {token}"})
        assert kept.status_code == 200, "a wrong password deletes nothing and logs nobody out"
    await page.keyboard.type(PASSWORD)  # the wrong one is selected: typing replaces it
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("signed-out-why")).to_have_text("Your account is deleted.")
    async with httpx.AsyncClient(base_url=server.http) as client:
        answer = await client.post("/api/login", json={"username": "gus", "password": PASSWORD})
        assert answer.status_code == 401
    assert unexpected(gus) == [], gus.errors
    await gus.context.close()
