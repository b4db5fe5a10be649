"""The games a server offers, by name."""

from __future__ import annotations

from typing import Any

from meeple.game.api import Game
from meeple.game.games.chess import Chess
from meeple.game.games.connect4 import ConnectFour
from meeple.game.games.liars_dice import LiarsDice
from meeple.game.games.tictactoe import TicTacToe

GAMES: dict[str, Game[Any, Any, Any]] = {
    g.name: g for g in (TicTacToe(), ConnectFour(), LiarsDice(), Chess())
}


def get(name: str) -> Game[Any, Any, Any]:
    """The game called ``name``; KeyError names the ones there are."""
    try:
        return GAMES[name]
    except KeyError:
        raise KeyError(f"no game {name!r}; there are {', '.join(sorted(GAMES))}") from None
