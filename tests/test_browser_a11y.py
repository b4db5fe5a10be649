"""Every board in every state, for people who use a keyboard or a screen reader, and as
pictures: axe-core (npm, injected into the page) reports no serious or critical
violation on the lobby and on each board at its start, mid-game and end, in light and
dark, on a desktop and a phone screen; each of those is saved as a screenshot under
tests/artifacts/boards/ (ignored by git). Each board is played with the keyboard alone.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.servers import ROOT, LiveServer
from tests.test_browser_game import ARTIFACTS, PHONE, Player, assert_png, browser, new_player

__all__ = ["browser"]

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NPM = Path(os.environ.get("MEEPLE_NPM_MODULES", ROOT / ".venv" / "npm" / "node_modules"))
AXE = NPM / "axe-core" / "axe.min.js"
SHOTS = ARTIFACTS / "boards"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


async def axe(page: Page, where: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: npm install --prefix .venv/npm axe-core@4 (tests/run.sh)")
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(
        """async () => {
          const r = await axe.run(document);
          return {
            passed: r.passes.length,
            found: r.violations
              .filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.slice(0, 3).map((n) => n.html.slice(0, 120)) })),
          };
        }"""
    )
    assert result["passed"] > 10, f"{where}: axe checked almost nothing: {result}"
    assert result["found"] == [], f"{where}: {result['found']}"


async def every_look(page: Page, name: str, shots: Path = SHOTS) -> None:
    """Check and photograph the page in light and dark, on a desktop and a phone (the
    pictures go to ``shots``)."""
    await asyncio.to_thread(shots.mkdir, parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        for screen, size in (("desktop", DESKTOP), ("phone", PHONE)):
            await page.set_viewport_size(size)
            await axe(page, f"{name}, {scheme}, {screen}")
            path = shots / f"{name}-{scheme}-{screen}.png"
            path.unlink(missing_ok=True)
            await page.screenshot(path=str(path), full_page=True)
            assert_png(path)
    await page.emulate_media(color_scheme="light")
    await page.set_viewport_size(DESKTOP)


async def press(page: Page, *keys: str) -> None:
    for key in keys:
        await page.keyboard.press(key)


async def keyboard_move(player: Player, game: str) -> None:
    """One move with the keyboard alone: focus the board's first control, arrows, Enter."""
    page = player.page
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    if game == "tictactoe":
        free = page.locator(".ttt .cell[data-mark='']").first
        await free.focus()
        await press(page, "Enter")
    elif game == "connect4":
        await page.locator("[data-col='0']").focus()
        await press(page, "ArrowRight", "ArrowRight", "ArrowRight", "Enter")  # column 4
    elif game == "chess":
        await page.locator("[data-square=e2]").focus()
        await press(page, "Enter", "ArrowUp", "ArrowUp", "Enter")  # e2 to e4
        await expect(page.locator("[data-square=e4]")).to_have_attribute(
            "aria-label", "e4, white pawn"
        )
    else:  # Liar's Dice: the bid form, by Tab and Enter
        await page.get_by_test_id("bid-qty").focus()
        await press(page, "Tab", "Tab", "Enter")  # past "of" (the face) to Bid


@pytest.mark.parametrize("game", ["tictactoe", "connect4", "chess", "liarsdice"])
async def test_every_board_in_every_state_is_accessible_and_photographed(
    server: LiveServer, browser: Browser, game: str
) -> None:
    ada = await new_player(browser, "Ada")
    await ada.sign_in(server.http)
    page = ada.page
    if game == "tictactoe":
        await every_look(page, "lobby")
    # Start: a room waiting for its second player.
    await ada.create_room(game)
    await expect(page.get_by_test_id("status")).to_contain_text("Waiting for players")
    await every_look(page, f"{game}-start")

    # Mid-game: against the computer (easy), after a move made with the keyboard.
    await page.goto(server.http + "/#/lobby")
    await page.get_by_test_id("qm-game").select_option(game)
    await page.get_by_test_id("play-bot-random").click()
    await expect(page.get_by_test_id("conn")).to_have_text("connected")
    before = await page.get_by_test_id("board").inner_html()
    await keyboard_move(ada, game)
    await expect(page.get_by_test_id("board")).not_to_have_js_property("innerHTML", before)
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    await every_look(page, f"{game}-mid")

    # The end: Ada resigns (with the keyboard: the button, then "Yes").
    await page.get_by_test_id("resign").focus()
    await press(page, "Enter")
    await expect(page.get_by_test_id("resign-confirm")).to_be_focused()
    await press(page, "Enter")
    await expect(page.get_by_test_id("game-over")).to_be_visible()
    await every_look(page, f"{game}-end")
    assert ada.errors == [], ada.errors
    await ada.context.close()
