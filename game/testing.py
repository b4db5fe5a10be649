"""The conformance kit: what every Meeple game must keep, checked on any game.

Run all of it in a game author's own tests::

    from meeple.game.testing import check_game
    from my_game import MyGame

    def test_my_game_conforms():
        check_game(MyGame)

or one pytest case per check, so a failure names what broke::

    from meeple.game.testing import conformance

    @conformance(MyGame)
    def test_conformance(game, check):
        check(game)

Each check plays random games through ``legal_moves`` to their end (seeded: a failure
repeats) and raises ``ConformanceError`` saying where and why. The checks:

- ``api``: the class satisfies the Game API; the catalog entry is JSON; every option has
  a default and unknown ones are refused; ``max_moves`` is declared;
- ``playouts``: random games end within ``max_moves``; every seat to act has a legal
  move, no other seat has one; the end has no seat to act;
- ``legal_moves``: every listed move is accepted, as the wire sends it;
- ``illegal_moves``: a move that is not listed (one listed earlier in the game) gets a
  ``Rejection`` from ``apply``, never an exception; a malformed payload is ``bad_move``;
- ``no_mutation``: ``apply``, ``forfeit``, ``on_timeout`` and ``view`` never change the
  state they are given;
- ``views``: every audience's view is wire-clean (string keys, ints within 2**53, no NaN
  or infinity, no tuples) and a MessagePack round trip returns it unchanged; a game
  without hidden information shows every seat the spectators' view;
- ``deltas``: the deltas between successive views rebuild each audience's view exactly;
- ``replay``: a game replays from its seed and its log (as the journal stores it) to the
  same state and the same view bytes;
- ``outcome``: one finite number per seat in ``returns``, winners are seats, a draw has
  none, and the outcome is JSON;
- ``forfeits`` and ``timeouts``: any seat may forfeit at any point, a seat to act may
  time out, and neither fails; a seat that forfeited acts no more;
- ``board``: a declared board module is in its package and exports ``createBoard``.

This module is for tests: it imports nothing beyond the game core and the standard
library (pytest only inside ``conformance``).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

from meeple.game import api
from meeple.game.api import Game, Rejection
from meeple.game.codec import decode, encode
from meeple.game.delta import apply_delta
from meeple.game.match import Audience, Match, Transition
from meeple.game.registry import AnyGame, GameError, api_problems, instantiate

LIMIT = 2**53
PLAYOUTS = 6
"""Random games per seat count a check plays by default."""

GameLike = AnyGame | type[AnyGame]


class ConformanceError(AssertionError):
    """A game broke a promise every Meeple game keeps; the message says where."""


# Helpers ----------------------------------------------------------------------------


def wire_problem(value: Any, path: str = "view") -> str | None:
    """Why ``value`` cannot go on the wire as is (or be mirrored by JavaScript), or None."""
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
            problem = wire_problem(item, f"{path}.{key}")
            if problem:
                return problem
        return None
    if kind is list:
        for i, item in enumerate(value):
            problem = wire_problem(item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    return f"{path}: {kind.__name__} {value!r} is not plain data (dict, list, str, int, ...)"


def seat_counts(game: AnyGame) -> list[int]:
    """The fewest seats, one more, and the most: the counts the checks play."""
    return sorted({game.min_seats, min(game.max_seats, game.min_seats + 1), game.max_seats})


def new_match(game: AnyGame, seats: int, seed: int, options: Any = None) -> Match:
    """A started match with every seat taken."""
    match = Match.create(game, seats, options, seed)
    for seat in range(seats):
        match.sit(seat, f"kit-{seat}", f"Kit {seat}")
    match.start()
    return match


def fork(match: Match) -> Match:
    """A copy to try a change on: states are immutable, so only the log is copied."""
    other = copy.copy(match)
    other.log = list(match.log)
    return other


def dump(game: AnyGame, move: Any) -> Any:
    """A move as the wire (and the log) carries it."""
    return game.move_adapter().dump_python(move, mode="json")


def _audiences(match: Match) -> list[Audience]:
    return [*range(match.seat_count), None]


def _fail(game: AnyGame, where: str, what: str) -> ConformanceError:
    return ConformanceError(f"{game.name}: {where}: {what}")


@dataclass(frozen=True)
class Ply:
    """One step of a random game: the match before it, who moved what, what it did."""

    before: Match
    seat: int
    payload: Any
    step: Transition
    listed: tuple[Any, ...]
    """Every seat's listed moves before the step, dumped: ``listed[seat]``."""


