"""Small games for tests that need a game no installed package provides (``--game
tests.sample_games:Nim`` from the repository's root)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from pydantic import Field

from meeple.game import Game, MoveModel, Options, Outcome, Rejection, View, win


class Take(MoveModel):
    n: int = Field(ge=1, le=3)


@dataclass(frozen=True)
class Pile:
    left: int
    turn: int
    result: Outcome | None = None


class Nim(Game[Pile, Take, Options]):
    """Take one to three from a pile of nine; whoever takes the last wins. Correct."""

    name = "nim"
    title = "Nim"
    min_seats = max_seats = 2
    move = Take
    hidden_information = False

    def setup(self, seats: int, options: Options, rng: random.Random) -> Pile:
        return Pile(9, 0)

    def to_act(self, state: Pile) -> tuple[int, ...]:
        return () if state.result else (state.turn,)

    def legal_moves(self, state: Pile, seat: int) -> list[Take]:
        if state.result or seat != state.turn:
            return []
        return [Take(n=n) for n in range(1, min(3, state.left) + 1)]

    def apply(self, state: Pile, seat: int, move: Take, rng: random.Random) -> Pile | Rejection:
        if move.n > state.left:
            return Rejection("too_many", f"only {state.left} left")
        left = state.left - move.n
        return Pile(left, 1 - seat, win(seat, 2, "took the last") if left == 0 else None)

    def outcome(self, state: Pile) -> Outcome | None:
        return state.result

    def view(self, state: Pile, seat: int | None) -> View:
        return {"left": state.left}

    def forfeit(self, state: Pile, seat: int, reason: str) -> Pile:
        return state if state.result else replace(state, result=win(1 - seat, 2, reason))

    def max_moves(self, seats: int, options: Options) -> int:
        return 9
