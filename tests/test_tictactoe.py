"""Tic-tac-toe: the rules one by one, then random games through the match.

Tic-tac-toe is the worked example of docs/games.md, so this file is also the
template for a new game's tests: the rules by hand, then random games that check
what every game must keep (nothing raises but typed rejections, a game ends, the
result agrees with the board by an independent scan, refused moves change
nothing, the log replays, each delta turns the previous view into the new one)
and that a move stays small on the wire.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meeple.game import api, codec
from meeple.game.api import Rejection
from meeple.game.delta import apply_delta
from meeple.game.games.tictactoe import LINES, Move, State, TicTacToe
from meeple.game.match import Match, Transition
from tests.games import GAMES

GAME = TicTacToe()
RNG = random.Random(0)  # tic-tac-toe never draws on it; apply takes one anyway
AUDIENCES: tuple[int | None, ...] = (0, 1, None)
EMPTY = [-1] * 9

# A full board without a line: X 0 8 7 2 3, O 4 1 6 5.
DRAW_GAME = [0, 4, 8, 1, 7, 6, 2, 5, 3]
# X completes 0-4-8 with the ninth mark, which fills the board.
LAST_MOVE_WIN = [0, 1, 2, 3, 4, 5, 7, 6, 8]


def play(cells: list[int], state: State | None = None) -> State:
    """Mark ``cells`` in turn order; every move must be accepted."""
    state = state or GAME.setup(2, GAME.options(), RNG)
    for cell in cells:
        assert GAME.outcome(state) is None, f"the game ended before cell {cell}"
        result = GAME.apply(state, state.turn, Move(cell=cell), RNG)
        assert not isinstance(result, Rejection), result
        state = result
    return state


def lines_of(board: list[int]) -> dict[int, int]:
    """Independent of the game's LINES: per seat, the rows, columns and diagonals it fills."""
    grid = [board[r * 3 : r * 3 + 3] for r in range(3)]
    candidates = list(grid)
    candidates += [[grid[r][c] for r in range(3)] for c in range(3)]
    candidates += [[grid[i][i] for i in range(3)], [grid[i][2 - i] for i in range(3)]]
    found = {0: 0, 1: 0}
    for line in candidates:
        if line[0] in (0, 1) and line.count(line[0]) == 3:
            found[line[0]] += 1
    return found


def winning_game(line: tuple[int, int, int], winner: int) -> list[int]:
    """A move order where ``winner`` completes ``line`` and the other seat fills in harmlessly."""
    rest = [c for c in range(9) if c not in line]
    loser_moves = 2 if winner == 0 else 3
    # The loser's cells must not make a line of their own (three of them could).
    filler = next(
        list(cells)
        for cells in itertools.combinations(rest, loser_moves)
        if not any(set(other) <= set(cells) for other in LINES)
    )
    order: list[int] = []
    mine, theirs = list(line), filler
    for ply in range(len(mine) + len(theirs)):
        order.append((mine if ply % 2 == winner else theirs).pop(0))
    return order


# Rules -------------------------------------------------------------------


def test_registered() -> None:
    game = GAMES["tictactoe"]
    assert isinstance(game, TicTacToe)
    assert (game.min_seats, game.max_seats, game.hidden_information) == (2, 2, False)
    assert game.default_abandon_policy == "forfeit"


def test_catalog_entry() -> None:
    info = api.describe(GAME)
    assert (info.name, info.title, info.min_seats, info.max_seats) == (
        "tictactoe",
        "Tic-tac-toe",
        2,
        2,
    )
    cell = info.move_schema["properties"]["cell"]
    assert (cell["type"], cell["minimum"], cell["maximum"]) == ("integer", 0, 8)
    assert info.move_schema["required"] == ["cell"]
    assert info.move_schema["additionalProperties"] is False
    assert "turn_seconds" in info.options_schema["properties"]


def test_setup_empty_board_seat_zero_first() -> None:
    state = GAME.setup(2, GAME.options(), RNG)
    assert GAME.to_act(state) == (0,)
    assert GAME.outcome(state) is None
    for seat in AUDIENCES:
        assert GAME.view(state, seat) == {"b": EMPTY}
    assert [m.cell for m in GAME.legal_moves(state, 0)] == list(range(9))
    assert GAME.legal_moves(state, 1) == []