@dataclass(frozen=True)
class Playout:
    seats: int
    seed: int
    start: Match
    """A fork of the match at its start."""
    plies: tuple[Ply, ...]
    end: Match

    def where(self, ply: int | None = None) -> str:
        at = "the end" if ply is None else f"move {ply + 1}"
        return f"{self.seats} seats, seed {self.seed}, {at}"


@functools.lru_cache(maxsize=64)
def _playout(game: AnyGame, seats: int, seed: int) -> Playout:
    """A random game through ``legal_moves`` to its end (cached: every check reads it)."""
    rnd = random.Random(seed)
    match = new_match(game, seats, seed)
    start = fork(match)
    bound = _bound(game, seats, match.options)
    plies: list[Ply] = []
    while match.status == "playing":
        where = f"{seats} seats, seed {seed}, move {len(plies) + 1}"
        if len(plies) >= bound:
            raise _fail(game, where, f"the game has not ended within max_moves ({bound})")
        listed = tuple(
            tuple(dump(game, m) for m in game.legal_moves(match.state, s)) for s in range(seats)
        )
        for s in range(seats):
            if s in match.to_act and not listed[s]:
                raise _fail(game, where, f"seat {s} is to act but legal_moves lists nothing")
            if s not in match.to_act and listed[s]:
                raise _fail(game, where, f"seat {s} is not to act but legal_moves lists moves")
        if not match.to_act:
            raise _fail(game, where, "nobody is to act, and the game has no outcome")
        seat = rnd.choice(match.to_act)
        payload = rnd.choice(listed[seat])
        before = fork(match)
        step = match.submit(seat, payload)
        if isinstance(step, Rejection):
            raise _fail(game, where, f"listed move {payload} by seat {seat} was refused: {step}")
        plies.append(Ply(before, seat, payload, step, listed))
    return Playout(seats, seed, start, tuple(plies), match)


def _bound(game: AnyGame, seats: int, options: Any) -> int:
    bound = game.max_moves(seats, options)
    if type(bound) is not int or bound < 1:
        raise _fail(game, "max_moves", f"must return a positive int bound, not {bound!r}")
    return bound


def playouts(game: AnyGame, count: int = PLAYOUTS) -> Iterator[Playout]:
    """``count`` random games for each seat count (the same ones every time)."""
    for seats in seat_counts(game):
        for i in range(count):
            yield _playout(game, seats, 1000 * seats + i)


def _same(game: AnyGame, before: Any, after: Any, where: str, what: str) -> None:
    if getattr(type(before), "__eq__", None) is object.__eq__:
        raise _fail(game, where, "states must compare by value (use frozen dataclasses)")
    if before != after:
        raise _fail(game, where, f"{what} changed the state it was given")


# The checks -------------------------------------------------------------------------


