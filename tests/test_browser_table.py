"""The room page as a game table (issue 20), in Debian's headless Chromium.

Each test plays through the browser as people would and checks what they see: a room
that has not started, a game that ended, a player out of a game that goes on. The
fixtures and helpers are tests/test_browser_game.py's. Screenshots go to
tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import random
import re

import chess
import httpx
import pytest
from playwright.async_api import Browser, FloatRect, Page, Route, expect

from meeple.lobby.settings import Settings
from tests.conftest import open_peer
from tests.servers import LiveServer, live_server
from tests.test_browser_game import (
    ARTIFACTS,
    Player,
    assert_png,
    browser,
    close_players,
    goto_room,
    new_player,
    sit_down_together,
    two_players_in_a_room,
)

__all__ = ["browser"]  # the fixture, imported for the tests below

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

GAMES = ("tictactoe", "connect4", "chess", "liarsdice")


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    assert_png(path)


async def board_box(page: Page) -> FloatRect:
    """Where the board's grid is drawn: nothing may move it (a notice, a result)."""
    box = await page.locator("[data-testid=board] > :first-child").bounding_box()
    assert box is not None
    return box


# Runs in the page: how far the result box's centre is from the centre of the board's
# surface (its [data-surface] element, else its first), across and down; whether it is
# wider than the surface and pinned to the board area's edge instead.
OFF_CENTRE = """
() => {
  const board = document.querySelector("[data-testid=board]");
  const surface = board.querySelector("[data-surface]") ?? board.firstElementChild;
  const s = surface.getBoundingClientRect();
  const a = board.parentElement.getBoundingClientRect();
  const o = document.querySelector("[data-testid=game-over]").getBoundingClientRect();
  return {x: (o.left + o.width / 2) - (s.left + s.width / 2), top: o.top - s.top,
          inside: o.left >= a.left - 0.5 && o.right <= a.right + 0.5,
          pinned: o.width > s.width && (Math.abs(o.left - a.left) < 0.5
                                        || Math.abs(o.right - a.right) < 0.5)};
}
"""


async def assert_result_over_the_board(page: Page) -> None:
    """The result box is centred across the board's squares, near their top (or, wider
    than the board, as near that as the board area allows)."""
    await expect(page.get_by_test_id("game-over")).to_be_visible()
    where = await page.evaluate(OFF_CENTRE)
    assert abs(where["x"]) <= 1.5 or where["pinned"], where
    assert 0 <= where["top"] <= 40 and where["inside"], where


async def test_every_board_shows_a_room_that_has_not_started(
    server: LiveServer, browser: Browser
) -> None:
    ada = await new_player(browser, "Ada")
    await ada.sign_in(server.http)
    page = ada.page
    for game in GAMES:
        await page.goto(server.http + "/#/lobby")
        await expect(page.get_by_test_id("create-form")).to_be_visible()
        await ada.create_room(game)
        await expect(page.get_by_test_id("status")).to_contain_text("Waiting for players")
        await expect(page.get_by_test_id("seat-0")).to_contain_text("you")
        # Seated already: no "Take a seat", no Resign, and leaving forfeits nothing.
        await expect(page.get_by_test_id("take-seat")).to_have_count(0)
        await expect(page.get_by_test_id("resign")).to_have_count(0)
        await expect(page.get_by_test_id("leave")).to_have_text("Leave")
        await expect(page.get_by_test_id("game-over")).to_be_hidden()
        if game == "chess":
            # The starting position, and no draw buttons before the game.
            await expect(page.locator("[data-square=e1]")).to_have_attribute(
                "aria-label", "e1, white king"
            )
            await expect(page.locator("[data-square=d8]")).to_have_attribute(
                "aria-label", "d8, black queen"
            )
            for button in ("offer-draw", "accept-draw", "claim-draw"):
                await expect(page.get_by_test_id(button)).to_be_hidden()
            await expect(page.get_by_test_id("chess-info")).not_to_contain_text("to play")
        if game == "liarsdice":
            await expect(page.get_by_test_id("round")).to_have_text("Waiting for players")
        await shot(page, f"{game}-waiting")
        assert ada.errors == [], f"{game}: {ada.errors}"
    await ada.context.close()


async def click_move(player: Player, uci: str) -> None:
    page = player.page
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    await page.locator(f"[data-square={uci[:2]}]").click()
    await page.locator(f"[data-square={uci[2:4]}]").click()