def test_marks_and_turns_alternate() -> None:
    state = play([4, 0, 8])
    # The board alone: the last move is the delta's (a snapshot carries it as "lo").
    assert GAME.view(state, None) == {"b": [1, -1, -1, -1, 0, -1, -1, -1, 0]}
    assert GAME.view(state, 1) == GAME.view(state, None)
    assert GAME.to_act(state) == (1,)
    assert [m.cell for m in GAME.legal_moves(state, 1)] == [1, 2, 3, 5, 6, 7]
    assert GAME.legal_moves(state, 0) == []


@pytest.mark.parametrize("winner", [0, 1])
@pytest.mark.parametrize("line", LINES, ids=["-".join(map(str, line)) for line in LINES])
def test_every_line_wins_for_both_seats(line: tuple[int, int, int], winner: int) -> None:
    order = winning_game(line, winner)
    before = play(order[:-1])
    assert GAME.outcome(before) is None, "the game ended a move early"
    state = play(order[-1:], before)
    outcome = GAME.outcome(state)
    assert outcome == api.win(winner, 2, "three in a row")
    assert outcome.returns == ((1.0, 0.0) if winner == 0 else (0.0, 1.0))
    assert GAME.to_act(state) == ()
    assert GAME.legal_moves(state, 0) == GAME.legal_moves(state, 1) == []
    assert lines_of(GAME.view(state, None)["b"]) == {winner: 1, 1 - winner: 0}


@pytest.mark.parametrize("last", [0, 1, 2])
def test_the_winning_mark_may_fill_any_cell_of_the_line(last: int) -> None:
    # X plays the top row in the order that leaves cell ``last`` for the end.
    first, second = (c for c in (0, 1, 2) if c != last)
    state = play([first, 3, second, 4, last])
    assert GAME.outcome(state) == api.win(0, 2, "three in a row")


def test_two_in_a_row_is_not_enough() -> None:
    state = play([0, 3, 1, 4])
    assert GAME.outcome(state) is None
    assert GAME.to_act(state) == (0,)


def test_full_board_is_a_draw() -> None:
    state = play(DRAW_GAME)
    outcome = GAME.outcome(state)
    assert outcome == api.draw(2, "board full")
    assert outcome.returns == (0.5, 0.5)
    assert GAME.to_act(state) == ()
    board = GAME.view(state, None)["b"]
    assert -1 not in board
    assert lines_of(board) == {0: 0, 1: 0}


def test_a_line_on_the_last_cell_wins_rather_than_draws() -> None:
    state = play(LAST_MOVE_WIN)
    assert -1 not in GAME.view(state, None)["b"]
    assert GAME.outcome(state) == api.win(0, 2, "three in a row")


def test_cell_taken() -> None:
    state = play([4])
    refused = GAME.apply(state, 1, Move(cell=4), RNG)
    assert refused == Rejection("cell_taken", "cell 4 is already marked")
    assert 4 not in [m.cell for m in GAME.legal_moves(state, 1)]


def test_apply_leaves_the_old_state_alone() -> None:
    state = play([4, 0])
    after = GAME.apply(state, 0, Move(cell=8), RNG)
    assert isinstance(after, State)
    assert state == play([4, 0])
    assert after.cells[8] == 0 and state.cells[8] is None


@pytest.mark.parametrize("seat", [0, 1])
def test_forfeit_gives_the_other_seat_the_win(seat: int) -> None:
    state = play([4, 0])
    after = GAME.forfeit(state, seat, "resigned")
    outcome = GAME.outcome(after)
    assert outcome is not None
    assert outcome == api.win(1 - seat, 2, "resigned")
    assert outcome.returns[1 - seat] == 1.0 and outcome.returns[seat] == 0.0
    assert GAME.to_act(after) == ()
    assert GAME.legal_moves(after, 0) == GAME.legal_moves(after, 1) == []
    assert GAME.view(after, None) == GAME.view(state, None)  # the board stays as it was
    assert state == play([4, 0])  # the old state is untouched


# Through the match ----------------------------------------------------------

MALFORMED: list[Any] = [
    None,
    4,
    "4",
    [],
    [4],
    {},
    {"cell": "4"},  # strict: a string is not an int
    {"cell": True},  # strict: a bool is not an int
    {"cell": False},
    {"cell": 4.0},  # strict: nor is a float, even a whole one
    {"cell": 4.5},
    {"cell": None},
    {"cell": [4]},
    {"cell": 9},
    {"cell": -1},
    {"cell": 2**70},
    {"cell": 4, "seat": 0},  # unknown fields are errors
    {"col": 4},
]


