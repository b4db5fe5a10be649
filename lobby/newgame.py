"""``meeple new-game NAME``: write a game package to start from, whose tests pass as written.

The package is what Meeple finds without being told: a pyproject with the entry point
``meeple.games``, the game (a small complete one: players take turns adding 1 to 3 to a
count, and whoever reaches 21 wins), a board module as package data, and tests that run
Meeple's conformance kit. Change the rules, keep the kit green, ``pip install`` it, and
``meeple serve`` serves it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from meeple.game.registry import NAME

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "{title}, a game for the Meeple game server."
requires-python = ">=3.11"
dependencies = ["meeple"]

[project.optional-dependencies]
test = ["pytest>=8"]

# How Meeple finds the game: `meeple serve` serves every installed one.
[project.entry-points."meeple.games"]
{name} = "{package}.game:{cls}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
{package} = ["py.typed", "web/*.js"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "SIM", "RUF"]

[tool.ruff.lint.isort]
known-first-party = ["{package}"]
"""

GAME = '''\
"""{title}: players take turns adding 1, 2 or 3 to a count; whoever reaches 21 wins.

A complete Meeple game to start from (docs/games.md describes every piece). The state
is immutable; randomness, if the game needs any, comes in as ``rng``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from meeple.game import Game, MoveModel, Options, Outcome, Rejection, View, win
from pydantic import Field

GOAL = 21


class Add(MoveModel):
    """Add 1 to 3 to the count."""

    n: int = Field(ge=1, le=3)


class {cls}Options(Options):
    turn_seconds: float | None = Field(default=None, gt=0, le=86400)


@dataclass(frozen=True, slots=True)
class State:
    count: int
    turn: int
    result: Outcome | None = None


class {cls}(Game[State, Add, {cls}Options]):
    name = "{name}"
    title = "{title}"
    description = "Take turns adding 1 to 3 to the count; whoever reaches 21 wins."
    min_seats = 2
    max_seats = 2
    options = {cls}Options
    move = Add
    hidden_information = False
    board = "{package}:web/board.js"

    def setup(self, seats: int, options: {cls}Options, rng: random.Random) -> State:
        return State(count=0, turn=0)

    def to_act(self, state: State) -> tuple[int, ...]:
        return () if state.result else (state.turn,)

    def legal_moves(self, state: State, seat: int) -> list[Add]:
        if state.result or seat != state.turn:
            return []
        return [Add(n=n) for n in range(1, min(3, GOAL - state.count) + 1)]

    def apply(self, state: State, seat: int, move: Add, rng: random.Random) -> State | Rejection:
        if state.count + move.n > GOAL:
            return Rejection("too_many", f"the count may not pass {{GOAL}}")
        count = state.count + move.n
        return State(count, 1 - seat, win(seat, 2, f"reached {{GOAL}}") if count == GOAL else None)

    def outcome(self, state: State) -> Outcome | None:
        return state.result

    def view(self, state: State, seat: int | None) -> View:
        return {{"c": state.count}}

    def forfeit(self, state: State, seat: int, reason: str) -> State:
        if state.result is not None:
            return state
        return State(state.count, state.turn, win(1 - seat, 2, reason))

    def max_moves(self, seats: int, options: {cls}Options) -> int:
        return GOAL + 1  # every move adds at least one; a forfeit
'''

BOARD = """\
// The {title} board: a Meeple board module (docs/games.md). The room page imports it
// and calls createBoard once; update() gets the whole state after every change.

import {{ h }} from "/board-kit.js";

export function createBoard(root, {{ move, legalMoves }}) {{
  const count = h("p", {{ class: "count", "data-testid": "count" }});
  const buttons = h("div", {{ class: "row", role: "group", "aria-label": "Your move" }});
  root.append(count, buttons);
  let asked = null;

  function update(state) {{
    count.textContent = `The count is ${{state.view?.c ?? 0}} of 21.`;
    if (!state.myTurn) {{
      asked = null;
      buttons.replaceChildren();
      return;
    }}
    const turn = `${{state.gameNo}}:${{state.seq}}`;
    if (asked === turn) return;
    asked = turn;
    legalMoves().then((moves) =>
      buttons.replaceChildren(
        ...moves.map((m) =>
          h("button", {{ type: "button", onclick: () => move(m) }}, `Add ${{m.n}}`),
        ),
      ),
    );
  }}

  return {{ update }};
}}
"""

TESTS = '''\
"""{title}: Meeple's conformance kit, then the rules."""

from __future__ import annotations

import random

from meeple.game import Rejection
from meeple.game.testing import check_game, conformance, new_match

from {package}.game import {imports}


@conformance({cls})
def test_{package}_conforms(game, check):
    check(game)


def test_the_whole_kit_in_one_call():
    check_game({cls})


def test_whoever_reaches_21_wins():
    game = {cls}()
    state = State(count=19, turn=1)
    after = game.apply(state, 1, Add(n=2), random.Random(0))
    assert isinstance(after, State)
    assert game.outcome(after).winners == (1,)
    assert isinstance(game.apply(state, 1, Add(n=3), random.Random(0)), Rejection)


def test_a_match_refuses_a_malformed_move():
    match = new_match({cls}(), 2, seed=0)
    assert match.submit(0, {{"n": 4}}).code == "bad_move"
    assert match.submit(1, {{"n": 1}}).code == "not_your_turn"
'''

README = """\
# {title}

A game for the [Meeple](https://pypi.org/project/meeple/) game server, written by
`meeple new-game {name}`.

    pip install -e '.[test]'    # Meeple finds the game through its entry point
    pytest                       # the conformance kit and the rules
    meeple serve                 # then open http://127.0.0.1:8000/ and create a room

The rules are in `src/{package}/game.py`, the browser board in `src/{package}/web/board.js`.
"""


def files(name: str) -> dict[str, str]:
    """The package's files, by path, for a game called ``name``."""
    package = name.replace("-", "_")
    words = re.split(r"[-_]", name)
    fields = {
        "name": name,
        "package": package,
        "dist": f"meeple-{name}",
        "cls": "".join(w.capitalize() for w in words if w),
        "title": " ".join(words).capitalize(),
    }
    fields["imports"] = ", ".join(sorted([fields["cls"], "Add", "State"]))
    return {
        "pyproject.toml": PYPROJECT.format(**fields),
        "README.md": README.format(**fields),
        f"src/{package}/__init__.py": f'"""{fields["title"]} for Meeple."""\n',
        f"src/{package}/py.typed": "",
        f"src/{package}/game.py": GAME.format(**fields),
        f"src/{package}/web/board.js": BOARD.format(**fields),
        f"tests/test_{package}.py": TESTS.format(**fields),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="meeple new-game", description="Write a new game package to start from."
    )
    parser.add_argument("name", help="the game's name: lower case, digits, - and _ (tally)")
    parser.add_argument("--dir", type=Path, help="where to write it (default: ./NAME)")
    args = parser.parse_args(argv)
    if not NAME.match(args.name) or not args.name.replace("-", "_").isidentifier():
        parser.error(f"{args.name!r} is not a game name: lower case letters, digits, - and _")
    target: Path = args.dir or Path(args.name)
    if target.exists() and any(target.iterdir()):
        sys.exit(f"meeple new-game: {target} exists and is not empty")
    for path, text in files(args.name).items():
        out = target / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(f"wrote {target}/: cd there, pip install -e '.[test]', pytest, meeple serve")


__all__ = ["files", "main"]