async def test_a_finished_chess_game_says_so_and_drops_stale_errors(
    server: LiveServer, browser: Browser
) -> None:
    ada, bo, _ = await two_players_in_a_room(browser, server.http, "chess")
    await click_move(ada, "f2f3")
    where = {p.name: await board_box(p.page) for p in (ada, bo)}
    # Bo tries a move the rules refuse: an error notice over the page (the board does not
    # move), which the next move takes down.
    await click_move(bo, "e7e4")
    notice = bo.page.get_by_test_id("notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_have_class(re.compile(r"\berror\b"))
    assert await board_box(bo.page) == where["Bo"], "the error notice moved the board"
    await click_move(bo, "e7e5")
    await expect(notice).to_be_hidden()
    await click_move(ada, "g2g4")
    await click_move(bo, "d8h4")  # fool's mate

    # The result, in the first person, over the board: nothing moved.
    await expect(bo.page.get_by_test_id("result")).to_have_text("You won (checkmate)")
    await expect(ada.page.get_by_test_id("result")).to_have_text("You lost: Bo won (checkmate)")
    for player in (ada, bo):
        await expect(player.page.get_by_test_id("game-over")).to_be_visible()
        assert await board_box(player.page) == where[player.name], "the result moved the board"
        # Centred on the squares, not on the squares and the move list together.
        await assert_result_over_the_board(player.page)

    # The move list in SAN, the reason on the result line, coordinates on the edges.
    for player in (ada, bo):
        moves = player.page.get_by_test_id("move-list").locator("li")
        await expect(moves).to_have_count(2)
        await expect(moves.nth(0)).to_have_text("f3 e5")
        await expect(moves.nth(1)).to_have_text("g4 Qh4#")
    await expect(ada.page.locator("[data-square=a1]")).to_have_attribute("data-file", "a")
    await expect(ada.page.locator("[data-square=a1]")).to_have_attribute("data-rank", "1")
    await expect(bo.page.locator("[data-square=h8]")).to_have_attribute("data-file", "h")
    for player in (ada, bo):
        info = player.page.get_by_test_id("chess-info")
        await expect(info).to_contain_text("Checkmate · Game over after 4 moves")
        await expect(info).not_to_contain_text("to play")
        await expect(player.page.get_by_test_id("game-over")).to_be_visible()
        await expect(player.page.get_by_test_id("resign")).to_have_count(0)
        for button in ("offer-draw", "accept-draw", "claim-draw"):
            await expect(player.page.get_by_test_id(button)).to_be_hidden()
        await shot(player.page, f"chess-end-{player.name.lower()}")
    # Closed, the result stays closed (a reload too); the status line and Rematch remain.
    await ada.page.get_by_test_id("close-result").click()
    await expect(ada.page.get_by_test_id("game-over")).to_be_hidden()
    await expect(ada.page.get_by_test_id("rematch-side")).to_be_visible()
    await ada.page.reload()
    await expect(ada.page.get_by_test_id("conn")).to_have_text("connected")
    await expect(ada.page.get_by_test_id("status")).to_have_text("You lost: Bo won (checkmate)")
    await expect(ada.page.get_by_test_id("game-over")).to_be_hidden()
    await close_players(ada, bo)


async def test_resigning_from_three_seats_leaves_you_watching(
    server: LiveServer, browser: Browser
) -> None:
    ada = await new_player(browser, "Ada")
    bo = await new_player(browser, "Bo")
    await ada.sign_in(server.http)
    await bo.sign_in(server.http)
    page = ada.page
    await page.get_by_test_id("create-game").select_option("liarsdice")
    await page.get_by_test_id("create-seats").fill("3")
    room_id = await ada.create_room("liarsdice", bots=1)
    await goto_room(bo, server.http, room_id)
    await bo.page.get_by_test_id("take-seat").click()
    await expect(page.get_by_test_id("round")).to_contain_text("Round 1")
    await expect(page.get_by_test_id("my-dice")).to_contain_text("Your dice")

    await page.get_by_test_id("resign").click()
    await page.get_by_test_id("resign-confirm").click()
    # Bo (a person) and the bot play on; Ada is out and watching.
    await expect(page.get_by_test_id("my-dice")).to_have_text(
        "You are out of this game: watching the others."
    )
    await expect(page.get_by_test_id("status")).to_contain_text("You are out, watching")
    await expect(page.get_by_test_id("resign")).to_have_count(0)
    await expect(page.get_by_test_id("leave")).to_have_text("Leave")
    await expect(page.get_by_test_id("game-over")).to_be_hidden()
    await shot(page, "liarsdice-out")
    # A reload remembers it.
    await page.reload()
    await expect(page.get_by_test_id("conn")).to_have_text("connected")
    await expect(page.get_by_test_id("status")).to_contain_text("You are out, watching")
    await expect(page.get_by_test_id("resign")).to_have_count(0)
    await expect(bo.page.get_by_test_id("game-over")).to_be_hidden()
    await close_players(ada, bo)


async def test_a_reload_keeps_the_chat(server: LiveServer, browser: Browser) -> None:
    ada, bo, _ = await two_players_in_a_room(browser, server.http)
    await expect(ada.page.get_by_test_id("status")).to_have_text("Your turn")
    for player, text in ((ada, "hello Bo"), (bo, "hi Ada"), (ada, "good luck")):
        await player.page.get_by_test_id("chat-input").fill(text)
        await player.page.get_by_test_id("chat-input").press("Enter")
        await expect(bo.page.get_by_test_id("chat-log")).to_contain_text(text)

    # A reload (which resumes) and a reconnect both show the room's lines, each once.
    await bo.page.reload()
    await expect(bo.page.get_by_test_id("conn")).to_have_text("connected")
    lines = bo.page.get_by_test_id("chat-line")
    await expect(lines).to_have_count(3)
    await expect(lines.nth(0)).to_contain_text("Ada: hello Bo")
    await expect(lines.nth(1)).to_contain_text("Bo: hi Ada")
    await expect(lines.nth(2)).to_contain_text("Ada: good luck")
    await ada.page.reload()
    await expect(ada.page.get_by_test_id("chat-line")).to_have_count(3)
    await close_players(ada, bo)


async def test_a_rematch_swaps_colours_and_keeps_the_score(
    server: LiveServer, browser: Browser
) -> None:
    ada, bo, _ = await two_players_in_a_room(browser, server.http, "chess")
    # Game 1: Ada is white and resigns at once.
    await expect(ada.page.get_by_test_id("status")).to_have_text("Your turn")
    await expect(ada.page.locator(".chess .sq").first).to_have_attribute("data-square", "a8")
    await ada.page.get_by_test_id("resign").click()
    await ada.page.get_by_test_id("resign-confirm").click()
    for player in (ada, bo):
        await expect(player.page.get_by_test_id("score")).to_have_text(
            "Score in this room: Ada 0 · Bo 1"
        )
    await expect(bo.page.get_by_test_id("score-1")).to_have_text("1")
    for player in (ada, bo):
        await player.page.get_by_test_id("rematch").click()
    # Game 2: the colours swap: Bo is white (seat 0, to move), Ada black (her board flipped).
    await expect(bo.page.get_by_test_id("status")).to_have_text("Your turn")
    await expect(ada.page.get_by_test_id("status")).to_have_text("Bo to move")
    await expect(ada.page.get_by_test_id("seat-1")).to_contain_text("Ada")
    await expect(ada.page.get_by_test_id("seat-1")).to_contain_text("you")
    await expect(ada.page.locator(".chess .sq").first).to_have_attribute("data-square", "h1")
    await expect(ada.page.get_by_test_id("score-0")).to_have_text("1")  # Bo, now seat 0
    await click_move(bo, "e2e4")
    await click_move(ada, "e7e5")
    await shot(ada.page, "chess-mid-ada")
    # Bo offers a draw, Ada accepts: ½ each.
    await bo.page.get_by_test_id("offer-draw").click()
    await click_move(bo, "g1f3")
    await expect(ada.page.get_by_test_id("accept-draw")).to_be_visible()
    await ada.page.get_by_test_id("accept-draw").click()
    for player in (ada, bo):
        await expect(player.page.get_by_test_id("score")).to_have_text(
            "Score in this room: Bo 1½ · Ada ½"
        )
    await close_players(ada, bo)


async def test_last_moves_and_winning_lines_are_marked(
    server: LiveServer, browser: Browser
) -> None:
    # Tic-tac-toe: the last mark, then the winning row.
    ada, bo, room_id = await two_players_in_a_room(browser, server.http)
    for mover, cell in ((ada, 0), (bo, 3), (ada, 1), (bo, 4)):
        await expect(mover.page.get_by_test_id("status")).to_have_text("Your turn")
        await mover.cell(cell).click()
        for player in (ada, bo):
            await expect(player.page.locator(".ttt .cell.last")).to_have_attribute(
                "data-cell", str(cell)
            )
    await expect(ada.cell(4)).to_have_attribute("aria-description", "last move")
    # A reload shows the last move at once (the page kept the last change), not after the
    # next one; so does a newcomer's first snapshot (its "lo" is that change).
    await bo.page.reload()
    await expect(bo.page.get_by_test_id("conn")).to_have_text("connected")
    await expect(bo.page.locator(".ttt .cell.last")).to_have_attribute("data-cell", "4")
    cy = await new_player(browser, "Cy")
    await cy.sign_in(server.http)
    await goto_room(cy, server.http, room_id)
    await expect(cy.page.get_by_test_id("watching")).to_have_text("watching")
    await expect(cy.page.locator(".ttt .cell.last")).to_have_attribute("data-cell", "4")
    await expect(cy.page.locator(".ttt .cell.last")).to_have_count(1)
    await ada.cell(2).click()
    for player in (ada, bo):
        wins = player.page.locator(".ttt .cell.win")
        await expect(wins).to_have_count(3)
        assert [await w.get_attribute("data-cell") for w in await wins.all()] == ["0", "1", "2"]
    await expect(bo.cell(1)).to_have_attribute("aria-description", "winning line")
    await shot(bo.page, "tictactoe-end-bo")
    await assert_result_over_the_board(bo.page)
    await expect(cy.page.locator(".ttt .cell.win")).to_have_count(3)
    await close_players(cy)

    # Connect Four: the last disc, then the four in a column.
    for player in (ada, bo):
        await player.page.goto(server.http + "/#/lobby")
    await sit_down_together(ada, bo, server.http, "connect4")
    for mover, col in ((ada, 0), (bo, 1), (ada, 0), (bo, 1), (ada, 0), (bo, 1)):
        await expect(mover.page.get_by_test_id("status")).to_have_text("Your turn")
        await mover.page.locator(f"[data-col='{col}']").click()
        await expect(bo.page.locator(".hole.last")).to_have_count(1)
    await expect(ada.page.locator(".hole.last")).to_have_attribute("data-cell", "1-2")
    await expect(ada.page.locator("[data-col='1']")).to_have_attribute(
        "aria-label", re.compile("last move here")
    )
    await ada.page.reload()
    await expect(ada.page.get_by_test_id("conn")).to_have_text("connected")
    await expect(ada.page.locator(".hole.last")).to_have_attribute("data-cell", "1-2")
    await shot(ada.page, "connect4-mid-ada")
    await ada.page.locator("[data-col='0']").click()
    for player in (ada, bo):
        await expect(player.page.locator(".hole.win")).to_have_count(4)
        await expect(player.page.locator("[data-col='0']")).to_have_attribute(
            "aria-label", re.compile("part of the winning line")
        )
    await shot(bo.page, "connect4-end-bo")
    await assert_result_over_the_board(bo.page)
    await close_players(ada, bo)


async def test_chess_offers_a_draw_claim_only_when_there_is_one(
    server: LiveServer, browser: Browser
) -> None:
    ada, bo, _ = await two_players_in_a_room(browser, server.http, "chess")
    # The knights go out and back: no claim on any turn until black may claim a third
    # repetition of the start (f6g8 would make it).
    moves = ["g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1"]
    for i, uci in enumerate(moves):
        mover = (ada, bo)[i % 2]
        await click_move(mover, uci)
        await expect(mover.page.locator(f"[data-square={uci[2:]}]")).not_to_have_attribute(
            "data-piece", ""
        )
        if i < len(moves) - 1:
            waiting = (ada, bo)[(i + 1) % 2]
            await expect(waiting.page.get_by_test_id("status")).to_have_text("Your turn")
            await expect(waiting.page.get_by_test_id("claim-draw")).to_be_hidden()
    claim = bo.page.get_by_test_id("claim-draw")
    await expect(claim).to_be_visible()
    await expect(claim).to_have_text("Claim draw (threefold repetition)")
    await expect(ada.page.get_by_test_id("claim-draw")).to_be_hidden()  # not Ada's turn
    await shot(bo.page, "chess-claim-bo")
    await claim.click()
    for player in (ada, bo):
        await expect(player.page.get_by_test_id("result")).to_have_text(
            "Draw by threefold repetition"
        )
        await expect(player.page.get_by_test_id("claim-draw")).to_be_hidden()
    await close_players(ada, bo)


async def test_a_quick_match_that_finds_nobody_offers_the_computer(browser: Browser) -> None:
    # Quick-match tickets that wait 2 s (MEEPLE_TICKET_SECONDS), not 60.
    async with live_server(Settings(ticket_seconds=2)) as server:
        ada = await new_player(browser, "Ada")
        await ada.sign_in(server.http)
        page = ada.page
        await page.get_by_test_id("qm-game").select_option("tictactoe")
        await page.get_by_test_id("quick-match").click()
        status = page.get_by_test_id("qm-status")
        await expect(status).to_have_text("Looking for opponents…")
        await expect(page.get_by_test_id("qm-cancel")).to_be_visible()
        # Nobody comes: the ticket expires and the computer is offered, ready to click.
        await expect(status).to_have_text(
            "Nobody turned up in time: try again, or play the computer."
        )
        easy = page.get_by_test_id("play-bot-random")
        await expect(easy).to_be_focused()
        await expect(page.get_by_test_id("qm-cancel")).to_be_hidden()
        await expect(page.get_by_test_id("quick-match")).to_be_enabled()
        await shot(page, "quickmatch-nobody")
        await page.keyboard.press("Enter")  # one key (or click) on what is offered
        await expect(page).to_have_url(re.compile(r"#/room/[^/]+$"))
        await expect(page.get_by_test_id("conn")).to_have_text("connected")
        await expect(page.get_by_test_id("seat-1")).to_contain_text("(random)")
        await expect(page.get_by_test_id("status")).to_have_text("Your turn")
        await ada.cell(4).click()
        await expect(page.locator(".ttt [aria-label$=', O']")).to_have_count(1)  # answered
        await expect(page.get_by_test_id("status")).to_have_text("Your turn")
        await close_players(ada)


async def test_a_liars_dice_reveal_highlights_the_counted_dice(
    server: LiveServer, browser: Browser
) -> None:
    ada = await new_player(browser, "Ada")
    await ada.sign_in(server.http)
    page = ada.page
    await ada.create_room("liarsdice", bots=1)
    reveal = page.get_by_test_id("reveal")
    # Ada bids when nobody has, calls "Liar!" otherwise, until a round has been revealed.
    for _ in range(10):
        if await reveal.locator(".revealed").count():
            break
        await expect(page.get_by_test_id("status")).to_have_text(
            re.compile("Your turn|won"), timeout=10_000
        )
        if await reveal.locator(".revealed").count():
            break
        # What the table shows now: the move changes it (the bot may answer at once).
        table = "() => document.querySelector('.liars').innerText"
        before = await page.evaluate(table)
        if await page.get_by_test_id("challenge").is_enabled():
            await page.get_by_test_id("challenge").click()
        else:
            await page.get_by_test_id("bid").click()
        await page.wait_for_function(f"(before) => ({table})() !== before", arg=before)
    text = await reveal.locator("p").first.text_content()
    assert text is not None
    found = re.search(r"There were (\d+);", text)
    assert found, text
    # The bid's pictures, not "3 x 5": a die face in the message; the counted dice marked.
    assert re.search("[\u2680-\u2685]", text), text
    await expect(reveal.locator(".die.counted")).to_have_count(int(found.group(1)))
    await shot(page, "liarsdice-reveal")
    await close_players(ada)


async def test_an_away_opponent_is_shown_with_the_grace_countdown(browser: Browser) -> None:
    async with live_server(Settings(grace_seconds=45)) as server:
        ada, bo, room_id = await two_players_in_a_room(browser, server.http)
        await expect(ada.page.get_by_test_id("status")).to_have_text("Your turn")
        away = ada.page.get_by_test_id("away")
        await expect(away).to_be_hidden()
        await bo.page.close()  # Bo's tab goes: his connection with it
        await expect(away).to_have_text(re.compile(r"^Bo left: 0:4\d to come back$"))
        first = await away.text_content()
        await expect(away).not_to_have_text(first or "")  # it counts down
        await shot(ada.page, "tictactoe-away")
        # Bo comes back: the countdown goes.
        page = await bo.context.new_page()
        await page.goto(f"{server.http}/#/room/{room_id}")
        await expect(page.get_by_test_id("conn")).to_have_text("connected")
        await expect(away).to_be_hidden()
        await close_players(ada, bo)


async def test_play_the_computer_is_one_click(server: LiveServer, browser: Browser) -> None:
    ada = await new_player(browser, "Ada")
    await ada.sign_in(server.http)
    page = ada.page
    for game, button, strategy in (("tictactoe", "random", "random"), ("connect4", "best", "best")):
        await page.goto(server.http + "/#/lobby")
        await page.get_by_test_id("qm-game").select_option(game)
        await page.get_by_test_id(f"play-bot-{button}").click()
        await expect(page).to_have_url(re.compile(r"#/room/[^/]+$"))
        await expect(page.get_by_test_id("conn")).to_have_text("connected")
        await expect(page.get_by_test_id("seat-1")).to_contain_text(f"({strategy})")
        await expect(page.get_by_test_id("seat-0")).to_contain_text("you")
        await expect(page.get_by_test_id("status")).to_have_text("Your turn")
        if game == "tictactoe":
            await ada.cell(4).click()
        else:
            await page.locator("[data-col='3']").click()
        # The computer answers.
        theirs = "[aria-label$=', O']" if game == "tictactoe" else ".hole[data-disc=yellow]"
        await expect(page.locator(theirs)).to_have_count(1)
        await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    await close_players(ada)


async def test_the_lobby_lists_open_rooms_first_and_labels_things_for_people(
    server: LiveServer, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=server.http) as api:
        answer = await api.post("/api/sessions", json={"name": "Wes"})
        token = answer.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}

        async def room(**body: object) -> str:
            made = await api.post("/api/rooms", json={"game": "tictactoe", **body}, headers=auth)
            assert made.status_code == 201, made.text
            return str(made.json()["id"])

        full = await room(bots=[1])  # waiting for Wes, no seat free
        finished = await room(bots=[1])
        peer = await open_peer(server.ws, finished, token)
        await peer.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
        await peer.send({"t": "resign", "id": 1})
        await peer.until(lambda m: m["t"] == "d" and m.get("st") == "finished")
        await peer.ws.close()
        waiting = await room(private=False)

    ada = await new_player(browser, "Ada")
    await ada.sign_in(server.http)
    page = ada.page
    items = page.get_by_test_id("room-list").get_by_test_id("room-item")
    await expect(items.first).to_have_attribute("data-room", waiting)
    await expect(items.nth(1)).to_have_attribute("data-room", full)
    await expect(
        page.get_by_test_id("room-list").locator(f"[data-room='{finished}']")
    ).to_have_count(0)
    await expect(
        page.get_by_test_id("finished-list").locator(f"[data-room='{finished}']")
    ).to_have_count(1)

    # The form says what the options are, from the schema's titles and descriptions.
    await page.get_by_test_id("create-game").select_option("chess")
    await expect(page.locator("label[for=create-opt-turn_seconds]")).to_have_text(
        "Seconds per turn"
    )
    await expect(page.locator("label[for=create-opt-fen]")).to_have_text("Starting position (FEN)")
    await expect(page.locator("#create-opt-fen-help")).to_contain_text("FEN")
    await page.get_by_test_id("create-game").select_option("liarsdice")
    await expect(page.locator("label[for=create-opt-ones_wild]")).to_have_text("Ones are wild")
    await shot(page, "lobby-desktop")

    # A spectator is labelled as one.
    await goto_room(ada, server.http, full)
    await expect(page.get_by_test_id("watching")).to_have_text("watching")

    # On a phone, "New room" comes before the room list.
    cy = await new_player(browser, "Cy", viewport={"width": 375, "height": 740})
    await cy.sign_in(server.http)
    create = await cy.page.get_by_test_id("create-form").bounding_box()
    rooms = await cy.page.get_by_test_id("room-list").bounding_box()
    assert create and rooms and create["y"] < rooms["y"], (create, rooms)
    await shot(cy.page, "lobby-phone")

    # Someone signed out who opens an invite link is told which room it is (the game, who
    # invited them, the seats), then joins. (Made now: Wes's seat, reserved but never
    # connected, lapses after 30 s.)
    async with httpx.AsyncClient(base_url=server.http) as api:
        private = await api.post(
            "/api/rooms",
            json={"game": "chess", "private": True, "clock": {"bank": 300, "inc": 3}},
            headers=auth,
        )
        invite = private.json()["invite"]
    dee = await new_player(browser, "Dee")
    await dee.page.goto(f"{server.http}/#/invite/{invite}")
    invited = dee.page.get_by_test_id("invited")
    await expect(invited).to_contain_text(invite)
    await expect(dee.page.get_by_test_id("invited-lead")).to_have_text(
        f"Wes invited you to a game of Chess (invite {invite})."
    )
    await expect(dee.page.get_by_test_id("invited-game")).to_have_text("Chess")
    await expect(dee.page.get_by_test_id("invited-host")).to_have_text("Wes")
    await expect(dee.page.get_by_test_id("invited-seats")).to_have_text("1 of 2 free")
    await expect(dee.page.get_by_test_id("invited-clock")).to_have_text("5 min + 3 s")
    await shot(dee.page, "invite-signed-out")
    # A code that leads nowhere (never made, or its room closed) says so.
    eve = await new_player(browser, "Eve")
    await eve.page.goto(f"{server.http}/#/invite/{'x' * 22}")
    await expect(eve.page.get_by_test_id("invited-lead")).to_have_text(
        f"The invite {'x' * 22} does not lead to a room any more: it may have closed."
    )
    await expect(eve.page.get_by_test_id("invited-room")).to_be_hidden()
    await dee.enter_name()
    await expect(dee.page).to_have_url(re.compile(r"#/room/"))
    await expect(dee.page.get_by_test_id("seat-1")).to_contain_text("Dee")
    await close_players(ada, cy, dee)
    # Eve's page asked for a code that does not exist: the one error it shows is that 404.
    assert all("404" in e for e in eve.errors), eve.errors
    await eve.context.close()