def new_match(seed: int = 0, **options: Any) -> Match:
    match = Match.create(GAME, 2, options, seed)
    for seat in range(2):
        match.sit(seat, f"p{seat}", f"player {seat}")
    match.start()
    return match


def snapshot(match: Match) -> tuple[Any, ...]:
    return (
        match.state,
        match.seq,
        list(match.log),
        match.status,
        match.outcome,
        match.to_act,
        {a: match.view(a) for a in AUDIENCES},
    )


def assert_refused(match: Match, attempt: Any, code: str | None = None) -> Rejection:
    """``attempt()`` must return a Rejection and change nothing at all."""
    before = snapshot(match)
    state = match.state
    result = attempt()
    assert isinstance(result, Rejection), result
    if code is not None:
        assert result.code == code, result
    assert match.state is state
    assert snapshot(match) == before
    return result


@pytest.mark.parametrize("payload", MALFORMED, ids=repr)
def test_malformed_moves_are_bad_moves(payload: Any) -> None:
    match = new_match()
    refused = assert_refused(match, lambda: match.submit(0, payload), api.BAD_MOVE)
    assert refused.message  # a person can read why


def test_strict_cell_message_names_the_field() -> None:
    match = new_match()
    refused = match.submit(0, {"cell": "4"})
    assert isinstance(refused, Rejection)
    assert refused.message.startswith("cell: ")


def test_move_is_logged_as_its_json_form() -> None:
    match = new_match()
    step = match.submit(0, {"cell": 4})
    assert not isinstance(step, Rejection)
    assert step.entry == {"s": match.seq, "seat": 0, "k": "move", "m": {"cell": 4}}
    assert match.log == [step.entry]
    assert GAME.move_adapter().dump_python(Move(cell=4), mode="json") == {"cell": 4}


def test_one_move_is_one_set_op_shared_by_everyone() -> None:
    match = new_match()
    step = match.submit(0, {"cell": 4})
    assert not isinstance(step, Rejection)
    assert step.deltas[None] == [[["b", 4], 0]]  # the cell: also what the board marks last
    assert step.deltas[0] is step.deltas[1] is step.deltas[None]
    assert match.last_change(1) == [[["b", 4], 0]]


def test_cell_taken_through_the_match() -> None:
    match = new_match()
    match.submit(0, {"cell": 4})
    assert_refused(match, lambda: match.submit(1, {"cell": 4}), "cell_taken")


def test_timeout_forfeits() -> None:
    match = new_match(turn_seconds=30)
    assert match.turn_seconds() == 30.0
    step = match.timeout(0)
    assert not isinstance(step, Rejection)
    assert match.outcome == api.win(1, 2, "timeout")
    assert step.deltas[None] == []  # the board does not change
    assert match.log == [{"s": match.seq, "seat": 0, "k": "timeout", "m": None}]


def message_size(seq: int, step: Transition) -> int:
    """The ``d`` message the room sends for ``step``, without the end-of-game fields."""
    return len(codec.encode({"t": "d", "s": seq, "o": step.deltas[None], "a": list(step.to_act)}))


def test_a_move_is_21_bytes_on_the_wire_in_any_game() -> None:
    # Under the 24-byte target: the cell and who acts next, and no last-move field (the
    # delta is the move; a snapshot carries the last one as "lo").
    match = new_match()
    for _ in range(3):  # numbering starts again with each game: s stays below 11
        steps = [match.submit(seat, {"cell": c}) for seat, c in ((0, 4), (1, 0), (0, 8), (1, 1))]
        steps += [match.forfeit(0, "resigned")]
        for step in steps:
            assert not isinstance(step, Rejection)
            assert step.seq <= 10
            if step.status == "playing":
                assert message_size(step.seq, step) == 21
        match.rematch(seed=match.seed + 1)


