"""The conformance kit (meeple.game.testing) on every installed game, one case per check,
and the kit itself: it must catch the mistakes it promises to catch."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import pytest

from meeple.game import Game, Options, Outcome, Rejection, View, win
from meeple.game.testing import CHECKS, ConformanceError, check_game, conformance
from tests.games import GAMES
from tests.sample_games import Nim, Pile, Take


@conformance(*GAMES.values())
def test_every_installed_game_conforms(game: Game, check: object) -> None:  # type: ignore[type-arg]
    check(game)  # type: ignore[operator]


# The kit catches what it promises to catch ----------------------------------------------


class Raises(Nim):
    def apply(self, state: Pile, seat: int, move: Take, rng: random.Random) -> Pile | Rejection:
        if move.n > state.left:
            raise ValueError("not that many")
        return super().apply(state, seat, move, rng)


class AcceptsAnything(Nim):
    def apply(self, state: Pile, seat: int, move: Take, rng: random.Random) -> Pile | Rejection:
        return super().apply(state, seat, Take(n=min(move.n, state.left)), rng)


class TupleView(Nim):
    def view(self, state: Pile, seat: int | None) -> View:
        return {"left": (state.left,)}


class Leaks(Nim):
    def view(self, state: Pile, seat: int | None) -> View:
        return {"left": state.left, "me": seat}


class ShortReturns(Nim):
    def outcome(self, state: Pile) -> Outcome | None:
        result = state.result
        return replace(result, returns=result.returns[:1]) if result else None


class TooShortABound(Nim):
    def max_moves(self, seats: int, options: Options) -> int:
        return 2


class NoBound(Nim):
    max_moves = Game.max_moves


class Unseeded(Nim):
    """Draws from the global generator: a replay deals something else."""

    def setup(self, seats: int, options: Options, rng: random.Random) -> Pile:
        return Pile(random.randint(7, 12), 0)

    def max_moves(self, seats: int, options: Options) -> int:
        return 12


@dataclass
class Box:
    left: int
    turn: int
    result: Outcome | None = None


class Mutates(Nim):
    def setup(self, seats: int, options: Options, rng: random.Random) -> Box:  # type: ignore[override]
        return Box(9, 0)

    def apply(self, state, seat, move, rng):  # type: ignore[no-untyped-def]
        state.left -= move.n
        if state.left < 0:
            return Rejection("too_many", "no")
        state.turn = 1 - seat
        state.result = win(seat, 2, "took the last") if state.left == 0 else None
        return Box(state.left, state.turn, state.result)

    def forfeit(self, state, seat, reason):  # type: ignore[no-untyped-def]
        return Box(state.left, state.turn, win(1 - seat, 2, reason))


class StaysAfterForfeit(Nim):
    def forfeit(self, state: Pile, seat: int, reason: str) -> Pile:
        return state


def test_a_correct_game_passes_the_whole_kit() -> None:
    check_game(Nim)


@pytest.mark.parametrize(
    ("broken", "check", "says"),
    [
        (Raises, "illegal_moves", "apply raised"),
        (AcceptsAnything, "illegal_moves", "was not rejected"),
        (TupleView, "views", "is not plain data"),
        (Leaks, "views", "something spectators do not"),
        (ShortReturns, "outcome", "one number per seat"),
        (TooShortABound, "playouts", "not ended within max_moves"),
        (NoBound, "api", "does not define max_moves"),
        # A replay that draws other numbers ends in another state, or meets a move that
        # no longer fits (which of the two depends on the global generator's numbers).
        (Unseeded, "replay", "another state|does not replay"),
        (Mutates, "no_mutation", "changed the state"),
        (StaysAfterForfeit, "forfeits", "still to act"),
    ],
)
def test_the_kit_catches_a_broken_game(broken: type[Nim], check: str, says: str) -> None:
    with pytest.raises(ConformanceError, match=says):
        CHECKS[check](broken, 3)
    with pytest.raises(ConformanceError):
        check_game(broken, 3)
