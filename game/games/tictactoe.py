"""Tic-tac-toe: the worked example of docs/games.md.

The state is a tuple of nine cells (None, 0 or 1: the seat that marked it), the seat
to move and, once the game is over, its result; a tuple is immutable, so ``apply``
cannot spoil the old state. The result is decided when a mark lands and kept, so
``outcome`` and ``to_act`` cost nothing however often they are asked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import Field

from meeple.game.api import Game, MoveModel, Options, Outcome, Rejection, View, draw, win

LINES = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8),
    (0, 3, 6), (1, 4, 7), (2, 5, 8),
    (0, 4, 8), (2, 4, 6),
)  # fmt: skip


class Move(MoveModel):
    """Mark a cell: 0 is the top left, 8 the bottom right."""

    cell: int = Field(ge=0, le=8)


class TicTacToeOptions(Options):
    turn_seconds: float | None = Field(
        default=None,
        gt=0,
        le=86400,
        title="Seconds per turn",
        description="A time limit on every turn; none if left empty.",
    )


@dataclass(frozen=True, slots=True)
class State:
    cells: tuple[int | None, ...]
    turn: int
    result: Outcome | None = None
    """Set once the game is over: by a line, a full board or a forfeit."""


def judge(cells: tuple[int | None, ...]) -> Outcome | None:
    """A line first, then a full board: a line made with the ninth mark is a win."""
    for a, b, c in LINES:
        mark = cells[a]
        if mark is not None and mark == cells[b] == cells[c]:
            return win(mark, 2, "three in a row")
    if None not in cells:
        return draw(2, "board full")
    return None


class TicTacToe(Game[State, Move, TicTacToeOptions]):
    name = "tictactoe"
    title = "Tic-tac-toe"
    min_seats = 2
    max_seats = 2
    options = TicTacToeOptions
    move = Move
    hidden_information = False
    board = "meeple.client:web/boards/tictactoe.js"
    description = "Three in a row on a 3x3 grid. Seat 0 plays X and moves first."

    def setup(self, seats: int, options: TicTacToeOptions, rng: random.Random) -> State:
        return State(cells=(None,) * 9, turn=0)

    def to_act(self, state: State) -> tuple[int, ...]:
        return () if state.result else (state.turn,)

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if seat not in self.to_act(state):
            return []
        return [Move(cell=i) for i, c in enumerate(state.cells) if c is None]

    def apply(self, state: State, seat: int, move: Move, rng: random.Random) -> State | Rejection:
        if state.cells[move.cell] is not None:
            return Rejection("cell_taken", f"cell {move.cell} is already marked")
        cells = list(state.cells)
        cells[move.cell] = seat
        marked = tuple(cells)
        return State(marked, 1 - seat, judge(marked))

    def outcome(self, state: State) -> Outcome | None:
        return state.result

    def view(self, state: State, seat: int | None) -> View:
        # Nothing is hidden in tic-tac-toe: every seat sees the board.
        # "b" is the board, -1 for an empty cell; the key is short because it travels.
        # The last move is not in the view: each move's delta is the cell it marked
        # (a snapshot carries the last one), so a board can show it without the
        # view sending it again with every move.
        return {"b": [-1 if c is None else c for c in state.cells]}

    def max_moves(self, seats: int, options: TicTacToeOptions) -> int:
        return 9

    def forfeit(self, state: State, seat: int, reason: str) -> State:
        if state.result is not None:
            return state
        return State(state.cells, state.turn, win(1 - seat, 2, reason))
