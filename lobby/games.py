"""Which games this server offers: found, not listed.

Games come from three places, all checked the same way when the app starts:

- the entry-point group ``meeple.games`` of every installed distribution (value
  ``package.module:GameClass``); Meeple's own pyproject registers the built-in games so;
- ``MEEPLE_GAMES`` (comma-separated) and ``meeple serve --game package.module:GameClass``
  (repeatable), read into ``Settings.games``;
- ``create_app(games=[...])``: classes, instances or ``"package.module:GameClass"``.

A game that fails to import, does not satisfy the Game API, has a board that is not
there, or shares its name with another stops start-up with one ``GameError`` line
naming its source and the reason. Boards are package data, found with
``importlib.resources`` here (``game/`` only names them).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from typing import Any

from meeple.game.registry import AnyGame, GameError, Registry

ENTRY_POINTS = "meeple.games"

GameSpec = str | AnyGame | type[AnyGame]
"""A game for ``create_app(games=...)``: ``"package.module:GameClass"``, a class or an instance."""


def load_object(spec: str, source: str) -> Any:
    """``package.module:Name`` imported; GameError says what went wrong, in one line."""
    module_name, _, attr = spec.strip().partition(":")
    if not module_name or not attr:
        raise GameError(f"{source}: {spec!r} is not 'package.module:GameClass'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise GameError(f"{source}: cannot import {module_name}: {exc!r}") from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise GameError(f"{source}: {module_name} has no {attr}") from None
    return target


def entry_point_games() -> list[tuple[Any, str]]:
    """Every ``meeple.games`` entry point, loaded, with its source for error messages."""
    found = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "unknown"
        source = f"entry point {ep.name} = {ep.value} (package {dist})"
        found.append((load_object(ep.value, source), source))
    return found


@dataclass(frozen=True, slots=True)
class BoardFiles:
    """A game's board module: the package folder it is served from, and its URL."""

    folder: Traversable
    entry: str
    url: str


@dataclass(frozen=True)
class GameSet:
    """What a server offers: the games, and the boards of those that have one."""

    registry: Registry
    boards: Mapping[str, BoardFiles]


def build_games(
    specs: Iterable[str] = (), games: Iterable[GameSpec] = (), *, entry_points: bool = True
) -> GameSet:
    """The games of a server: entry points (unless turned off), then ``specs`` (from
    ``MEEPLE_GAMES`` and ``--game``), then ``games`` (from ``create_app``)."""
    registry = Registry()
    candidates: list[tuple[Any, str]] = entry_point_games() if entry_points else []
    for spec in specs:
        candidates.append((load_object(spec, f"--game {spec}"), f"--game {spec}"))
    for game in games:
        if isinstance(game, str):
            source = f"create_app(games=) {game}"
            candidates.append((load_object(game, source), source))
        else:
            name = getattr(game, "__qualname__", type(game).__qualname__)
            candidates.append((game, f"create_app(games=) {name}"))
    boards = {}
    for game, source in candidates:
        made = registry.add(game, source)
        if made.board is not None and made.name not in boards:
            boards[made.name] = board_files(made.name, made.board, source)
    return GameSet(registry, boards)


def board_files(name: str, declared: str, source: str) -> BoardFiles:
    """Find a declared board (``package:path/board.js``); GameError if it is not there."""
    package, _, path = declared.partition(":")
    *folders, entry = path.split("/")
    try:
        folder = resources.files(package).joinpath(*folders)
    except (ImportError, TypeError, ValueError) as exc:
        raise GameError(f"{source}: board {declared!r}: no package {package}: {exc!r}") from None
    if not folder.joinpath(entry).is_file():
        raise GameError(f"{source}: board {declared!r}: no file {path} in package {package}")
    return BoardFiles(folder, entry, f"/games/{name}/board/{entry}")


__all__ = [
    "ENTRY_POINTS",
    "BoardFiles",
    "GameError",
    "GameSet",
    "GameSpec",
    "board_files",
    "build_games",
    "load_object",
]
