"""Connect Four: the rules one by one, then random games through the match.

The random games check what every game must keep: nothing raises, a game ends,
the result agrees with the board (checked by a brute-force scan, independent of
the game's incremental line detection), refused moves change nothing, the log
replays to the same state, and each delta turns the previous view into the new one.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meeple.game import api
from meeple.game.api import Rejection
from meeple.game.delta import apply_delta
from meeple.game.games.connect4 import COLS, ROWS, ConnectFour, Move, State
from meeple.game.match import Match
from tests.games import GAMES
from tests.test_tictactoe import message_size

GAME = ConnectFour()
RNG = random.Random(0)  # connect four never draws on it; apply takes one anyway

# A full board with no four in a row, found by random play (seed 344).
DRAW_GAME = [3, 3, 0, 2, 5, 4, 5, 6, 4, 2, 2, 3, 3, 5, 5, 2, 2, 4, 3, 3, 1]
DRAW_GAME += [1, 2, 1, 5, 5, 0, 4, 0, 4, 4, 6, 6, 6, 6, 0, 1, 0, 6, 0, 1, 1]


def play(cols: list[int], state: State | None = None) -> State:
    """Drop discs in ``cols`` in turn order; every move must be accepted."""
    state = state or GAME.setup(2, GAME.options(), RNG)
    for col in cols:
        assert GAME.outcome(state) is None, f"the game ended before column {col}"
        result = GAME.apply(state, state.turn, Move(col=col), RNG)
        assert not isinstance(result, Rejection), result
        state = result
    return state


def lines_of(board: list[list[int]]) -> dict[int, int]:
    """Brute force: per seat, how many four-in-a-row windows it fills."""
    found = {0: 0, 1: 0}

    def at(c: int, r: int) -> int | None:
        if 0 <= c < COLS and 0 <= r < len(board[c]):
            return board[c][r]
        return None

    for c in range(COLS):
        for r in range(ROWS):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = {at(c + dc * i, r + dr * i) for i in range(4)}
                seat = cells.pop()
                if not cells and seat is not None:
                    found[seat] += 1
    return found


# Rules -------------------------------------------------------------------


def test_registered() -> None:
    game = GAMES["connect4"]
    assert isinstance(game, ConnectFour)
    assert (game.min_seats, game.max_seats, game.hidden_information) == (2, 2, False)


def test_setup_empty_board_seat_zero_first() -> None:
    state = GAME.setup(2, GAME.options(), RNG)
    assert GAME.to_act(state) == (0,)
    assert GAME.view(state, None) == {"c": [[] for _ in range(COLS)]}
    assert [m.col for m in GAME.legal_moves(state, 0)] == list(range(COLS))
    assert GAME.legal_moves(state, 1) == []


def test_discs_stack_and_turns_alternate() -> None:
    state = play([3, 3, 4])
    assert GAME.view(state, None)["c"][3] == [0, 1]
    assert GAME.view(state, None)["c"][4] == [0]
    assert set(GAME.view(state, None)) == {"c"}  # the last disc is the delta's
    assert GAME.to_act(state) == (1,)


@pytest.mark.parametrize(
    ("moves", "line"),
    [
        # horizontal along the bottom row
        ([0, 0, 1, 1, 2, 2, 3], [[0, 0], [1, 0], [2, 0], [3, 0]]),
        # vertical in column 3
        ([3, 4, 3, 4, 3, 4, 3], [[3, 0], [3, 1], [3, 2], [3, 3]]),
        # rising diagonal from the bottom left
        ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], [[0, 0], [1, 1], [2, 2], [3, 3]]),
        # falling diagonal, the mirror image
        ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], [[3, 3], [4, 2], [5, 1], [6, 0]]),
        # the winning disc fills a gap in the middle of the line
        ([0, 0, 1, 1, 3, 3, 2], [[0, 0], [1, 0], [2, 0], [3, 0]]),
        # a gap that joins five
        ([0, 0, 1, 1, 3, 3, 4, 4, 2], [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]),
    ],
    ids=["horizontal", "vertical", "rising", "falling", "gap", "five"],
)
def test_four_in_a_row_wins(moves: list[int], line: list[list[int]]) -> None:
    state = play(moves)
    outcome = GAME.outcome(state)
    assert outcome is not None
    assert outcome == api.win(0, 2, "four in a row")
    assert outcome.returns == (1.0, 0.0)
    assert GAME.to_act(state) == ()
    assert GAME.legal_moves(state, 0) == GAME.legal_moves(state, 1) == []
    assert GAME.view(state, None)["w"] == line


def test_second_seat_can_win() -> None:
    state = play([0, 1, 0, 1, 0, 1, 6, 1])
    assert GAME.outcome(state) == api.win(1, 2, "four in a row")


def test_three_is_not_enough() -> None:
    state = play([0, 0, 1, 1, 2, 2])
    assert GAME.outcome(state) is None
    assert "w" not in GAME.view(state, None)


def test_full_column_is_refused() -> None:
    state = play([2] * ROWS)
    assert GAME.outcome(state) is None  # alternating discs make no line
    refused = GAME.apply(state, state.turn, Move(col=2), RNG)
    assert refused == Rejection("column_full", "column 2 is full")
    assert 2 not in [m.col for m in GAME.legal_moves(state, state.turn)]


def test_full_board_is_a_draw() -> None:
    state = play(DRAW_GAME)
    assert GAME.outcome(state) == api.draw(2, "board full")
    assert GAME.to_act(state) == ()
    assert all(len(c) == ROWS for c in GAME.view(state, None)["c"])
    assert lines_of(GAME.view(state, None)["c"]) == {0: 0, 1: 0}


def test_forfeit_gives_the_other_seat_the_win() -> None:
    state = play([3, 4])
    for seat in (0, 1):
        after = GAME.forfeit(state, seat, "resigned")
        assert GAME.outcome(after) == api.win(1 - seat, 2, "resigned")
        assert GAME.to_act(after) == ()
        assert GAME.view(after, None) == GAME.view(state, None)
    assert state == play([3, 4])  # the old state is untouched


def test_forfeit_after_the_end_changes_nothing() -> None:
    state = play([0, 0, 1, 1, 2, 2, 3])
    assert GAME.forfeit(state, 0, "resigned") is state


def test_apply_checks_turn_and_end_itself() -> None:
    state = play([3])
    assert isinstance(GAME.apply(state, 0, Move(col=3), RNG), Rejection)
    won = play([0, 0, 1, 1, 2, 2, 3])
    refused = GAME.apply(won, won.turn, Move(col=5), RNG)
    assert isinstance(refused, Rejection) and refused.code == api.GAME_OVER


def test_one_move_is_one_append_op() -> None:
    match = new_match(seed=1)
    match.submit(0, {"col": 3})
    step = match.submit(1, {"col": 3})
    assert not isinstance(step, Rejection)
    assert step.deltas[None] == [[["c", 3, 1], 1]]
    assert match.last_change(None) == [[["c", 3, 1], 1]]  # what a snapshot carries


@pytest.mark.parametrize("seed", range(5))
def test_a_move_is_22_bytes_on_the_wire_in_any_game(seed: int) -> None:
    # The disc appended and who acts next: no last-move field (the append is the move).
    match, rnd = new_match(seed), random.Random(seed)
    while match.status == "playing":
        seat = match.to_act[0]
        step = match.submit(seat, {"col": rnd.choice(match.legal_moves(seat)).col})
        assert not isinstance(step, Rejection)
        if step.status == "playing":
            assert message_size(step.seq, step) == 22


def test_timeout_forfeits() -> None:
    match = new_match(seed=1, turn_seconds=30)
    assert match.turn_seconds() == 30.0
    step = match.timeout(0)
    assert not isinstance(step, Rejection)
    assert match.outcome == api.win(1, 2, "timeout")


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        Match.create(GAME, 2, {"turn_seconds": -1}, 0)
    with pytest.raises(ValueError):
        Match.create(GAME, 2, {"colour": "red"}, 0)
    with pytest.raises(ValueError):
        Match.create(GAME, 3, {}, 0)


# Random games through the match -----------------------------------------

MALFORMED: list[Any] = [
    None,
    [],
    3,
    "3",
    {},
    {"col": 7},
    {"col": -1},
    {"col": 3.5},
    {"col": "left"},
    {"col": None},
    {"col": 3, "row": 0},
    {"cell": 3},
]


def new_match(seed: int, **options: Any) -> Match:
    match = Match.create(GAME, 2, options, seed)
    for seat in range(2):
        match.sit(seat, f"p{seat}", f"player {seat}")
    match.start()
    return match


def assert_refused(match: Match, attempt: Any, code: str | None = None) -> None:
    """``attempt()`` must return a Rejection and change nothing at all."""
    state, seq, log = match.state, match.seq, list(match.log)
    views = {a: match.view(a) for a in (0, 1, None)}
    status, outcome, to_act = match.status, match.outcome, match.to_act
    result = attempt()
    assert isinstance(result, Rejection), result
    if code is not None:
        assert result.code == code, result
    assert match.state is state
    assert (match.seq, match.log) == (seq, log)
    assert (match.status, match.outcome, match.to_act) == (status, outcome, to_act)
    assert {a: match.view(a) for a in (0, 1, None)} == views


def try_illegal(match: Match, rnd: random.Random) -> None:
    """A few refused attempts: wrong seat, no such seat, bad payloads, full columns."""
    actor = match.to_act[0]
    col = rnd.randrange(COLS)
    assert_refused(match, lambda: match.submit(1 - actor, {"col": col}), api.NOT_YOUR_TURN)
    assert_refused(match, lambda: match.timeout(1 - actor), api.NOT_YOUR_TURN)
    bad_seat = rnd.choice([-1, 2, 7])
    assert_refused(match, lambda: match.submit(bad_seat, {"col": col}), api.NOT_A_SEAT)
    assert_refused(match, lambda: match.forfeit(bad_seat, "gone"), api.NOT_A_SEAT)
    payload = rnd.choice(MALFORMED)
    assert_refused(match, lambda: match.submit(actor, payload), api.BAD_MOVE)
    full = [c for c, col_ in enumerate(match.view(None)["c"]) if len(col_) == ROWS]
    if full:
        choice = rnd.choice(full)
        assert_refused(match, lambda: match.submit(actor, {"col": choice}), "column_full")


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rnd=st.randoms(use_true_random=False),
    forfeit_after=st.one_of(st.none(), st.integers(0, 44)),
)
def test_random_games(seed: int, rnd: random.Random, forfeit_after: int | None) -> None:
    match = new_match(seed)
    audiences = (0, 1, None)
    views = {a: match.view(a) for a in audiences}
    assert views[None] == {"c": [[] for _ in range(COLS)]}
    steps = 0
    forfeiter: int | None = None
    while match.status == "playing":
        assert steps <= COLS * ROWS, "a game cannot outlast the board"
        try_illegal(match, rnd)
        actor = match.to_act[0]
        if forfeit_after is not None and steps == forfeit_after:
            forfeiter = rnd.choice([0, 1])
            step = match.forfeit(forfeiter, "resigned")
        else:
            move = rnd.choice(match.legal_moves(actor))
            assert match.legal_moves(1 - actor) == []
            step = match.submit(actor, {"col": move.col})
        assert not isinstance(step, Rejection), step
        steps += 1
        assert (step.seq, step.to_act, step.status) == (match.seq, match.to_act, match.status)
        for audience in audiences:
            assert apply_delta(views[audience], step.deltas[audience]) == match.view(audience)
            views[audience] = match.view(audience)
        board = match.view(None)["c"]
        assert sum(len(c) for c in board) == steps - (forfeiter is not None)
        lines = lines_of(board)
        if match.status == "playing":
            assert lines == {0: 0, 1: 0}, "a line was missed"

    outcome = match.outcome
    assert outcome is not None and match.to_act == ()
    board = match.view(None)["c"]
    lines = lines_of(board)
    if forfeiter is not None:
        assert outcome == api.win(1 - forfeiter, 2, "resigned")
    elif outcome.draw:
        assert all(len(c) == ROWS for c in board)
        assert lines == {0: 0, 1: 0}
    else:
        (winner,) = outcome.winners
        assert outcome.returns[winner] == 1.0 and outcome.returns[1 - winner] == 0.0
        assert lines[winner] >= 1 and lines[1 - winner] == 0
        line = match.view(None)["w"]
        assert len(line) >= 4 and all(board[c][r] == winner for c, r in line)

    # Over: every attempt is refused and changes nothing.
    assert match.legal_moves(0) == match.legal_moves(1) == []
    for seat in (0, 1):
        assert_refused(match, lambda s=seat: match.submit(s, {"col": 0}), api.GAME_OVER)
        assert_refused(match, lambda s=seat: match.forfeit(s, "late"), api.GAME_OVER)
        assert_refused(match, lambda s=seat: match.timeout(s), api.GAME_OVER)

    replayed = Match.replay(GAME, 2, {}, seed, match.log)
    assert replayed.state == match.state
    assert (replayed.seq, replayed.status, replayed.outcome) == (
        match.seq,
        match.status,
        match.outcome,
    )
    assert replayed.view(None) == match.view(None)
