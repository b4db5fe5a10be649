"""Connect Four: drop discs into a 7x6 grid, four in a row wins.

The state keeps the board as seven columns, each a tuple of the seats whose discs
fill it from the bottom up. A disc always lands on top of its column, so a move is
an append to one column, and the view mirrors that shape: one move becomes one
small append operation in the delta rather than a rewrite of a 42-cell board.

Whether the game is over is decided when a disc lands (only lines through that
disc can be new), and the result is kept in the state, so ``outcome`` and
``to_act`` are cheap however often the match asks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import Field

from meeple.game.api import (
    GAME_OVER,
    NOT_YOUR_TURN,
    Game,
    MoveModel,
    Options,
    Outcome,
    Rejection,
    View,
    draw,
    win,
)

COLS = 7
ROWS = 6
SEATS = 2
CONNECT = 4

# Each direction once; the opposite direction is walked in the same pass.
DIRECTIONS = ((1, 0), (0, 1), (1, 1), (1, -1))


class Move(MoveModel):
    """Drop a disc into a column: 0 is the leftmost, 6 the rightmost."""

    col: int = Field(ge=0, le=COLS - 1)


class ConnectFourOptions(Options):
    turn_seconds: float | None = Field(
        default=None,
        gt=0,
        le=86400,
        title="Seconds per turn",
        description="A time limit on every turn; none if left empty.",
    )


@dataclass(frozen=True, slots=True)
class State:
    cols: tuple[tuple[int, ...], ...]
    """Per column, the seats whose discs fill it, bottom first."""
    turn: int
    result: Outcome | None = None
    """Set once the game is over: by a line, a full board or a forfeit."""
    line: tuple[tuple[int, int], ...] = ()
    """The (column, row) cells of the winning line, in order along it, if any."""


class ConnectFour(Game[State, Move, ConnectFourOptions]):
    name = "connect4"
    title = "Connect Four"
    min_seats = SEATS
    max_seats = SEATS
    options = ConnectFourOptions
    move = Move
    hidden_information = False
    board = "meeple.client:web/boards/connect4.js"
    description = (
        "Drop discs into a 7-column, 6-row grid; four in a row (across, up or "
        "diagonal) wins. Seat 0 moves first."
    )

    def setup(self, seats: int, options: ConnectFourOptions, rng: random.Random) -> State:
        return State(cols=((),) * COLS, turn=0)

    def to_act(self, state: State) -> tuple[int, ...]:
        return () if state.result is not None else (state.turn,)

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if state.result is not None or seat != state.turn:
            return []
        return [Move(col=c) for c, col in enumerate(state.cols) if len(col) < ROWS]

    def apply(self, state: State, seat: int, move: Move, rng: random.Random) -> State | Rejection:
        # The match checks turn and game over first; checking again keeps the
        # rules safe to call directly (bots, tests) at the cost of two compares.
        if state.result is not None:
            return Rejection(GAME_OVER, "the game is over")
        if seat != state.turn:
            return Rejection(NOT_YOUR_TURN, f"it is seat {state.turn}'s turn")
        column = state.cols[move.col]
        if len(column) >= ROWS:
            return Rejection("column_full", f"column {move.col} is full")
        cols = list(state.cols)
        cols[move.col] = (*column, seat)
        new_cols = tuple(cols)
        line = _line_through(new_cols, move.col, len(column), seat)
        if line:
            return State(new_cols, 1 - seat, win(seat, SEATS, "four in a row"), line)
        if all(len(c) == ROWS for c in new_cols):
            return State(new_cols, 1 - seat, draw(SEATS, "board full"))
        return State(new_cols, 1 - seat)

    def outcome(self, state: State) -> Outcome | None:
        return state.result

    def view(self, state: State, seat: int | None) -> View:
        # Nothing is hidden: every seat sees the board. "c" is the columns, bottom
        # first, so a move appends one int to one column, and that append is the last
        # move (a snapshot carries the last delta too, so a board can mark it without
        # the view sending it again every move); "w" (the winning cells, as
        # [column, row]) appears once, when the game is won by a line.
        view: View = {"c": [list(col) for col in state.cols]}
        if state.line:
            view["w"] = [[c, r] for c, r in state.line]
        return view

    def max_moves(self, seats: int, options: ConnectFourOptions) -> int:
        return COLS * ROWS

    def forfeit(self, state: State, seat: int, reason: str) -> State:
        if state.result is not None:
            return state
        return State(state.cols, state.turn, win(1 - seat, SEATS, reason or "forfeit"))


def _cell(cols: tuple[tuple[int, ...], ...], c: int, r: int) -> int | None:
    """The seat whose disc is at column ``c``, row ``r`` (0 at the bottom), if any."""
    if 0 <= c < COLS and 0 <= r < len(cols[c]):
        return cols[c][r]
    return None


def _line_through(
    cols: tuple[tuple[int, ...], ...], c: int, r: int, seat: int
) -> tuple[tuple[int, int], ...]:
    """The longest run of ``seat``'s discs through (c, r), if it is at least four long."""
    for dc, dr in DIRECTIONS:
        back = 0
        while _cell(cols, c - dc * (back + 1), r - dr * (back + 1)) == seat:
            back += 1
        ahead = 0
        while _cell(cols, c + dc * (ahead + 1), r + dr * (ahead + 1)) == seat:
            ahead += 1
        if back + ahead + 1 >= CONNECT:
            return tuple((c + dc * i, r + dr * i) for i in range(-back, ahead + 1))
    return ()