def check_api(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """The Game API, the catalog entry, options, and a declared bound."""
    problems = api_problems(game)
    if problems:
        name = getattr(game, "name", repr(game))
        raise ConformanceError(f"{name}: not a Meeple game: {'; '.join(problems)}")
    made = _made(game)
    info = api.describe(made)
    for label, schema in (
        ("options_schema", info.options_schema),
        ("move_schema", info.move_schema),
    ):
        if json.loads(json.dumps(schema)) != schema:
            raise _fail(made, "catalog", f"{label} is not JSON")
    options = made.parse_options(None)
    if options != made.parse_options({}):
        raise _fail(made, "options", "no options and {} must give the same options")
    try:
        made.parse_options({"__meeple_kit__": 1})
    except ValueError:
        pass
    else:
        raise _fail(made, "options", "an unknown option was accepted")
    for seats in seat_counts(made):
        _bound(made, seats, options)


def check_playouts(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """Random games end within the bound, with a legal move for every seat to act."""
    made = _made(game)
    for playout in playouts(made, playouts_per_count):
        end = playout.end
        if end.to_act or any(made.legal_moves(end.state, s) for s in range(end.seat_count)):
            raise _fail(made, playout.where(), "a finished game still lists moves")


def check_legal_moves(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """Every move ``legal_moves`` lists is accepted, as the wire sends it: all of them
    along one game per seat count, a few at every step of the others."""
    made = _made(game)
    rnd = random.Random(3)
    for n, playout in enumerate(playouts(made, playouts_per_count)):
        for i, ply in enumerate(playout.plies):
            for seat in ply.before.to_act:
                listed = ply.listed[seat]
                sample = (
                    listed
                    if n % playouts_per_count == 0
                    else rnd.sample(listed, min(3, len(listed)))
                )
                for payload in sample:
                    wired = decode(encode({"m": payload}))["m"]
                    step = fork(ply.before).submit(seat, wired)
                    if isinstance(step, Rejection):
                        raise _fail(
                            made, playout.where(i), f"listed {payload} refused: {step.message}"
                        )


def check_illegal_moves(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """A move that is not listed is a ``Rejection``, never an exception or a new state."""
    made = _made(game)
    adapter = made.move_adapter()
    rnd = random.Random(7)
    for playout in playouts(made, playouts_per_count):
        seen: dict[str, Any] = {}
        for i, ply in enumerate(playout.plies):
            where = playout.where(i)
            for moves in ply.listed:
                for payload in moves:
                    seen.setdefault(json.dumps(payload, sort_keys=True), payload)
            keys = list(seen)
            match = ply.before
            for seat in match.to_act:
                listed = {json.dumps(p, sort_keys=True) for p in ply.listed[seat]}
                drawn = {rnd.choice(keys) for _ in range(16)}  # a few moves listed before
                unlisted = [seen[k] for k in sorted(drawn) if k not in listed][:4]
                for payload in unlisted:
                    move = adapter.validate_python(payload)
                    try:
                        result = made.apply(match.state, seat, move, random.Random(0))
                    except Exception as exc:
                        raise _fail(
                            made, where, f"apply raised on unlisted {payload}: {exc!r}"
                        ) from None
                    if not isinstance(result, Rejection):
                        raise _fail(made, where, f"unlisted move {payload} was not rejected")
                    if not (isinstance(result.code, str) and result.code and result.message):
                        raise _fail(made, where, f"rejection {result} needs a code and a message")
                refused = fork(match).submit(seat, {"__meeple_kit__": [1]})
                if not (isinstance(refused, Rejection) and refused.code == api.BAD_MOVE):
                    raise _fail(made, where, f"a malformed move was not bad_move: {refused}")
            for seat in range(match.seat_count):
                if seat not in match.to_act and ply.listed[ply.seat]:
                    refused = fork(match).submit(seat, ply.listed[ply.seat][0])
                    if not isinstance(refused, Rejection):
                        raise _fail(made, where, f"seat {seat} moved out of turn")


def check_no_mutation(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """``apply``, ``forfeit``, ``on_timeout`` and ``view`` leave their state alone."""
    made = _made(game)
    adapter = made.move_adapter()
    for playout in playouts(made, playouts_per_count):
        for i, ply in enumerate(playout.plies):
            where = playout.where(i)
            state = ply.before.state
            frozen = copy.deepcopy(state)
            for seat in ply.before.to_act:
                for payload in ply.listed[seat][:8]:
                    made.apply(state, seat, adapter.validate_python(payload), random.Random(1))
                    _same(made, frozen, state, where, f"apply of {payload}")
                made.on_timeout(state, seat, random.Random(2))
                _same(made, frozen, state, where, "on_timeout")
            for seat in range(ply.before.seat_count):
                made.forfeit(state, seat, "resigned")
                _same(made, frozen, state, where, "forfeit")
            for audience in _audiences(ply.before):
                made.view(state, audience)
            _same(made, frozen, state, where, "view")


def check_views(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """Views are plain data that survive MessagePack unchanged."""
    made = _made(game)
    for playout in playouts(made, playouts_per_count):
        matches = [playout.start, *(p.before for p in playout.plies[1:]), playout.end]
        for i, match in enumerate(matches):
            where = playout.where(i if i < len(playout.plies) else None)
            for audience in _audiences(match):
                view = made.view(match.state, audience)
                problem = wire_problem(view, f"view({audience})")
                if problem:
                    raise _fail(made, where, problem)
                if decode(encode({"v": view}))["v"] != view:
                    raise _fail(
                        made, where, f"view({audience}) changes in a MessagePack round trip"
                    )
                if not made.hidden_information and view != made.view(match.state, None):
                    raise _fail(
                        made, where, f"hidden_information is False, but seat {audience} sees "
                        "something spectators do not",
                    )  # fmt: skip


def check_deltas(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """Each change's deltas turn every audience's previous view into its new one."""
    made = _made(game)
    for playout in playouts(made, playouts_per_count):
        views = {a: playout.start.view(a) for a in _audiences(playout.start)}
        for i, ply in enumerate(playout.plies):
            after = playout.plies[i + 1].before if i + 1 < len(playout.plies) else playout.end
            for audience, old in views.items():
                ops = decode(encode({"o": ply.step.deltas[audience]}))["o"]
                if apply_delta(old, ops) != after.view(audience):
                    raise _fail(
                        made, playout.where(i), f"the delta for {audience} does not rebuild"
                    )
                views[audience] = after.view(audience)


def check_replay(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """The seed and the log, as the journal keeps them, rebuild the game bit for bit."""
    made = _made(game)
    for playout in playouts(made, playouts_per_count):
        end = playout.end
        halfway = playout.plies[len(playout.plies) // 2].before if playout.plies else end
        for target in (halfway, end):
            log = [decode(encode(e)) for e in target.log]
            try:
                again = Match.replay(made, target.seat_count, None, target.seed, log)
            except ValueError as exc:
                raise _fail(made, playout.where(), f"the log does not replay: {exc}") from None
            if again.state != target.state or again.seq != target.seq:
                raise _fail(made, playout.where(), "replay gives another state")
            for audience in _audiences(target):
                if encode(again.view(audience)) != encode(target.view(audience)):
                    raise _fail(made, playout.where(), f"replay gives another view({audience})")


def check_outcome(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """One finite number per seat; winners are seats; a draw has none."""
    made = _made(game)
    for playout in playouts(made, playouts_per_count):
        _check_outcome(made, playout.end, playout.where())


def _check_outcome(game: AnyGame, match: Match, where: str) -> None:
    outcome = match.outcome
    if outcome is None or game.outcome(match.state) != outcome:
        raise _fail(game, where, "a finished game must keep its outcome")
    seats = match.seat_count
    if len(outcome.returns) != seats:
        raise _fail(game, where, f"returns {outcome.returns} must hold one number per seat")
    if not all(isinstance(r, int | float) and math.isfinite(r) for r in outcome.returns):
        raise _fail(game, where, f"returns {outcome.returns} must be finite numbers")
    if not all(type(w) is int and 0 <= w < seats for w in outcome.winners):
        raise _fail(game, where, f"winners {outcome.winners} must be seats")
    if outcome.draw and outcome.winners:
        raise _fail(game, where, "a draw has no winners")
    if wire_problem(outcome.as_view(), "outcome") or not isinstance(outcome.reason, str):
        raise _fail(game, where, f"outcome {outcome} is not plain data")


def check_forfeits(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """Any seat may leave at any point: the match goes on without it, or ends."""
    made = _made(game)
    rnd = random.Random(11)
    for playout in playouts(made, playouts_per_count):
        points = [
            playout.start,
            *(p.before for p in rnd.sample(playout.plies, min(3, len(playout.plies)))),
        ]
        for match in points:
            for seat in range(match.seat_count):
                where = f"{playout.where()}, seat {seat} forfeits at sequence number {match.seq}"
                left = fork(match)
                step = left.forfeit(seat, "resigned")
                if isinstance(step, Rejection):
                    raise _fail(made, where, f"refused: {step.message}")
                if left.status == "finished":
                    _check_outcome(made, left, where)
                    if seat in left.outcome.winners:  # type: ignore[union-attr]
                        raise _fail(made, where, "the seat that left won")
                elif seat in left.to_act:
                    raise _fail(made, where, "the seat that left is still to act")
                elif match.seat_count == 2:
                    raise _fail(made, where, "with two seats, a forfeit ends the game")


def check_timeouts(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """A seat to act may run out of time at any point, and the match goes on or ends."""
    made = _made(game)
    for playout in playouts(made, playouts_per_count):
        for i, ply in enumerate(playout.plies[:20]):
            for seat in ply.before.to_act:
                step = fork(ply.before).timeout(seat)
                if isinstance(step, Rejection):
                    raise _fail(made, playout.where(i), f"a timeout of seat {seat}: {step.message}")


def check_board(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """A declared board is package data that exports ``createBoard``."""
    made = _made(game)
    if made.board is None:
        return
    package, _, path = made.board.partition(":")
    try:
        text = resources.files(package).joinpath(*path.split("/")).read_text("utf-8")
    except (OSError, ImportError, ValueError) as exc:
        raise _fail(made, "board", f"{made.board} is not in its package: {exc!r}") from None
    if "createBoard" not in text or "export" not in text:
        raise _fail(made, "board", f"{made.board} must export createBoard(root, context)")


CHECKS: dict[str, Callable[[GameLike, int], None]] = {
    "api": check_api,
    "playouts": check_playouts,
    "legal_moves": check_legal_moves,
    "illegal_moves": check_illegal_moves,
    "no_mutation": check_no_mutation,
    "views": check_views,
    "deltas": check_deltas,
    "replay": check_replay,
    "outcome": check_outcome,
    "forfeits": check_forfeits,
    "timeouts": check_timeouts,
    "board": check_board,
}


def check_game(game: GameLike, playouts_per_count: int = PLAYOUTS) -> None:
    """Run every check on ``game`` (a class or an instance); ConformanceError if one fails."""
    check_api(game)
    for check in CHECKS.values():
        check(game, playouts_per_count)


_Test = TypeVar("_Test", bound=Callable[..., Any])


def conformance(*games: GameLike, checks: Sequence[str] | None = None) -> Callable[[_Test], _Test]:
    """A pytest parametrization over ``games`` and the checks, one case per pair::

    @conformance(MyGame)
    def test_conformance(game, check):
        check(game)
    """
    import pytest  # only for the tests that use this

    made = [_made(g) for g in games]
    chosen = list(CHECKS) if checks is None else list(checks)
    return pytest.mark.parametrize(
        ("game", "check"),
        [pytest.param(g, CHECKS[c], id=f"{g.name}-{c}") for g in made for c in chosen],
    )


def _made(game: GameLike) -> AnyGame:
    if isinstance(game, Game):
        return game
    try:
        return _instances(game)
    except GameError as exc:
        raise ConformanceError(str(exc)) from None


_INSTANCES: dict[type[AnyGame], AnyGame] = {}


def _instances(cls: type[AnyGame]) -> AnyGame:
    """One instance per class, so the cached playouts are shared between checks."""
    made = _INSTANCES.get(cls)
    if made is None:
        made = _INSTANCES[cls] = instantiate(cls, cls.__qualname__)
    return made


__all__ = [
    "CHECKS",
    "ConformanceError",
    "check_game",
    "conformance",
    "fork",
    "new_match",
    "playouts",
    "seat_counts",
    "wire_problem",
]
