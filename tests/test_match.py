"""The match state machine: seats, status, sequence numbers, the log, replay, rematch,
and the promise that a refused change, or a game that fails, changes nothing.

Tic-tac-toe drives the ordinary paths; ``Tally``, a tiny game defined here, has a
move that makes each of its rules raise, so the failure paths can be reached; and
Liar's Dice (hidden information, randomness) shows per-seat deltas and that
replay depends on the seed, the game number and the first sequence number.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pydantic import Field

from meeple.game import api
from meeple.game.api import Game, MoveModel, Options, Outcome, Rejection, View, win
from meeple.game.delta import apply_delta
from meeple.game.games.liars_dice import LiarsDice
from meeple.game.games.tictactoe import TicTacToe
from meeple.game.match import Match, Transition, rng_for

TTT = TicTacToe()
DICE = LiarsDice()


# A tiny fake game -----------------------------------------------------------------

# Moves that make one of Tally's rules raise once they are applied.
APPLY_RAISES = 13
OUTCOME_RAISES = 66
VIEW_RAISES = 77
TO_ACT_RAISES = 88


class Add(MoveModel):
    """Add ``n`` to the running total."""

    n: int = Field(ge=0, le=100)


class TallyOptions(Options):
    target: int = Field(default=1000, ge=1, le=10_000)
    turn_seconds: float | None = Field(default=None, gt=0)


@dataclass(frozen=True, slots=True)
class TallyState:
    total: int
    turn: int
    seats: int
    target: int
    forfeited: tuple[int, ...] = ()
    last: int | None = None
    roll: int = 0


class Tally(Game[TallyState, Add, TallyOptions]):
    """Seats take turns adding to a total; whoever reaches the target wins.

    Each seat sees the total and its own number (so views differ per seat); the
    spectator sees only the total. Special totals make a rule raise, as a buggy
    game would.
    """

    name = "tally"
    title = "Tally"
    min_seats = 1
    max_seats = 3
    options = TallyOptions
    move = Add

    def setup(self, seats: int, options: TallyOptions, rng: random.Random) -> TallyState:
        return TallyState(0, 0, seats, options.target, roll=rng.randrange(1_000_000))

    def to_act(self, state: TallyState) -> tuple[int, ...]:
        if state.last == TO_ACT_RAISES:
            raise RuntimeError("to_act broke")
        return () if self.outcome(state) else (state.turn,)

    def legal_moves(self, state: TallyState, seat: int) -> list[Add]:
        return [Add(n=1), Add(n=2)] if seat in self.to_act(state) else []

    def apply(
        self, state: TallyState, seat: int, move: Add, rng: random.Random
    ) -> TallyState | Rejection:
        if move.n == APPLY_RAISES:
            raise RuntimeError("apply broke")
        if move.n == 0:
            return Rejection("zero", "add something")
        return replace(
            state,
            total=state.total + move.n,
            turn=(seat + 1) % state.seats,
            last=move.n,
            roll=rng.randrange(1_000_000),
        )

    def outcome(self, state: TallyState) -> Outcome | None:
        if state.last == OUTCOME_RAISES:
            raise RuntimeError("outcome broke")
        alive = [s for s in range(state.seats) if s not in state.forfeited]
        if state.forfeited and len(alive) <= 1:
            return win(alive[0] if alive else 0, state.seats, "forfeit")
        if state.total >= state.target:
            return win((state.turn - 1) % state.seats, state.seats, "target")
        return None

    def view(self, state: TallyState, seat: int | None) -> View:
        if state.last == VIEW_RAISES:
            raise RuntimeError("view broke")
        view: View = {"t": state.total}
        if seat is not None:
            view["me"] = seat
        return view

    def forfeit(self, state: TallyState, seat: int, reason: str) -> TallyState:
        if reason == "explode":
            raise RuntimeError("forfeit broke")
        return replace(state, forfeited=(*state.forfeited, seat))

    def on_timeout(self, state: TallyState, seat: int, rng: random.Random) -> TallyState:
        if state.total == 5:
            raise RuntimeError("on_timeout broke")
        # A timeout passes the turn and re-rolls, like a game that skips a seat.
        return replace(state, turn=(seat + 1) % state.seats, roll=rng.randrange(1_000_000))


class PublicTally(Tally):
    """The same game with nothing hidden: one view for everyone."""

    name = "publictally"
    hidden_information = False

    def view(self, state: TallyState, seat: int | None) -> View:
        return super().view(state, None)


class BrokenSetup(Tally):
    """A game that cannot set up its second game."""

    name = "brokensetup"

    def setup(self, seats: int, options: TallyOptions, rng: random.Random) -> TallyState:
        raise RuntimeError("setup broke")


TALLY = Tally()
PUBLIC = PublicTally()


# Helpers ----------------------------------------------------------------------------


def seated(game: Game[Any, Any, Any], seats: int = 2, seed: int = 0, **options: Any) -> Match:
    match = Match.create(game, seats, options, seed)
    for seat in range(seats):
        match.sit(seat, f"p{seat}", f"player {seat}")
    return match


def started(game: Game[Any, Any, Any], seats: int = 2, seed: int = 0, **options: Any) -> Match:
    match = seated(game, seats, seed, **options)
    match.start()
    return match


def audiences(match: Match) -> list[int | None]:
    return [*range(match.seat_count), None]


def snapshot(match: Match) -> tuple[Any, ...]:
    """Everything a refused change must leave alone; views by identity as well as value."""
    views = {a: match.view(a) for a in audiences(match)}
    return (
        match.state,
        match.seq,
        list(match.log),
        match.status,
        match.outcome,
        match.to_act,
        match.seed,
        match.game_no,
        views,
        {a: id(v) for a, v in match._views.items()},  # the very same view objects
        {a: match.last_change(a) for a in audiences(match)},
    )


def refused(match: Match, attempt: Any, code: str) -> Rejection:
    before = snapshot(match)
    state = match.state
    result = attempt()
    assert isinstance(result, Rejection), result
    assert result.code == code, result
    assert match.state is state
    assert snapshot(match) == before
    return result


def accepted(result: Transition | Rejection) -> Transition:
    assert isinstance(result, Transition), result
    return result


def finish_ttt(match: Match) -> Transition:
    """Seat 0 wins along the top row."""
    last: Transition | None = None
    for seat, cell in ((0, 0), (1, 3), (0, 1), (1, 4), (0, 2)):
        last = accepted(match.submit(seat, {"cell": cell}))
    assert last is not None and match.status == "finished"
    return last


# Creating and seating ---------------------------------------------------------------


@pytest.mark.parametrize("seats", [-1, 0, 1, 3, 10])
def test_create_refuses_bad_seat_counts(seats: int) -> None:
    with pytest.raises(ValueError, match="seats"):
        Match.create(TTT, seats, None, 0)


@pytest.mark.parametrize(
    "options",
    [
        {"turn_seconds": -1},
        {"turn_seconds": 0},
        {"turn_seconds": 10**6},
        {"turn_seconds": "soon"},
        {"colour": "red"},
    ],
    ids=repr,
)
def test_create_refuses_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Match.create(TTT, 2, options, 0)


def test_create_gives_a_waiting_match_with_empty_seats() -> None:
    match = Match.create(TTT, 2, None, 5)
    assert (match.status, match.seq, match.game_no, match.log) == ("waiting", 0, 0, [])
    assert match.free_seats() == [0, 1]
    assert [s.kind for s in match.seats] == ["empty", "empty"]
    assert match.options == TTT.options()
    assert match.turn_seconds() is None
    assert match.view(0) == match.view(None) == {}
    assert match.legal_moves(0) == []
    assert Match.create(TTT, 2, {"turn_seconds": 30}, 5).turn_seconds() == 30.0


def test_sit_stand_free_seats_and_seat_of() -> None:
    match = Match.create(TALLY, 3, None, 0)
    match.sit(1, "ada", "Ada")
    assert match.free_seats() == [0, 2]
    assert match.seat_of("ada") == 1
    assert match.seat_of("bo") is None
    assert match.seats[1].as_view() == {
        "kind": "human",
        "player_id": "ada",
        "name": "Ada",
        "bot": False,
    }
    with pytest.raises(ValueError, match="taken"):
        match.sit(1, "bo", "Bo")
    match.sit(1, "ada", "Ada L.")  # the same player may sit again (a new name)
    assert match.seats[1].name == "Ada L."
    for seat in (-1, 3):
        with pytest.raises(ValueError, match="no seat"):
            match.sit(seat, "bo", "Bo")
    match.sit(2, "bot:1", "Bot", bot="random")
    assert match.seats[2].kind == "bot"
    match.stand(1)
    assert match.free_seats() == [0, 1]
    assert match.seat_of("ada") is None


def test_start_only_when_every_seat_is_taken() -> None:
    match = Match.create(TTT, 2, None, 0)
    with pytest.raises(ValueError, match="every seat"):
        match.start()
    match.sit(0, "a", "A")
    with pytest.raises(ValueError, match="every seat"):
        match.start()
    assert (match.status, match.seq) == ("waiting", 0)
    match.sit(1, "b", "B")
    step = match.start()
    assert (step.seq, step.kind, step.seat, step.status) == (1, "start", None, "playing")
    assert (step.to_act, step.outcome, step.deltas, step.reset, step.entry) == (
        (0,),
        None,
        {},
        True,
        None,
    )
    assert (match.status, match.seq, match.to_act, match.log) == ("playing", 1, (0,), [])
    assert match.view(None) == {"b": [-1] * 9}
    with pytest.raises(ValueError, match="playing"):
        match.start()


def test_seats_are_fixed_while_playing() -> None:
    match = started(TTT)
    with pytest.raises(ValueError, match="fixed"):
        match.stand(0)
    assert match.seat_of("p0") == 0


# Status and sequence numbers ----------------------------------------------------------


def test_status_waiting_playing_finished() -> None:
    match = seated(TTT)
    statuses = [match.status]
    statuses.append(match.start().status)
    statuses.append(accepted(match.submit(0, {"cell": 4})).status)
    assert statuses == ["waiting", "playing", "playing"]
    last = finish_ttt(started(TTT))
    assert last.status == "finished"
    assert last.outcome == api.win(0, 2, "three in a row")
    assert last.to_act == ()


def test_seq_grows_by_one_per_accepted_change() -> None:
    match = started(TALLY, seats=3, target=1000)
    seqs = [match.seq]
    seqs.append(accepted(match.submit(0, {"n": 1})).seq)
    refused(match, lambda: match.submit(1, {"n": 0}), "zero")
    refused(match, lambda: match.submit(0, {"n": 1}), api.NOT_YOUR_TURN)
    seqs.append(accepted(match.submit(1, {"n": 2})).seq)
    seqs.append(accepted(match.timeout(2)).seq)
    seqs.append(accepted(match.forfeit(2, "resigned")).seq)
    seqs.append(accepted(match.forfeit(1, "resigned")).seq)
    assert match.status == "finished"
    assert seqs == list(range(1, len(seqs) + 1))
    # A new game counts afresh: its start is 1 again, its first move 2.
    assert match.rematch(seed=1).seq == 1
    assert accepted(match.submit(0, {"n": 1})).seq == match.seq == 2


@pytest.mark.parametrize("verb", ["submit", "forfeit", "timeout"])
def test_nothing_happens_before_the_start(verb: str) -> None:
    match = seated(TTT)
    attempt = {
        "submit": lambda: match.submit(0, {"cell": 4}),
        "forfeit": lambda: match.forfeit(0, "resigned"),
        "timeout": lambda: match.timeout(0),
    }[verb]
    refused(match, attempt, api.NOT_PLAYING)


@pytest.mark.parametrize("seat", [0, 1, 5, None])
@pytest.mark.parametrize("verb", ["submit", "forfeit", "timeout"])
def test_nothing_happens_after_the_end(verb: str, seat: Any) -> None:
    match = started(TTT)
    finish_ttt(match)
    attempt = {
        "submit": lambda: match.submit(seat, {"cell": 8}),
        "forfeit": lambda: match.forfeit(seat, "resigned"),
        "timeout": lambda: match.timeout(seat),
    }[verb]
    refused(match, attempt, api.GAME_OVER)
    assert match.legal_moves(0) == match.legal_moves(1) == []


@pytest.mark.parametrize(
    "seat", [None, "1", "0", 1.0, 0.0, True, False, -1, 2, [0], (0,)], ids=repr
)
@pytest.mark.parametrize("verb", ["submit", "forfeit", "timeout"])
def test_a_seat_must_be_an_int_in_range(verb: str, seat: Any) -> None:
    # type(seat) is int: True and False are bools, so they are refused like "1" and 1.0.
    match = started(TTT)
    attempt = {
        "submit": lambda: match.submit(seat, {"cell": 4}),
        "forfeit": lambda: match.forfeit(seat, "resigned"),
        "timeout": lambda: match.timeout(seat),
    }[verb]
    refused(match, attempt, api.NOT_A_SEAT)


def test_the_turn_is_checked_before_the_move() -> None:
    match = started(TTT)
    refused(match, lambda: match.submit(1, {"cell": "bad"}), api.NOT_YOUR_TURN)
    refused(match, lambda: match.submit(0, {"cell": "bad"}), api.BAD_MOVE)
    refused(match, lambda: match.timeout(1), api.NOT_YOUR_TURN)


def test_a_games_own_rejection_comes_back_unchanged() -> None:
    match = started(TALLY)
    result = refused(match, lambda: match.submit(0, {"n": 0}), "zero")
    assert result == Rejection("zero", "add something")


def test_legal_moves_only_for_the_seat_to_act() -> None:
    match = started(TTT)
    assert len(match.legal_moves(0)) == 9
    assert match.legal_moves(1) == []


# Forfeits and timeouts --------------------------------------------------------------


def test_forfeit_by_either_seat_ends_the_game_with_a_log_entry() -> None:
    for seat in (0, 1):
        match = started(TTT)
        accepted(match.submit(0, {"cell": 4}))
        # Seat 1 is to act, but either seat may forfeit.
        step = accepted(match.forfeit(seat, "resigned"))
        entry = {"s": 3, "seat": seat, "k": "forfeit", "m": "resigned"}
        assert (step.kind, step.seat, step.entry, match.log[-1]) == ("forfeit", seat, entry, entry)
        assert step.status == match.status == "finished"
        assert step.outcome is not None and step.outcome.winners == (1 - seat,)
        assert step.to_act == match.to_act == ()


def test_timeout_transition_and_log_entry() -> None:
    match = started(TTT, turn_seconds=10)
    step = accepted(match.timeout(0))
    entry = {"s": 2, "seat": 0, "k": "timeout", "m": None}
    assert (step.kind, step.seat, step.entry, match.log) == ("timeout", 0, entry, [entry])
    assert match.status == "finished"
    assert match.outcome is not None and match.outcome.winners == (1,)


def test_a_timeout_the_game_survives() -> None:
    # Tally's timeout passes the turn: the game goes on, and the log says what happened.
    match = started(TALLY, seats=3)
    step = accepted(match.timeout(0))
    assert (step.kind, step.status, step.to_act) == ("timeout", "playing", (1,))
    assert match.log == [{"s": 2, "seat": 0, "k": "timeout", "m": None}]


def test_forfeit_in_a_three_seat_game_goes_on() -> None:
    match = started(TALLY, seats=3)
    step = accepted(match.forfeit(1, "left"))
    assert step.status == "playing" and step.outcome is None
    step = accepted(match.forfeit(2, "left"))
    assert step.status == "finished"
    assert step.outcome == win(0, 3, "forfeit")


# Failing games ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("game", "n"),
    [
        (TALLY, APPLY_RAISES),
        (TALLY, OUTCOME_RAISES),
        (TALLY, VIEW_RAISES),
        (TALLY, TO_ACT_RAISES),
        (PUBLIC, APPLY_RAISES),
        (PUBLIC, VIEW_RAISES),
    ],
    ids=["apply", "outcome", "view", "to_act", "public-apply", "public-view"],
)
def test_a_game_that_raises_on_a_move_changes_nothing(game: Tally, n: int) -> None:
    match = started(game)
    accepted(match.submit(0, {"n": 1}))
    result = refused(match, lambda: match.submit(1, {"n": n}), "game_error")
    assert "broke" in result.message
    # And the match goes on as if the move had never been sent.
    step = accepted(match.submit(1, {"n": 1}))
    assert step.seq == 3 and match.view(None) == {"t": 2}
    assert [e["s"] for e in match.log] == [2, 3]


def test_a_game_that_raises_on_a_forfeit_changes_nothing() -> None:
    match = started(TALLY)
    result = refused(match, lambda: match.forfeit(0, "explode"), "game_error")
    assert "broke" in result.message


def test_a_game_that_raises_on_a_timeout_changes_nothing() -> None:
    match = started(TALLY)
    accepted(match.submit(0, {"n": 2}))
    accepted(match.submit(1, {"n": 3}))
    assert match.view(None) == {"t": 5}
    result = refused(match, lambda: match.timeout(0), "game_error")
    assert "broke" in result.message


def test_a_setup_that_raises_changes_nothing() -> None:
    match = started(TALLY)
    accepted(match.forfeit(1, "resigned"))
    match.game = BrokenSetup()
    before = snapshot(match)
    with pytest.raises(RuntimeError, match="setup broke"):
        match.rematch(seed=9)
    assert snapshot(match) == before


# Views and deltas ----------------------------------------------------------------


def test_public_games_share_one_view_and_one_delta() -> None:
    for game in (PUBLIC, TTT):
        match = started(game)
        assert match.view(0) is match.view(1) is match.view(None)
        payload = {"n": 1} if game is PUBLIC else {"cell": 4}
        step = accepted(match.submit(0, payload))
        assert step.deltas[0] is step.deltas[1] is step.deltas[None]
        assert set(step.deltas) == {0, 1, None}
        assert match.view(0) is match.view(1) is match.view(None)


def test_hidden_information_games_have_a_view_per_audience() -> None:
    match = started(TALLY)
    assert match.view(0) == {"t": 0, "me": 0}
    assert match.view(1) == {"t": 0, "me": 1}
    assert match.view(None) == {"t": 0}
    step = accepted(match.submit(0, {"n": 2}))
    assert step.deltas[0] is not step.deltas[1]
    for audience in audiences(match):
        assert step.deltas[audience] == [[["t"], 2]]


def test_liars_dice_deltas_differ_per_seat() -> None:
    """A challenge starts a round: each seat's delta carries its own new dice, and only those."""
    different = 0
    for seed in range(5):
        match = started(DICE, seats=3, seed=seed)
        views = {a: match.view(a) for a in audiences(match)}
        assert "d" not in views[None]
        assert len({id(v) for v in views.values()}) == 4
        for payload in ({"kind": "bid", "qty": 1, "face": 2}, {"kind": "challenge"}):
            step = accepted(match.submit(match.to_act[0], payload))
            for audience in audiences(match):
                assert apply_delta(views[audience], step.deltas[audience]) == match.view(audience)
                views[audience] = match.view(audience)
        assert step.kind == "move" and match.view(None)["r"] == 2
        seat_deltas = [step.deltas[seat] for seat in range(3)]
        assert all(op[0][:1] != ["d"] for op in step.deltas[None])
        for seat in range(3):
            assert match.view(seat)["d"] == list(match.state.dice[seat])
        different += seat_deltas[0] != seat_deltas[1] or seat_deltas[1] != seat_deltas[2]
    assert different >= 1


