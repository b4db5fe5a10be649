"""Bot strategies: a move from one seat's view, for the built-in games and any installed one.

``STRATEGIES`` names the built-in ones: "random" plays every built-in game; "minimax" is
perfect tic-tac-toe; "alphabeta" searches Connect Four and chess; "mcts" plays Liar's
Dice; "best" picks per game. A game package adds its own the way it adds games: an
entry point in the group ``meeple.bots`` naming a ``Strategy`` subclass
(``strategies()`` has them all). For a game no strategy plays, ``choose_move`` falls back
on the generic bots of ``generic`` (random legal moves, or a tree search of a game
without hidden information), which need the game's rules and state: a server has them.
"""

from __future__ import annotations

import functools
import logging
import random
from importlib import import_module, metadata
from typing import Any

from meeple.client.bots.base import MoveDict, Strategy, View
from meeple.client.bots.chess_search import ChessSearcher
from meeple.client.bots.connect4 import AlphaBetaConnect4
from meeple.client.bots.generic import GameSearch, random_move
from meeple.client.bots.liarsdice import LiarsDiceMCTS
from meeple.client.bots.random_bot import RandomStrategy
from meeple.client.bots.rules import GAMES, legal_moves
from meeple.client.bots.tictactoe import Minimax
from meeple.game.api import Game

log = logging.getLogger("meeple.bots")

ENTRY_POINTS = "meeple.bots"


class AlphaBeta(Strategy):
    """Depth- and time-limited alpha-beta: Connect Four on bitboards, chess on python-chess."""

    name = "alphabeta"
    games = frozenset({"connect4", "chess"})

    def __init__(
        self, connect4: AlphaBetaConnect4 | None = None, chess: ChessSearcher | None = None
    ):
        self.connect4 = connect4 or AlphaBetaConnect4()
        self.chess = chess or ChessSearcher()

    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        if game == "connect4":
            return self.connect4.choose(view, seat, rng)
        if game == "chess":
            return self.chess.choose(view, seat, rng)
        raise self._unsupported(game)


class MCTS(Strategy):
    """Determinized tree search over the hidden dice."""

    name = "mcts"
    games = frozenset({"liarsdice"})

    def __init__(self, search: LiarsDiceMCTS | None = None) -> None:
        self.search = search or LiarsDiceMCTS()

    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        if game != "liarsdice":
            raise self._unsupported(game)
        return self.search.choose(view, seat, rng)


BEST = {"tictactoe": "minimax", "connect4": "alphabeta", "chess": "alphabeta", "liarsdice": "mcts"}


class Best(Strategy):
    """The strongest strategy for whichever game it is asked about, installed ones too."""

    name = "best"
    games = GAMES

    def supports(self, game: str) -> bool:
        return best_strategy(game) is not None

    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        chosen = best_strategy(game)
        if chosen is None:
            raise self._unsupported(game)
        return chosen.choose(game, view, seat, rng)


STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (RandomStrategy(), Minimax(), AlphaBeta(), MCTS(), Best())
}


@functools.cache
def strategies() -> dict[str, Strategy]:
    """The built-in strategies and every installed package's (entry points ``meeple.bots``,
    value ``package.module:StrategyClass``), found once. One that fails to load is left
    out with a warning: bots then play that game generically."""
    found = dict(STRATEGIES)
    for ep in sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        try:
            module, _, attr = ep.value.partition(":")
            cls = getattr(import_module(module), attr)
            strategy = cls() if isinstance(cls, type) else cls
            if not isinstance(strategy, Strategy):
                raise TypeError(f"{ep.value} is not a meeple.client.bots.Strategy")
        except Exception as exc:
            log.warning("bot strategy %s = %s left out: %r", ep.name, ep.value, exc)
            continue
        if strategy.name in found:
            log.warning(
                "bot strategy %s = %s left out: %r is taken", ep.name, ep.value, strategy.name
            )
            continue
        found[strategy.name] = strategy
    return found


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``; KeyError lists the ones there are."""
    table = strategies()
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"no strategy {name!r}; there are {', '.join(sorted(table))}") from None


def best_strategy(game: str) -> Strategy | None:
    """The strongest strategy for ``game``: the built-in one for a built-in game, else the
    first installed strategy that plays it; None when only the generic bots do."""
    if game in BEST:
        return STRATEGIES[BEST[game]]
    installed = (s for name, s in strategies().items() if name not in STRATEGIES)
    return next((s for s in installed if s.supports(game)), None)


def choose_move(
    strategy: str,
    game: str,
    view: View,
    seat: int,
    rng: random.Random | None = None,
    *,
    rules: Game[Any, Any, Any] | None = None,
    state: Any = None,
    seats: int = 2,
) -> MoveDict:
    """One move by the strategy called ``strategy``: the call a server makes for its bots.

    A strategy that does not play ``game`` gives way to the best one that does, so a
    room's bot seat always has someone to play it; where none does, the generic bots
    play by the game's own ``rules`` and ``state`` (of a match of ``seats`` seats):
    random legal moves for "random" and in games with hidden information, else a tree
    search.
    """
    rng = rng or random.Random()
    chosen = strategies().get(strategy)
    if chosen is None or not chosen.supports(game):
        chosen = None if strategy == "random" else best_strategy(game)
    if chosen is not None and chosen.supports(game):
        return chosen.choose(game, view, seat, rng)
    if rules is None:
        raise ValueError(f"no strategy here plays {game!r}, and no rules were given")
    if strategy == "random" or rules.hidden_information:
        return random_move(rules, state, seat, rng)
    return GameSearch().choose(rules, state, seat, seats, rng)


__all__ = [
    "BEST",
    "ENTRY_POINTS",
    "MCTS",
    "STRATEGIES",
    "AlphaBeta",
    "Best",
    "MoveDict",
    "Strategy",
    "View",
    "best_strategy",
    "choose_move",
    "get_strategy",
    "legal_moves",
    "strategies",
]
