"""The browser client (client/web) against a real server, in Debian's headless Chromium.

The server is ``live_server()`` (uvicorn in the test's event loop, serving the API, the
WebSockets and the static client at /), so the browser is driven with Playwright's
async API in the same loop. Every page's console errors and uncaught exceptions are
collected and must stay empty. The test never downloads a browser.

1. Two players (two browser contexts) sign in, one creates a tic-tac-toe room, the
   other joins it from the room list, they play to a win by clicking cells, chat, and
   the second player reloads mid-game and resumes; screenshots of both final boards go
   to tests/artifacts/.
2. On a 375x740 phone screen the lobby and the room do not scroll sideways and a
   cell can be played with the keyboard alone (Tab, Enter, arrow keys).
3. On the room screen (waiting, playing, asking to confirm, finished) every button
   has an accessible name and every form control a label.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.servers import LiveServer
from tests.test_browser_delta import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PHONE: ViewportSize = {"width": 375, "height": 740}
WAIT_MS = 10_000  # for anything that crosses the server: a move, a chat line, a reconnect
ROOM_LIST_MS = 15_000  # the lobby refreshes its room list every 4 s


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()
            expect.set_options(timeout=5_000)  # Playwright's default, for other tests


class Player:
    """One person: a browser context of their own (own localStorage), one page."""

    def __init__(self, name: str, context: BrowserContext, page: Page) -> None:
        self.name = name
        self.context = context
        self.page = page
        self.errors: list[str] = []
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def cell(self, i: int) -> Locator:
        return self.page.locator(f"[data-cell='{i}']")

    async def enter_name(self) -> None:
        """The guest's name, typed into the welcome screen (or an invite's) and sent."""
        await self.page.get_by_test_id("name-input").fill(self.name)
        await self.page.get_by_test_id("name-submit").click()

    async def sign_in(self, base: str) -> None:
        page = self.page
        await page.goto(base + "/")
        await self.enter_name()
        await expect(page.get_by_test_id("my-name")).to_have_text(self.name)
        await expect(page.get_by_test_id("create-form")).to_be_visible()
        await expect(page).to_have_url(re.compile(r"#/lobby$"))

    async def create_room(self, game: str = "tictactoe", bots: int = 0) -> str:
        """Creates a room through the lobby's form; the room's id once it is open."""
        page = self.page
        await page.get_by_test_id("create-game").select_option(game)
        if bots:
            await page.get_by_test_id("create-bots").fill(str(bots))
        await page.get_by_test_id("create-submit").click()
        await expect(page).to_have_url(re.compile(r"#/room/[^/]+$"))
        await expect(page.get_by_test_id("conn")).to_have_text("connected")
        room_id = str(await page.evaluate("location.hash")).rsplit("/", 1)[-1]
        assert room_id
        return room_id


async def new_player(browser: Browser, name: str, viewport: ViewportSize | None = None) -> Player:
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    return Player(name, context, await context.new_page())


async def goto_room(player: Player, base: str, room_id: str) -> None:
    """Open a room's page by its address, as a shared link or a reload would."""
    await player.page.goto(f"{base}/#/room/{room_id}")
    await expect(player.page.get_by_test_id("conn")).to_have_text("connected")


async def sit_down_together(host: Player, guest: Player, base: str, game: str) -> str:
    """``host`` makes a room of ``game`` from the lobby (seat 0); ``guest`` opens it by its
    address and takes seat 1. The room's id."""
    room_id = await host.create_room(game)
    await goto_room(guest, base, room_id)
    await guest.page.get_by_test_id("take-seat").click()
    await expect(guest.page.get_by_test_id("seat-1")).to_contain_text("you")
    return room_id


async def two_players_in_a_room(
    browser: Browser, base: str, game: str = "tictactoe"
) -> tuple[Player, Player, str]:
    """Ada and Bo signed in and seated in a new room of ``game`` (Ada made it: seat 0).
    Returns them and the room's id."""
    ada = await new_player(browser, "Ada")
    bo = await new_player(browser, "Bo")
    await ada.sign_in(base)
    await bo.sign_in(base)
    return ada, bo, await sit_down_together(ada, bo, base, game)