def test_deltas_rebuild_every_view() -> None:
    match = started(TALLY, seats=3)
    views = {a: match.view(a) for a in audiences(match)}
    attempts: list[Callable[[], Transition | Rejection]] = [
        lambda: match.submit(0, {"n": 3}),
        lambda: match.timeout(1),
        lambda: match.submit(2, {"n": 4}),
        lambda: match.forfeit(0, "left"),
    ]
    for attempt in attempts:
        step = accepted(attempt())
        for audience in audiences(match):
            assert apply_delta(views[audience], step.deltas[audience]) == match.view(audience)
            views[audience] = match.view(audience)
    assert match.seq == 5


def test_the_last_change_is_each_audiences_last_delta_that_changed_its_view() -> None:
    # What a snapshot carries as "lo", for a board to mark what moved last.
    for game in (TALLY, PUBLIC):
        match = started(game, seats=3)
        assert [match.last_change(a) for a in audiences(match)] == [None] * 4
        step = accepted(match.submit(0, {"n": 2}))
        assert accepted(match.timeout(1)).deltas[None] == []  # the turn passes, unseen
        for audience in audiences(match):
            assert step.deltas[audience] == [[["t"], 2]]
            assert match.last_change(audience) == [[["t"], 2]]
        replayed = Match.replay(game, 3, None, 0, match.log)
        for audience in audiences(match):
            assert replayed.last_change(audience) == [[["t"], 2]]
    match = started(TTT)
    last = finish_ttt(match)
    assert match.last_change(1) == last.deltas[1] == [[["b", 2], 0]]
    match.rematch(seed=1)
    assert match.last_change(1) is None  # a new game: nothing has moved yet


