"""The browser plays any game, in Debian's headless Chromium: Hearts through its own board
(a module of the installed example package, served by a plain ``meeple serve``), and a
game with no board through the generic one (the view as structure, moves as buttons).
Every page's console errors and uncaught exceptions must stay empty."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.sample_games import Nim
from tests.servers import ServerProcess, live_server
from tests.test_browser_game import ARTIFACTS, assert_labelled, assert_png, browser, new_player

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]
__all__ = ["browser"]  # the fixture, shared

OVER = "[data-testid=game-over]:not([hidden])"


async def until_my_move_or_over(page: Page, ready: str) -> bool:
    """Wait until ``ready`` (a selector for something to click) or the end; True at the end."""
    found = f"document.querySelector({OVER!r}) ? 'over' : document.querySelector({ready!r})"
    handle = await page.wait_for_function(f"{found} ? 'move' : null", timeout=30_000)
    return bool(await handle.json_value() == "over")


async def test_hearts_is_played_to_the_end_through_its_own_board(browser: Browser) -> None:
    server = ServerProcess({"MEEPLE_CREATE_LIMITS": "off"})  # plain `meeple serve`
    await server.start()
    try:
        ada = await new_player(browser, "Ada")
        await ada.sign_in(server.http)
        page = ada.page
        await page.get_by_test_id("create-game").select_option("hearts")
        await page.get_by_test_id("create-bots").fill("3")
        await page.get_by_test_id("create-opt-target").fill("1")  # one hand is the game
        await page.get_by_test_id("create-submit").click()
        hand = page.get_by_test_id("hearts-hand").locator("button")
        await expect(hand).to_have_count(13, timeout=15_000)  # the board came from the package
        await expect(page.get_by_test_id("hearts-info")).to_contain_text("pick three cards to pass")
        await assert_labelled(page, "the Hearts board", "[data-testid=board]")
        for i in range(3):
            await hand.nth(i).click()
        await expect(page.get_by_test_id("pass")).to_be_enabled()
        await page.get_by_test_id("pass").click()
        playable = "[data-testid=hearts-hand] button[aria-disabled=false]"
        played = 0
        while not await until_my_move_or_over(page, playable):
            before = await hand.count()
            await page.locator(playable).first.click()
            await expect(hand).to_have_count(before - 1)
            played += 1
        assert played == 13
        await expect(page.get_by_test_id("result")).to_contain_text("reached the target")
        await expect(page.get_by_test_id("hearts-scores").locator("tbody tr")).to_have_count(4)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "hearts-finished.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert_png(shot)
        assert ada.errors == []
        await ada.context.close()
    finally:
        server.stop()


async def test_a_game_without_a_board_is_playable_on_the_generic_one(browser: Browser) -> None:
    async with live_server(games=[Nim]) as srv:
        ada = await new_player(browser, "Ada")
        await ada.sign_in(srv.http)
        page = ada.page
        await page.get_by_test_id("create-game").select_option("nim")
        await page.get_by_test_id("create-bots").fill("1")
        await page.get_by_test_id("create-submit").click()
        view = page.get_by_test_id("generic-view")
        await expect(view.locator("dt")).to_have_text(["left"])  # the view, as fields
        await expect(view.locator("dd[data-key=left]")).to_have_text("9")
        buttons = "[data-testid=generic-moves] button:not([disabled])"
        moves = 0
        while not await until_my_move_or_over(page, buttons):
            await expect(page.locator(buttons)).to_have_text(
                ["n 1", "n 2", "n 3"][: await page.locator(buttons).count()]
            )
            await assert_labelled(page, "the generic board", "[data-testid=board]")
            await page.locator(buttons).first.click()
            moves += 1
            await expect(
                page.locator("[data-testid=generic-moves] button[disabled]")
            ).to_have_count(0)
        assert moves > 0
        await expect(page.get_by_test_id("result")).to_contain_text("took the last")
        assert ada.errors == []
        await ada.context.close()