async def close_players(*players: Player) -> None:
    """Every page stayed free of console errors and uncaught exceptions; then close them."""
    for player in players:
        assert player.errors == [], f"{player.name}'s page: {player.errors}"
        await player.context.close()


def assert_png(path: Path) -> None:
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert len(data) > 1000, f"{path} is only {len(data)} bytes"
    assert data.startswith(PNG_MAGIC), f"{path} is not a PNG"


async def play(mover: Player, cell: int, mark: str, others: list[Player]) -> None:
    """``mover`` clicks ``cell`` once it is their turn; everyone then sees the mark."""
    page = mover.page
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    await expect(mover.cell(cell)).to_have_attribute("aria-label", f"cell {cell}, empty")
    await expect(mover.cell(cell)).to_have_attribute("aria-disabled", "false")
    await mover.cell(cell).click()
    for player in (mover, *others):
        await expect(player.cell(cell)).to_have_attribute("aria-label", f"cell {cell}, {mark}")


async def scroll_width(page: Page) -> int:
    return int(await page.evaluate("document.scrollingElement.scrollWidth"))


# Runs in the page: every button without an accessible name, every control without a label.
UNNAMED = """
(root) => {
  const scope = document.querySelector(root) ?? document;
  const byIds = (el, attr) => (el.getAttribute(attr) ?? "").split(/\\s+/).filter(Boolean)
    .map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
  const describe = (el) => el.outerHTML.slice(0, 160);
  const buttons = [...scope.querySelectorAll("button, [role=button]")].filter((el) => {
    const name = (el.textContent ?? "").trim() || (el.getAttribute("aria-label") ?? "").trim()
      || byIds(el, "aria-labelledby") || (el.getAttribute("title") ?? "").trim();
    return !name;
  });
  const controls = [...scope.querySelectorAll("input, select, textarea")].filter((el) => {
    if (el.type === "hidden") return false;
    const label = [...(el.labels ?? [])].map((l) => l.textContent.trim()).join(" ")
      || (el.getAttribute("aria-label") ?? "").trim() || byIds(el, "aria-labelledby");
    return !label;
  });
  return {
    buttons: buttons.map(describe),
    controls: controls.map(describe),
    counted: scope.querySelectorAll("button, input, select, textarea").length,
  };
}
"""


async def assert_labelled(page: Page, where: str, root: str = "body") -> None:
    found = await page.evaluate(UNNAMED, root)
    assert found["counted"] > 0, f"{where}: no controls at all"
    assert found["buttons"] == [], f"{where}: buttons without an accessible name"
    assert found["controls"] == [], f"{where}: form controls without a label"