# Rematch ----------------------------------------------------------------------------


def test_rematch_only_after_a_finished_game() -> None:
    match = seated(TTT)
    with pytest.raises(ValueError, match="finished"):
        match.rematch(seed=1)
    match.start()
    accepted(match.submit(0, {"cell": 4}))
    before = snapshot(match)
    with pytest.raises(ValueError, match="finished"):
        match.rematch(seed=1)
    assert snapshot(match) == before


def test_a_rotating_rematch_moves_every_player_one_seat_on() -> None:
    match = started(LiarsDice(), seats=3, seed=3)
    for seat in (0, 1, 2):
        if match.status == "playing":
            match.forfeit(seat, "resigned")
    assert match.status == "finished"
    step = match.rematch(seed=4, rotate=True)
    assert step.reset and step.status == "playing" and match.game_no == 1
    assert [s.player_id for s in match.seats] == ["p2", "p0", "p1"]
    # Without ``rotate`` the seats stay (the default, as before).
    plain = started(TTT, seed=3)
    finish_ttt(plain)
    plain.rematch(seed=4)
    assert [s.player_id for s in plain.seats] == ["p0", "p1"]


def test_rematch_starts_afresh_and_counts_afresh() -> None:
    match = started(TTT, seed=3)
    finish_ttt(match)
    step = match.rematch(seed=4)
    assert (step.seq, step.kind, step.reset, step.deltas, step.entry) == (
        1,
        "start",
        True,
        {},
        None,
    )
    assert (step.status, step.to_act, step.outcome) == ("playing", (0,), None)
    assert (match.seq, match.seed, match.game_no, match.log) == (1, 4, 1, [])
    assert (match.status, match.outcome, match.to_act) == ("playing", None, (0,))
    assert match.view(None) == {"b": [-1] * 9}
    assert [s.player_id for s in match.seats] == ["p0", "p1"]  # same room, same seats
    step = accepted(match.submit(0, {"cell": 0}))
    assert step.seq == 2
    assert match.log == [{"s": 2, "seat": 0, "k": "move", "m": {"cell": 0}}]
    for seat, cell in ((1, 3), (0, 1), (1, 4), (0, 2)):
        accepted(match.submit(seat, {"cell": cell}))
    assert match.status == "finished"
    assert match.rematch(seed=5).seq == match.seq == 1
    assert match.game_no == 2


