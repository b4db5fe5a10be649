"""What every registered game must keep, checked the same way for each.

The catalog entry is JSON; views are JSON-like (they go on the wire as MessagePack
and are mirrored by JavaScript clients) for every audience along random games;
every move ``legal_moves`` lists is accepted by the match; ``apply`` never mutates
the state it is given; and a game replays from its seed and moves.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meeple.game import api
from meeple.game.api import Game, Rejection
from meeple.game.delta import apply_delta
from meeple.game.match import Match, Transition
from tests.games import GAMES, NAMES

MAX_PLIES = 60
LIMIT = 2**53


def seats_for(game: Game[Any, Any, Any]) -> list[int]:
    return sorted({game.min_seats, min(game.max_seats, game.min_seats + 1), game.max_seats})


def new_match(game: Game[Any, Any, Any], seats: int, seed: int) -> Match:
    match = Match.create(game, seats, None, seed)
    for seat in range(seats):
        match.sit(seat, f"p{seat}", f"player {seat}")
    match.start()
    return match


def audiences(match: Match) -> list[int | None]:
    return [*range(match.seat_count), None]


def json_like_problem(value: Any, path: str = "view") -> str | None:
    """Why ``value`` is not plain JSON-like data, or None when it is."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return None
    if kind is int:
        return None if -LIMIT <= value <= LIMIT else f"{path}: {value} is beyond 2**53"
    if kind is float:
        return None if math.isfinite(value) else f"{path}: {value} is not finite"
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return f"{path}: key {key!r} is not a str"
            problem = json_like_problem(item, f"{path}.{key}")
            if problem:
                return problem
        return None
    if kind is list:
        for i, item in enumerate(value):
            problem = json_like_problem(item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    return f"{path}: {kind.__name__} {value!r} is not JSON-like"


def view_audiences(match: Match) -> list[int | None]:
    """The audiences whose views differ: a public game has one view for all."""
    return audiences(match) if match.game.hidden_information else [None]


def assert_views_json_like(match: Match) -> None:
    for audience in view_audiences(match):
        problem = json_like_problem(match.view(audience), f"view({audience})")
        assert problem is None, problem


def dump(game: Game[Any, Any, Any], move: Any) -> Any:
    return game.move_adapter().dump_python(move, mode="json")


def fork(match: Match) -> Match:
    """A copy to try a move on: states are immutable, so only the log must not be shared."""
    other = copy.copy(match)
    other.log = list(match.log)
    return other


def play_randomly(
    match: Match, rnd: random.Random, plies: int = MAX_PLIES, check_every_move: bool = False
) -> list[Transition]:
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
        for other in match.to_act:
            if other != seat:
                assert match.legal_moves(other), f"seat {other} is to act but cannot move"
        # The game's own answer, not the match's guard: nothing for seats not to act.
        not_acting = [s for s in range(match.seat_count) if s not in match.to_act]
        assert all(game.legal_moves(match.state, s) == [] for s in not_acting)

        state = match.state
        frozen = copy.deepcopy(state)
        tried = moves if check_every_move else rnd.sample(moves, min(len(moves), 3))
        for move in tried:
            payload = dump(game, move)
            assert json.loads(json.dumps(payload)) == payload
            step = fork(match).submit(seat, payload)
            assert isinstance(step, Transition), (move, step)
        # apply (through submit) never touched the state it was given.
        assert match.state is state
        assert state == frozen
        # (The match's views were made from ``state`` before any of those moves.)
        assert all(game.view(state, a) == match.view(a) for a in view_audiences(match))

        step = match.submit(seat, dump(game, rnd.choice(moves)))
        assert isinstance(step, Transition), step
        steps.append(step)
        assert_views_json_like(match)
        for audience in audiences(match):
            assert apply_delta(views[audience], step.deltas[audience]) == match.view(audience)
            views[audience] = match.view(audience)
    return steps


# The catalog ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_catalog_entry_is_json(name: str) -> None:
    game = GAMES.get(name)
    info = api.describe(game)
    assert info.name == name == game.name
    assert info.title and info.description
    assert 1 <= info.min_seats <= info.max_seats
    for schema in (info.options_schema, info.move_schema):
        assert isinstance(schema, dict) and schema
        assert json.loads(json.dumps(schema)) == schema
    assert game.default_abandon_policy in ("forfeit", "skip", "bot")
    assert isinstance(game.hidden_information, bool)


@pytest.mark.parametrize("name", NAMES)
def test_default_options_and_every_option_has_a_default(name: str) -> None:
    game = GAMES.get(name)
    options = game.parse_options(None)
    assert options == game.parse_options({})
    assert "required" not in api.describe(game).options_schema
    with pytest.raises(ValueError):
        game.parse_options({"no_such_option": 1})


def test_unknown_game() -> None:
    with pytest.raises(KeyError, match="tictactoe"):
        GAMES.get("go")


# Views and moves along random games ------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_initial_views_are_json_like(name: str) -> None:
    game = GAMES.get(name)
    for seats in seats_for(game):
        match = new_match(game, seats, seed=1)
        assert_views_json_like(match)
        if not game.hidden_information:
            assert match.view(0) == match.view(None)


@pytest.mark.parametrize("name", NAMES)
def test_every_legal_move_is_accepted(name: str) -> None:
    """A full check, every listed move at every ply, on one fixed game per seat count."""
    game = GAMES.get(name)
    for seats in seats_for(game):
        match = new_match(game, seats, seed=seats)
        play_randomly(match, random.Random(seats), check_every_move=True)


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
    game = GAMES.get(name)
    seats = data.draw(st.integers(game.min_seats, game.max_seats), label="seats")
    match = new_match(game, seats, seed)
    # A plain generator for the moves: drawing each choice through hypothesis is slow.
    steps = play_randomly(match, random.Random(moves_seed))
    if match.status == "finished":
        outcome = match.outcome
        assert outcome is not None and match.to_act == ()
        assert len(outcome.returns) == seats
        assert all(0 <= w < seats for w in outcome.winners)
        assert json_like_problem(outcome.as_view()) is None
    # Replay: the same seed and the same moves give the same state.
    replayed = Match.replay(game, seats, None, seed, match.log)
    assert replayed.state == match.state
    assert replayed.seq == match.seq == 1 + len(steps)
    for audience in audiences(match):
        assert replayed.view(audience) == match.view(audience)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_moves_same_state(name: str) -> None:
    game = GAMES.get(name)
    seats = game.min_seats
    first = new_match(game, seats, seed=42)
    play_randomly(first, random.Random(7), plies=30)
    second = new_match(game, seats, seed=42)
    for entry in first.log:
        assert isinstance(second.submit(entry["seat"], entry["m"]), Transition)
    assert second.state == first.state
    assert second.log == first.log
    for audience in audiences(first):
        assert second.view(audience) == first.view(audience)


def test_liars_dice_seeds_deal_different_dice() -> None:
    game = GAMES.get("liarsdice")
    hands = {new_match(game, 2, seed).state.dice for seed in range(5)}
    assert len(hands) > 1
    # And the same seed deals the same dice.
    assert new_match(game, 2, 3).state.dice == new_match(game, 2, 3).state.dice


# Forfeits ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_two_seat_forfeit_keeps_its_reason(name: str) -> None:
    game = GAMES.get(name)
    if not game.min_seats <= 2 <= game.max_seats:
        pytest.skip(f"{name} is not played by two")
    match = new_match(game, 2, seed=0)
    step = match.forfeit(1, "resigned")
    assert isinstance(step, Transition), step
    assert match.status == "finished"
    assert match.outcome == api.win(0, 2, "resigned")
    late = match.forfeit(0, "resigned")
    assert isinstance(late, Rejection) and late.code == api.GAME_OVER