def random_games(count: int, seed: int) -> list[tuple[str, list[str], list[str]]]:
    """Random legal chess games (start FEN, UCI moves, SAN from python-chess)."""
    rng = random.Random(seed)
    games = []
    for n in range(count):
        board = chess.Board()
        if n % 3 == 2:  # some from a position full of promotions and castling rights
            board = chess.Board("r3k2r/1P4P1/8/3pP3/8/8/1p4p1/R3K2R w KQkq d6 0 1")
        start = board.fen()
        ucis: list[str] = []
        sans: list[str] = []
        while not board.is_game_over() and len(ucis) < 120:
            move = rng.choice(list(board.legal_moves))
            sans.append(board.san(move))
            ucis.append(move.uci())
            board.push(move)
        games.append((start, ucis, sans))
    return games


async def test_the_chess_move_list_is_the_san_python_chess_writes(
    server: LiveServer, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(server.http + "/")
    games = random_games(30, seed=20)
    written = await page.evaluate(
        """async (games) => {
          const { notation } = await import("/games/chess/board/chess-notation.js");
          return games.map(([start, moves, sans]) => {
            const over = sans.length && sans.at(-1).endsWith("#");
            return notation(start, moves, over).sans;
          });
        }""",
        games,
    )
    for (start, ucis, sans), got in zip(games, written, strict=True):
        for i, (want, have) in enumerate(zip(sans, got, strict=True)):
            assert want == have, f"{start} after {ucis[:i]}: {ucis[i]} is {want}, not {have}"
    # Captures, by each side, an en passant one included.
    taken = await page.evaluate(
        """async () => {
          const { notation } = await import("/games/chess/board/chess-notation.js");
          const start = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";
          const { byWhite, byBlack } = notation(start, ["e2e4", "d7d5", "e4d5", "d8d5",
            "b1c3", "d5a5", "e1e2", "e7e5", "d2d4", "e5e4", "f2f4", "e4f3"]);
          return [byWhite, byBlack];
        }"""
    )
    assert taken == [["p"], ["P", "P"]]
    await page.close()


async def test_docs_and_redoc_work_with_no_internet(server: LiveServer, browser: Browser) -> None:
    context = await browser.new_context()
    outside: list[str] = []

    async def only_here(route: Route) -> None:
        if route.request.url.startswith(server.http):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_here)
    page = await context.new_page()
    await page.goto(server.http + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Meeple")
    await expect(page.locator(".opblock-tag").first).to_be_visible()
    await page.goto(server.http + "/redoc")
    await expect(page.locator("redoc h1, [role=main] h1").first).to_contain_text("Meeple")
    assert outside == [], f"asked the internet for {outside}"
    await context.close()
