"""Bot strategies: a move from one seat's view, for every game the server ships.

``STRATEGIES`` names them; ``best_strategy(game)`` is the strongest one for a game.
"random" plays every game; "minimax" is perfect tic-tac-toe; "alphabeta" searches
Connect Four and chess; "mcts" plays Liar's Dice; "best" picks per game.
"""

from __future__ import annotations

import random

from meeple.client.bots.base import MoveDict, Strategy, View
from meeple.client.bots.chess_search import ChessSearcher
from meeple.client.bots.connect4 import AlphaBetaConnect4
from meeple.client.bots.liarsdice import LiarsDiceMCTS
from meeple.client.bots.random_bot import RandomStrategy
from meeple.client.bots.rules import GAMES, legal_moves
from meeple.client.bots.tictactoe import Minimax


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
    """The strongest strategy for whichever game it is asked about."""

    name = "best"
    games = GAMES

    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        return best_strategy(game).choose(game, view, seat, rng)


STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (RandomStrategy(), Minimax(), AlphaBeta(), MCTS(), Best())
}


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``; KeyError lists the ones there are."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise KeyError(f"no strategy {name!r}; there are {', '.join(sorted(STRATEGIES))}") from None


def best_strategy(game: str) -> Strategy:
    """The strongest strategy for ``game``; "random" for a game without a better one."""
    return STRATEGIES[BEST.get(game, "random")]


def choose_move(
    strategy: str, game: str, view: View, seat: int, rng: random.Random | None = None
) -> MoveDict:
    """One move by the strategy called ``strategy``: the call a server makes for its bots.

    A strategy that does not play ``game`` gives way to the best one that does, so a
    room's bot seat always has someone to play it.
    """
    chosen = STRATEGIES.get(strategy)
    if chosen is None or not chosen.supports(game):
        chosen = best_strategy(game)
    return chosen.choose(game, view, seat, rng or random.Random())


__all__ = [
    "BEST",
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
]
