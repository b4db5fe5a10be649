"""The games one server offers: a registry object, filled when the app starts.

A registry is built once per app (``meeple.lobby.games.build_registry``: entry points,
``--game``/``MEEPLE_GAMES``, ``create_app(games=...)``) and held by its services;
nothing reads a module-level table at request time. Adding a game checks it against
the Game API first (``api_problems``), so a class that cannot be served stops start-up
with one line naming where it came from and why, never a traceback at the first room.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from meeple.game.api import Game, Options

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
"""A game's name is an id for URLs and the wire: lower case, digits, ``_`` and ``-``."""
BOARD = re.compile(r"^[A-Za-z_][\w.]*:[\w.-]+(/[\w.-]+)*\.m?js$")
"""A board declaration: ``package:path/to/board.js`` (package data of ``package``)."""
RULES = ("setup", "to_act", "legal_moves", "apply", "outcome", "view", "forfeit", "max_moves")
"""The methods every game must write (the others have defaults)."""
MAX_SEATS = 64
ABANDON_POLICIES = ("forfeit", "skip", "bot")

AnyGame = Game[Any, Any, Any]


class GameError(Exception):
    """A game that cannot be served: the message is one line naming its source and why."""


def api_problems(game: object) -> list[str]:
    """Why ``game`` (a class or an instance) does not satisfy the Game API; [] if it does."""
    cls = game if isinstance(game, type) else type(game)
    if not issubclass(cls, Game):
        return [f"{cls.__qualname__} is not a subclass of meeple.game.Game"]
    problems = []
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"name must match {NAME.pattern} (got {name!r})")
    if not isinstance(getattr(cls, "title", None), str):
        problems.append("title must be a str")
    low, high = getattr(cls, "min_seats", None), getattr(cls, "max_seats", None)
    if not (type(low) is int and type(high) is int and 1 <= low <= high <= MAX_SEATS):
        problems.append(f"min_seats and max_seats must be ints, 1 <= min <= max <= {MAX_SEATS}")
    options = getattr(cls, "options", None)
    if not (isinstance(options, type) and issubclass(options, Options)):
        problems.append("options must be a subclass of meeple.game.Options")
    else:
        try:
            options()
        except Exception as exc:
            problems.append(f"every option needs a default ({_first_line(exc)})")
    if not hasattr(cls, "move"):
        problems.append("move must name the move model (a MoveModel or a union of them)")
    else:
        try:
            cls.move_adapter().json_schema()
        except Exception as exc:
            problems.append(f"move is not a pydantic type with a JSON Schema ({_first_line(exc)})")
    missing = [m for m in RULES if getattr(cls, m, None) is getattr(Game, m)]
    if missing:
        problems.append(f"it does not define {', '.join(missing)}")
    if not isinstance(getattr(cls, "hidden_information", None), bool):
        problems.append("hidden_information must be a bool")
    if cls.default_abandon_policy not in ABANDON_POLICIES:
        problems.append(f"default_abandon_policy must be one of {', '.join(ABANDON_POLICIES)}")
    board = getattr(cls, "board", None)
    if board is not None and not (isinstance(board, str) and BOARD.match(board)):
        problems.append(f"board must be None or 'package:path/board.js' (got {board!r})")
    return problems


def instantiate(game: object, source: str) -> AnyGame:
    """The game object for a class or an instance, checked; GameError says why not."""
    problems = api_problems(game)
    if problems:
        raise GameError(f"{source}: not a Meeple game: {'; '.join(problems)}")
    if isinstance(game, type):
        try:
            return game()  # type: ignore[no-any-return]
        except Exception as exc:
            raise GameError(f"{source}: {game.__qualname__}() failed: {exc!r}") from None
    assert isinstance(game, Game)
    return game


class Registry(Mapping[str, AnyGame]):
    """Games by name, each with where it came from (for error messages and ``meeple``'s
    start-up log). Read-only once the app runs."""

    def __init__(self, games: Iterable[tuple[object, str]] = ()) -> None:
        self._games: dict[str, AnyGame] = {}
        self._sources: dict[str, str] = {}
        for game, source in games:
            self.add(game, source)

    def add(self, game: object, source: str) -> AnyGame:
        """Check and add a game (class or instance). The same class twice is one game;
        two different games with one name are a GameError naming both sources."""
        made = instantiate(game, source)
        name = made.name
        there = self._games.get(name)
        if there is not None:
            if type(there) is type(made):
                return there
            raise GameError(
                f"{source}: a game named {name!r} is already registered by {self._sources[name]}"
            )
        self._games[name] = made
        self._sources[name] = source
        return made

    def lookup(self, name: str) -> AnyGame:
        """The game called ``name``; a KeyError that names the ones there are."""
        try:
            return self._games[name]
        except KeyError:
            there = ", ".join(sorted(self._games)) or "none"
            raise KeyError(f"no game {name!r}; there are {there}") from None

    def source(self, name: str) -> str:
        return self._sources[name]

    def __getitem__(self, name: str) -> AnyGame:
        return self._games[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._games)

    def __len__(self) -> int:
        return len(self._games)

    def __contains__(self, name: object) -> bool:
        return name in self._games


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