async def test_two_players_play_tictactoe_to_a_win(server: LiveServer, browser: Browser) -> None:
    ada = await new_player(browser, "Ada")
    bo = await new_player(browser, "Bo")
    players = [ada, bo]

    await ada.sign_in(server.http)
    await bo.sign_in(server.http)

    room_id = await ada.create_room("tictactoe")
    await expect(ada.page.get_by_test_id("status")).to_contain_text("Waiting for players")
    await expect(ada.page.get_by_test_id("seat-0")).to_contain_text("Ada")

    # Bo's lobby was open before the room existed: it shows up on a refresh.
    item = bo.page.locator(f"[data-testid=room-item][data-room='{room_id}']")
    await expect(item).to_be_visible(timeout=ROOM_LIST_MS)
    await expect(item).to_contain_text("Ada")
    await item.get_by_test_id("join").click()
    await expect(bo.page).to_have_url(re.compile(rf"#/room/{re.escape(room_id)}$"))
    await expect(bo.page.get_by_test_id("conn")).to_have_text("connected")

    for player in players:
        await expect(player.page.get_by_test_id("board")).to_be_visible()
        await expect(player.page.get_by_test_id("seat-0")).to_contain_text("Ada")
        await expect(player.page.get_by_test_id("seat-1")).to_contain_text("Bo")
        await expect(player.page.get_by_test_id("game-over")).to_be_hidden()
    await expect(ada.page.get_by_test_id("status")).to_have_text("Your turn")
    await expect(bo.page.get_by_test_id("status")).to_have_text("Ada to move")
    await expect(ada.page.get_by_test_id("you-play")).to_have_text("You play X.")
    await expect(bo.page.get_by_test_id("you-play")).to_have_text("You play O.")

    await play(ada, 0, "X", [bo])
    await play(bo, 3, "O", [ada])

    # Bo reloads mid-game: the same room, the same marks, connected again, still seated.
    await bo.page.reload()
    await expect(bo.page).to_have_url(re.compile(rf"#/room/{re.escape(room_id)}$"))
    await expect(bo.page.get_by_test_id("conn")).to_have_text("connected")
    await expect(bo.cell(0)).to_have_attribute("aria-label", "cell 0, X")
    await expect(bo.cell(3)).to_have_attribute("aria-label", "cell 3, O")
    for i in (1, 2, 4, 5, 6, 7, 8):
        await expect(bo.cell(i)).to_have_attribute("aria-label", f"cell {i}, empty")
    await expect(bo.page.get_by_test_id("status")).to_have_text("Ada to move")
    await expect(bo.page.get_by_test_id("seat-1")).to_contain_text("you")

    await play(ada, 1, "X", [bo])

    # A chat line, sent with Enter, reaches the reloaded page; one with the button, too.
    await ada.page.get_by_test_id("chat-input").fill("good luck, Bo")
    await ada.page.get_by_test_id("chat-input").press("Enter")
    line = bo.page.get_by_test_id("chat-line").filter(has_text="good luck, Bo")
    await expect(line).to_have_count(1)
    await expect(line).to_contain_text("Ada")
    await expect(ada.page.get_by_test_id("chat-input")).to_have_value("")
    await bo.page.get_by_test_id("chat-input").fill("thanks!")
    await bo.page.get_by_test_id("chat-send").click()
    await expect(ada.page.get_by_test_id("chat-log")).to_contain_text("thanks!")

    await play(bo, 4, "O", [ada])  # the reloaded page can still move
    await play(ada, 2, "X", [bo])  # 0, 1, 2: Ada wins

    for player in players:
        await expect(player.page.get_by_test_id("game-over")).to_be_visible()
        await expect(player.page.get_by_test_id("conn")).to_have_text("connected")
    await expect(ada.page.get_by_test_id("result")).to_have_text(re.compile(r"^You won\b"))
    await expect(bo.page.get_by_test_id("result")).to_have_text(re.compile(r"^You lost: Ada won\b"))
    await expect(ada.page.get_by_test_id("status")).to_have_text(re.compile(r"^You won\b"))
    await expect(bo.page.get_by_test_id("status")).to_have_text(re.compile(r"^You lost: Ada won\b"))
    # No more moves: the remaining cells are not playable.
    for player in players:
        await expect(player.cell(5)).to_have_attribute("aria-disabled", "true")

    ARTIFACTS.mkdir(exist_ok=True)
    shots = []
    for player in players:
        path = ARTIFACTS / f"tictactoe-final-{player.name.lower()}.png"
        path.unlink(missing_ok=True)
        await player.page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    for path in shots:
        assert_png(path)

    await close_players(*players)


