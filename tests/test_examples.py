"""The example game package (examples/hearts), as its users get it: installed with pip
(tests/run.sh does), found through its entry points, checked by the conformance kit,
served by a plain ``meeple serve`` and played to the end by bots in a room of their own.
(Chromium plays it through its own board in test_browser_packages.py.)"""

from __future__ import annotations

import asyncio
import sys
from importlib import metadata
from pathlib import Path

import httpx

from tests.games import GAMES
from tests.servers import ROOT, ServerProcess, meeple_bot

HEARTS = ROOT / "examples" / "hearts"


def test_hearts_is_an_installed_package_found_through_its_entry_points() -> None:
    dist = metadata.distribution("meeple-hearts")
    installed = Path(str(dist.locate_file("meeple_hearts/game.py"))).resolve()
    assert HEARTS not in installed.parents, "tests/run.sh installs it, not from the checkout"
    assert {(ep.group, ep.name) for ep in dist.entry_points} >= {
        ("meeple.games", "hearts"),
        ("meeple.bots", "hearts"),
    }
    assert "hearts" in GAMES and "meeple-hearts" in GAMES.source("hearts")


async def run(*args: str, cwd: Path, status: int = 0) -> str:
    """A command to its end; its output (and stderr), once it exits with ``status``."""
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == status, f"{' '.join(args)}:\n{out.decode()[-3000:]}"
    return out.decode()


async def test_the_example_s_own_tests_pass() -> None:
    """Its tests use the conformance kit the way an author's repository would."""
    out = await run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=HEARTS)
    assert " passed" in out


async def test_a_plain_meeple_serve_offers_hearts_and_bots_play_it_out() -> None:
    server = ServerProcess({"MEEPLE_CREATE_LIMITS": "off"})
    await server.start()
    try:
        async with httpx.AsyncClient() as http:
            catalog = {g["name"]: g for g in (await http.get(f"{server.http}/api/games")).json()}
            hearts = catalog["hearts"]
            assert (hearts["min_seats"], hearts["max_seats"]) == (4, 4)
            assert hearts["board"] == "/games/hearts/board/board.js"
            board = await http.get(server.http + hearts["board"])
            assert board.status_code == 200 and "createBoard" in board.text
            assert board.headers["content-type"].startswith("text/javascript")
            css = await http.get(f"{server.http}/games/hearts/board/board.css")
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        # A bots-only room: four bots quick-match into one table and play to the end.
        stats = await meeple_bot(server.http, "hearts", count=4, games=1, timeout=120)
        assert stats["games"] == 1 and stats["errors"] == 0, stats
        assert stats["moves"] > 52 and stats["wins"] + stats["losses"] == 4
    finally:
        server.stop()


async def test_meeple_new_game_writes_a_package_whose_tests_pass(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    await run(str(bin_dir / "meeple"), "new-game", "tally-ho", cwd=tmp_path)
    package = tmp_path / "tally-ho"
    pyproject = (package / "pyproject.toml").read_text()
    assert '[project.entry-points."meeple.games"]' in pyproject
    assert 'tally-ho = "tally_ho.game:TallyHo"' in pyproject
    assert "export function createBoard" in (package / "src/tally_ho/web/board.js").read_text()
    out = await run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
    assert " passed" in out and "failed" not in out
    await run(str(bin_dir / "ruff"), "check", ".", cwd=package)
    await run(str(bin_dir / "ruff"), "format", "--check", ".", cwd=package)
    # Not over an existing package, and only a name Meeple accepts.
    again = await run(str(bin_dir / "meeple"), "new-game", "tally-ho", cwd=tmp_path, status=1)
    assert "exists and is not empty" in again
    bad = await run(str(bin_dir / "meeple"), "new-game", "Bad Name", cwd=tmp_path, status=2)
    assert "not a game name" in bad
