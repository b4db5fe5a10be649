"""The docs stay true: every example of docs/sdk.md runs against a real server, and the
tic-tac-toe walk-through of docs/games.md is the code of game/games/tictactoe.py."""

from __future__ import annotations

import asyncio
import os
import re
import sys

import pytest

from tests.servers import ROOT, LiveServer

BLOCK = re.compile(r"```python\n(.*?)```", re.S)
SDK = BLOCK.findall((ROOT / "docs" / "sdk.md").read_text())


def test_sdk_md_has_examples_to_run() -> None:
    assert len(SDK) >= 6


@pytest.mark.parametrize("example", SDK, ids=[f"example-{i}" for i in range(len(SDK))])
async def test_every_sdk_example_runs(server: LiveServer, example: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", example,
        env={**os.environ, "MEEPLE_URL": server.http}, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    # A bound for an example that hangs, not a speed: at load average 20 starting Python
    # and importing the SDK took 33 s (0.9 s of CPU).
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, out.decode()
    assert out.strip(), "an example shows what it did"


def test_the_games_md_walk_through_is_the_real_tictactoe() -> None:
    text = (ROOT / "docs" / "games.md").read_text()
    walk = text[text.index("## Tic-tac-toe, piece by piece") : text.index("## Board modules")]
    source = (ROOT / "game" / "games" / "tictactoe.py").read_text()
    code = {line.strip() for line in source.splitlines()}
    missing = [
        line
        for block in BLOCK.findall(walk)
        for line in (raw.strip() for raw in block.splitlines())
        if line and line not in code
    ]
    assert missing == []