# Replay -------------------------------------------------------------------------------


def play_dice(match: Match, rnd: random.Random, plies: int) -> None:
    """Random legal moves (and the odd timeout) until the game ends or ``plies`` run out."""
    adapter = DICE.move_adapter()
    for _ in range(plies):
        if match.status != "playing":
            return
        seat = match.to_act[0]
        if rnd.random() < 0.1:
            accepted(match.timeout(seat))
            continue
        moves = match.legal_moves(seat)
        # Challenge often, so rounds end and dice are re-rolled.
        move = moves[0] if len(moves) > 1 and rnd.random() < 0.4 else rnd.choice(moves)
        accepted(match.submit(seat, adapter.dump_python(move, mode="json")))


def test_replay_reproduces_the_state() -> None:
    for seed in range(4):
        match = started(DICE, seats=3, seed=seed)
        play_dice(match, random.Random(seed), 40)
        replayed = Match.replay(DICE, 3, None, seed, match.log)
        assert replayed.state == match.state
        assert (replayed.seq, replayed.status, replayed.outcome, replayed.to_act) == (
            match.seq,
            match.status,
            match.outcome,
            match.to_act,
        )
        assert replayed.log == match.log
        for audience in audiences(match):
            assert replayed.view(audience) == match.view(audience)


def test_replay_across_a_rematch() -> None:
    match = started(DICE, seats=2, seed=11, dice_per_player=2)
    rnd = random.Random(1)
    while match.status == "playing":
        play_dice(match, rnd, 50)
    assert match.rematch(seed=12).seq == 1
    play_dice(match, rnd, 12)
    assert match.log and match.log[0]["s"] == 2
    options = {"dice_per_player": 2}
    replayed = Match.replay(DICE, 2, options, 12, match.log, game_no=1)
    assert replayed.state == match.state
    assert (replayed.seq, replayed.game_no, replayed.log) == (match.seq, 1, match.log)
    # The dice come from (seed, game_no, seq): replayed as the first game, the same
    # log deals other dice (or does not replay at all).
    try:
        other = Match.replay(DICE, 2, options, 12, match.log)
    except ValueError:
        pass
    else:
        assert other.state != match.state