def try_illegal(match: Match, rnd: random.Random) -> None:
    """A few refused attempts: wrong seat, no such seat, bad payloads, taken cells."""
    actor = match.to_act[0]
    free = [i for i, c in enumerate(match.view(None)["b"]) if c == -1]
    cell = rnd.choice(free)
    assert_refused(match, lambda: match.submit(1 - actor, {"cell": cell}), api.NOT_YOUR_TURN)
    assert_refused(match, lambda: match.timeout(1 - actor), api.NOT_YOUR_TURN)
    bad_seat: Any = rnd.choice([-1, 2, 9, None, "0", 0.0, True, False])
    assert_refused(match, lambda: match.submit(bad_seat, {"cell": cell}), api.NOT_A_SEAT)
    assert_refused(match, lambda: match.forfeit(bad_seat, "gone"), api.NOT_A_SEAT)
    assert_refused(match, lambda: match.timeout(bad_seat), api.NOT_A_SEAT)
    payload = rnd.choice(MALFORMED)
    assert_refused(match, lambda: match.submit(actor, payload), api.BAD_MOVE)
    taken = [i for i, c in enumerate(match.view(None)["b"]) if c != -1]
    if taken:
        choice = rnd.choice(taken)
        assert_refused(match, lambda: match.submit(actor, {"cell": choice}), "cell_taken")


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rnd=st.randoms(use_true_random=False),
    forfeit_after=st.one_of(st.none(), st.integers(0, 8)),
    timeout_instead=st.booleans(),
)
def test_random_games(
    seed: int, rnd: random.Random, forfeit_after: int | None, timeout_instead: bool
) -> None:
    match = new_match(seed)
    first_seq = match.seq
    views = {a: match.view(a) for a in AUDIENCES}
    assert views[None] == {"b": EMPTY}
    steps = 0
    marks = 0
    forfeiter: int | None = None
    while match.status == "playing":
        assert steps < 9, "a game cannot outlast the board"
        try_illegal(match, rnd)
        actor = match.to_act[0]
        assert match.legal_moves(1 - actor) == []
        if forfeit_after is not None and steps == forfeit_after:
            if timeout_instead:
                forfeiter = actor
                step = match.timeout(actor)
            else:
                forfeiter = rnd.choice([0, 1])
                step = match.forfeit(forfeiter, "resigned")
        else:
            move = rnd.choice(match.legal_moves(actor))
            step = match.submit(actor, GAME.move_adapter().dump_python(move, mode="json"))
            marks += 1
        assert not isinstance(step, Rejection), step
        steps += 1
        assert step.seq == first_seq + steps == match.seq
        assert (step.to_act, step.status, step.outcome) == (
            match.to_act,
            match.status,
            match.outcome,
        )
        assert step.entry == match.log[-1] and len(match.log) == steps
        for audience in AUDIENCES:
            assert apply_delta(views[audience], step.deltas[audience]) == match.view(audience)
            views[audience] = match.view(audience)
        assert message_size(step.seq, step) <= 21, step.deltas[None]
        assert message_size(65535, step) <= 23, step.deltas[None]
        if step.kind == "move" and step.seq < 128 and step.to_act:
            assert message_size(step.seq, step) == 21
        board = match.view(None)["b"]
        assert sum(c != -1 for c in board) == marks
        assert board.count(0) - board.count(1) in (0, 1)  # X moves first
        if match.status == "playing":
            assert lines_of(board) == {0: 0, 1: 0}, "a line was missed"
            assert -1 in board

    assert steps <= 9
    outcome = match.outcome
    assert outcome is not None and match.to_act == ()
    board = match.view(None)["b"]
    lines = lines_of(board)
    if forfeiter is not None:
        reason = "timeout" if timeout_instead else "resigned"
        assert outcome == api.win(1 - forfeiter, 2, reason)
    elif outcome.draw:
        assert -1 not in board
        assert lines == {0: 0, 1: 0}
        assert outcome == api.draw(2, "board full")
    else:
        (winner,) = outcome.winners
        assert outcome == api.win(winner, 2, "three in a row")
        assert lines[winner] >= 1 and lines[1 - winner] == 0
        # The winner made the last mark: X has one more than O, or O as many as X.
        assert board.count(0) - board.count(1) == (1 if winner == 0 else 0)

    # Over: every attempt is refused and changes nothing.
    assert match.legal_moves(0) == match.legal_moves(1) == []
    for seat in (0, 1):
        free = [i for i, c in enumerate(board) if c == -1] or [0]
        assert_refused(match, lambda s=seat, c=free[0]: match.submit(s, {"cell": c}), api.GAME_OVER)
        assert_refused(match, lambda s=seat: match.submit(s, {"cell": "x"}), api.GAME_OVER)
        assert_refused(match, lambda s=seat: match.forfeit(s, "late"), api.GAME_OVER)
        assert_refused(match, lambda s=seat: match.timeout(s), api.GAME_OVER)

    replayed = Match.replay(GAME, 2, None, seed, match.log)
    assert replayed.state == match.state
    assert (replayed.seq, replayed.status, replayed.outcome, replayed.log) == (
        match.seq,
        match.status,
        match.outcome,
        match.log,
    )
    assert {a: replayed.view(a) for a in AUDIENCES} == views
