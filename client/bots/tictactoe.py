"""Perfect tic-tac-toe: full minimax over the (tiny) game tree, memoised.

Among equally good moves it picks at random, so games against it vary; a win
sooner scores higher than a win later, so it does not toy with a beaten opponent.
"""

from __future__ import annotations

import random
from functools import cache

from meeple.client.bots.base import MoveDict, Strategy, View
from meeple.game.games.tictactoe import LINES

Board = tuple[int, ...]
"""Nine cells: -1 empty, else the seat that marked it."""


def _winner(board: Board) -> int | None:
    for a, b, c in LINES:
        if board[a] != -1 and board[a] == board[b] == board[c]:
            return board[a]
    return None


@cache
def score(board: Board, to_move: int) -> int:
    """The value of ``board`` for ``to_move`` with perfect play: > 0 wins, 0 draws, < 0 loses."""
    best = -100
    empties = [i for i, c in enumerate(board) if c == -1]
    for cell in empties:
        after = (*board[:cell], to_move, *board[cell + 1 :])
        if _winner(after) == to_move:
            return len(empties)  # win now; more empty cells left means sooner
        value = -score(after, 1 - to_move) if len(empties) > 1 else 0
        best = max(best, value)
    return best if empties else 0


class Minimax(Strategy):
    name = "minimax"
    games = frozenset({"tictactoe"})

    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        if game != "tictactoe":
            raise self._unsupported(game)
        board: Board = tuple(int(c) for c in view["b"])
        values: dict[int, int] = {}
        for cell in (i for i, c in enumerate(board) if c == -1):
            after = (*board[:cell], seat, *board[cell + 1 :])
            empties = after.count(-1)
            if _winner(after) == seat:
                values[cell] = empties + 1
            else:
                values[cell] = -score(after, 1 - seat) if empties else 0
        if not values:
            raise ValueError("the board is full")
        best = max(values.values())
        return {"cell": rng.choice([c for c, v in values.items() if v == best])}