async def test_phone_no_sideways_scroll_and_keyboard_play(
    server: LiveServer, browser: Browser
) -> None:
    # Someone with the longest unbreakable name allowed waits in a room, so the phone's
    # room list has an item to lay out.
    long_name = "W" * 32
    async with httpx.AsyncClient(base_url=server.http) as api:
        answer = await api.post("/api/sessions", json={"name": long_name})
        assert answer.status_code in (200, 201), answer.text
        auth = {"Authorization": f"Bearer {answer.json()['token']}"}
        answer = await api.post("/api/rooms", json={"game": "tictactoe"}, headers=auth)
        assert answer.status_code in (200, 201), answer.text
        waiting = answer.json()["id"]

    cy = await new_player(browser, "Cy", viewport=PHONE)
    page = cy.page
    await cy.sign_in(server.http)
    # The lobby, once its panels are drawn and filled.
    item = page.locator(f"[data-testid=room-item][data-room='{waiting}']")
    await expect(item).to_contain_text(long_name)
    await expect(page.get_by_test_id("leaderboard").locator("tbody tr")).not_to_have_count(0)
    assert await scroll_width(page) <= PHONE["width"] + 1, "the lobby scrolls sideways"

    await cy.create_room("tictactoe", bots=1)
    await expect(page.get_by_test_id("board")).to_be_visible()
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    assert await scroll_width(page) <= PHONE["width"] + 1, "the room scrolls sideways"

    # Tab from the top of the page until a board cell has the focus, then Enter plays it.
    await page.evaluate("document.activeElement?.blur()")
    focused = None
    for _ in range(40):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement?.dataset?.cell ?? null")
        if focused is not None:
            break
    assert focused == "0", f"Tab reached cell {focused} before cell 0"
    first = 0
    await page.keyboard.press("Enter")
    await expect(cy.cell(first)).to_have_attribute("aria-label", f"cell {first}, X")

    # The bot answers; arrow keys move between cells, Enter plays the empty one reached.
    await expect(page.get_by_test_id("status")).to_have_text("Your turn")
    labels = [await cy.cell(i).get_attribute("aria-label") for i in range(9)]
    assert sum(label.endswith(", O") for label in labels if label) == 1
    await cy.cell(first).focus()
    await page.keyboard.press("ArrowDown")  # one row down
    assert await page.evaluate("document.activeElement?.dataset?.cell") == str(first + 3)
    await page.keyboard.press("ArrowUp")
    target = first
    while labels[target] != f"cell {target}, empty":
        target += 1
        await page.keyboard.press("ArrowRight")
        assert await page.evaluate("document.activeElement?.dataset?.cell") == str(target)
    await page.keyboard.press("Enter")
    await expect(cy.cell(target)).to_have_attribute("aria-label", f"cell {target}, X")
    assert await scroll_width(page) <= PHONE["width"] + 1, "the room scrolls sideways mid-game"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "tictactoe-phone.png"
    shot.unlink(missing_ok=True)
    await page.screenshot(path=str(shot), full_page=True)
    assert_png(shot)

    await close_players(cy)


async def test_room_screen_buttons_and_inputs_are_labelled(
    server: LiveServer, browser: Browser
) -> None:
    ada = await new_player(browser, "Ada")
    bo = await new_player(browser, "Bo")
    await ada.sign_in(server.http)
    await assert_labelled(ada.page, "lobby")

    room_id = await ada.create_room("tictactoe")
    await expect(ada.page.get_by_test_id("status")).to_contain_text("Waiting for players")
    await assert_labelled(ada.page, "room, waiting")

    await bo.sign_in(server.http)
    # Bo watches the waiting room first (a spectator gets a take-seat button), then sits.
    item = bo.page.locator(f"[data-testid=room-item][data-room='{room_id}']")
    await expect(item).to_be_visible(timeout=ROOM_LIST_MS)
    await item.get_by_test_id("watch").click()
    await expect(bo.page.get_by_test_id("conn")).to_have_text("connected")
    await expect(bo.page.get_by_test_id("take-seat")).to_be_visible()
    await assert_labelled(bo.page, "room, watching")
    await bo.page.get_by_test_id("take-seat").click()
    await expect(bo.page.get_by_test_id("seat-1")).to_contain_text("you")
    await expect(ada.page.get_by_test_id("status")).to_have_text("Your turn")
    await assert_labelled(ada.page, "room, playing")
    await assert_labelled(bo.page, "room, playing, other seat")

    # The inline "are you sure?" buttons.
    await ada.page.get_by_test_id("resign").click()
    await expect(ada.page.get_by_test_id("resign-confirm")).to_be_visible()
    await assert_labelled(ada.page, "room, confirming resign")
    await ada.page.get_by_test_id("resign-confirm").click()

    for player in (ada, bo):
        await expect(player.page.get_by_test_id("game-over")).to_be_visible()
        await expect(player.page.get_by_test_id("rematch")).to_be_visible()
        await assert_labelled(player.page, f"room, finished ({player.name})")
    await expect(bo.page.get_by_test_id("result")).to_have_text(re.compile(r"^You won\b"))

    await close_players(ada, bo)
