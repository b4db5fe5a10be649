"""What every installed game must keep, beyond the conformance kit's fixed seeds.

``tests/test_conformance.py`` runs the kit (``meeple.game.testing``) on every game the
registry finds; here Hypothesis picks the seeds, seat counts and move choices, and the
same promises are checked along each game: views are wire-clean for every audience,
every listed move is accepted, ``apply`` never mutates, every delta rebuilds the next
view, and the game replays from its seed and log. Nothing here names a game.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meeple.game import api
from meeple.game.api import Game, Rejection
from meeple.game.delta import apply_delta
from meeple.game.match import Match, Transition
from meeple.game.testing import dump, fork, new_match, seat_counts, wire_problem
from tests.games import GAMES, NAMES

MAX_PLIES = 60


def audiences(match: Match) -> list[int | None]:
    return [*range(match.seat_count), None]


def view_audiences(match: Match) -> list[int | None]:
    """The audiences whose views differ: a public game has one view for all."""
    return audiences(match) if match.game.hidden_information else [None]


def assert_views_wire_clean(match: Match) -> None:
    for audience in view_audiences(match):
        problem = wire_problem(match.view(audience), f"view({audience})")
        assert problem is None, problem


def play_randomly(match: Match, rnd: random.Random, plies: int = MAX_PLIES) -> list[Transition]:
    """Random legal moves through ``match``, checking the shared promises at each ply."""
    game = match.game
    steps: list[Transition] = []
    views = {a: match.view(a) for a in audiences(match)}
    for _ in range(plies):
        if match.status != "playing":
            break
        seat = rnd.choice(match.to_act)
        moves = match.legal_moves(seat)
        assert moves, f"seat {seat} is to act but has no legal move"
        not_acting = [s for s in range(match.seat_count) if s not in match.to_act]
        assert all(game.legal_moves(match.state, s) == [] for s in not_acting)
        state = match.state
        frozen = copy.deepcopy(state)
        for move in rnd.sample(moves, min(len(moves), 3)):
            step = fork(match).submit(seat, dump(game, move))
            assert isinstance(step, Transition), (move, step)
        assert match.state is state and state == frozen  # apply left it alone
        step = match.submit(seat, dump(game, rnd.choice(moves)))
        assert isinstance(step, Transition), step
        steps.append(step)
        assert_views_wire_clean(match)
        for audience in audiences(match):
            assert apply_delta(views[audience], step.deltas[audience]) == match.view(audience)
            views[audience] = match.view(audience)
    return steps


@pytest.mark.parametrize("name", NAMES)
def test_initial_views_are_wire_clean(name: str) -> None:
    game = GAMES[name]
    for seats in seat_counts(game):
        match = new_match(game, seats, seed=1)
        assert_views_wire_clean(match)
        if not game.hidden_information:
            assert match.view(0) == match.view(None)


def test_unknown_game() -> None:
    with pytest.raises(KeyError, match="tictactoe"):
        GAMES.lookup("go")


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1), moves_seed=st.integers(0, 2**32 - 1), data=st.data())
def test_random_games_keep_the_promises(
    name: str, seed: int, moves_seed: int, data: st.DataObject
) -> None:
    game = GAMES[name]
    seats = data.draw(st.integers(game.min_seats, game.max_seats), label="seats")
    match = new_match(game, seats, seed)
    # A plain generator for the moves: drawing each choice through hypothesis is slow.
    steps = play_randomly(match, random.Random(moves_seed))
    if match.status == "finished":
        outcome = match.outcome
        assert outcome is not None and match.to_act == ()
        assert len(outcome.returns) == seats
        assert all(0 <= w < seats for w in outcome.winners)
        assert wire_problem(outcome.as_view()) is None
    # Replay: the same seed and the same moves give the same state.
    replayed = Match.replay(game, seats, None, seed, match.log)
    assert replayed.state == match.state
    assert replayed.seq == match.seq == 1 + len(steps)
    for audience in audiences(match):
        assert replayed.view(audience) == match.view(audience)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_moves_same_state(name: str) -> None:
    game = GAMES[name]
    first = new_match(game, game.min_seats, seed=42)
    play_randomly(first, random.Random(7), plies=30)
    second = new_match(game, game.min_seats, seed=42)
    for entry in first.log:
        assert isinstance(second.submit(entry["seat"], entry["m"]), Transition)
    assert second.state == first.state
    assert second.log == first.log
    for audience in audiences(first):
        assert second.view(audience) == first.view(audience)


@pytest.mark.parametrize(
    "name", [n for n in NAMES if GAMES[n].min_seats <= 2 <= GAMES[n].max_seats]
)
def test_a_two_seat_forfeit_keeps_its_reason(name: str) -> None:
    game: Game[Any, Any, Any] = GAMES[name]
    match = new_match(game, 2, seed=0)
    step = match.forfeit(1, "resigned")
    assert isinstance(step, Transition), step
    assert match.status == "finished"
    assert match.outcome is not None
    assert match.outcome.winners == (0,) and match.outcome.reason == "resigned"
    late = match.forfeit(0, "resigned")
    assert isinstance(late, Rejection) and late.code == api.GAME_OVER