def ttt_log() -> tuple[Match, list[dict[str, Any]]]:
    match = started(TTT)
    for seat, cell in ((0, 4), (1, 0), (0, 8)):
        accepted(match.submit(seat, {"cell": cell}))
    return match, [dict(e) for e in match.log]


@pytest.mark.parametrize(
    ("index", "change", "why"),
    [
        (1, {"m": {"cell": 4}}, "does not replay"),  # the cell is taken
        (1, {"m": {"cell": "0"}}, "does not replay"),  # malformed
        (1, {"seat": 0}, "does not replay"),  # out of turn
        (1, {"seat": 7}, "does not replay"),  # no such seat
        (2, {"s": 9}, "sequence number"),  # a wrong sequence number
        (0, {"s": 1}, "sequence number"),
        (2, {"k": "timeout", "seat": 1, "m": None}, "does not replay"),  # seat 1 was not to act
    ],
)
def test_replay_refuses_a_tampered_log(index: int, change: dict[str, Any], why: str) -> None:
    match, log = ttt_log()
    assert Match.replay(TTT, 2, None, 0, log).state == match.state
    log[index] = {**log[index], **change}
    with pytest.raises(ValueError, match=why):
        Match.replay(TTT, 2, None, 0, log)


def test_replay_refuses_moves_after_the_end() -> None:
    match = started(TTT)
    finish_ttt(match)
    log = [*match.log, {"s": match.seq + 1, "seat": 1, "k": "move", "m": {"cell": 8}}]
    with pytest.raises(ValueError, match="does not replay"):
        Match.replay(TTT, 2, None, 0, log)


def test_replay_refuses_an_unknown_kind() -> None:
    log = [{"s": 2, "seat": 0, "k": "bogus", "m": None}]
    with pytest.raises(ValueError):
        Match.replay(TTT, 2, None, 0, log)


def test_the_step_rng_is_derived_not_carried() -> None:
    assert rng_for(1, 0, 5).random() == rng_for(1, 0, 5).random()
    draws = {rng_for(*args).random() for args in ((1, 0, 5), (2, 0, 5), (1, 1, 5), (1, 0, 6))}
    assert len(draws) == 4
    # Tally records a draw of the step's generator in its state, so two matches with the
    # same seed agree and a different seed does not.
    a, b, c = started(TALLY, seed=1), started(TALLY, seed=1), started(TALLY, seed=2)
    for match in (a, b, c):
        accepted(match.submit(0, {"n": 1}))
    assert a.state == b.state != c.state
