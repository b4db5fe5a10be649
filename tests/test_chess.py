"""Chess: the rules python-chess supplies, as the match sees them, and small deltas."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import chess
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meeple.game import codec
from meeple.game.api import Rejection, describe
from meeple.game.delta import apply_delta, diff
from meeple.game.games.chess import Chess, PlayMove, State
from meeple.game.match import Match, Transition

GAME = Chess()
CASTLING_FEN = "r3k2r/pppppppp/8/8/8/8/PPPPPPPP/R3K2R w KQkq - 0 1"


def new_match(fen: str | None = None, seed: int = 7) -> Match:
    match = Match.create(GAME, 2, {"fen": fen} if fen else None, seed)
    match.sit(0, "p0", "White")
    match.sit(1, "p1", "Black")
    match.start()
    return match


def submit(match: Match, move: dict[str, Any], seat: int | None = None) -> Transition | Rejection:
    return match.submit(match.to_act[0] if seat is None else seat, move)


def play(match: Match, *ucis: str) -> Transition:
    """Play ``ucis`` in turn; each must be accepted."""
    step: Transition | Rejection | None = None
    for uci in ucis:
        step = submit(match, {"kind": "move", "uci": uci})
        assert isinstance(step, Transition), (uci, step)
    assert isinstance(step, Transition)
    return step


def legal(match: Match) -> list[Any]:
    return match.legal_moves(match.to_act[0])


def cell(match: Match, square: str) -> str:
    cells: list[str] = match.view(None)["b"]
    return cells[chess.parse_square(square)]


def frozen(match: Match) -> tuple[Any, ...]:
    """Everything a refused move must leave alone."""
    return (
        match.state,
        match.state.board.fen(),
        list(match.state.board.move_stack),
        match.seq,
        [dict(e) for e in match.log],
        match.to_act,
        match.status,
        match.outcome,
        {a: match.view(a) for a in (0, 1, None)},
    )


def refused(match: Match, move: Any, seat: int | None = None) -> Rejection:
    before = frozen(match)
    result = submit(match, move, seat)
    assert isinstance(result, Rejection), result
    assert frozen(match) == before
    return result


def delta_size(step: Transition) -> int:
    """A state message as the room sends it, with a typical envelope."""
    return len(codec.encode({"t": "d", "s": 300, "o": step.deltas[None], "a": [1]}))


# Endings --------------------------------------------------------------------


def test_scholars_mate() -> None:
    match = new_match()
    step = play(match, "e2e4", "e7e5", "d1h5", "b8c6", "f1c4", "g8f6", "h5f7")
    assert step.status == "finished" and step.to_act == ()
    assert match.outcome is not None
    assert match.outcome.winners == (0,) and match.outcome.reason == "checkmate"
    assert match.outcome.returns == (1.0, 0.0)
    assert match.view(None)["k"] is True
    assert GAME.legal_moves(match.state, 1) == []
    assert refused(match, {"kind": "move", "uci": "a7a6"}, seat=1).code == "game_over"


def test_fools_mate_is_a_black_win() -> None:
    match = new_match()
    play(match, "f2f3", "e7e5", "g2g4", "d8h4")
    assert match.outcome is not None
    assert match.outcome.winners == (1,) and match.outcome.reason == "checkmate"


def test_stalemate() -> None:
    match = new_match("k7/8/8/2Q5/8/8/8/7K w - - 0 1")
    play(match, "c5c7")
    assert match.outcome is not None
    assert match.outcome.draw and match.outcome.reason == "stalemate"
    assert match.view(None)["k"] is False


def test_insufficient_material_ends_the_game() -> None:
    match = new_match("k7/8/8/8/8/8/1p6/K7 w - - 0 1")
    play(match, "a1b2")
    assert match.outcome is not None
    assert match.outcome.draw and match.outcome.reason == "insufficient material"


def test_seventy_five_move_rule_ends_the_game() -> None:
    match = new_match("k7/8/8/8/8/8/8/KR6 w - - 149 120")
    play(match, "b1b2")
    assert match.outcome is not None
    assert match.outcome.reason == "seventy-five-move rule"


def test_fivefold_repetition_ends_the_game() -> None:
    match = new_match()
    shuffle = ("g1f3", "g8f6", "f3g1", "f6g8")
    for _ in range(3):
        play(match, *shuffle)
    play(match, *shuffle[:3])
    assert match.status == "playing"
    play(match, shuffle[3])
    assert match.outcome is not None
    assert match.outcome.draw and match.outcome.reason == "fivefold repetition"


def test_resignation_and_timeout() -> None:
    match = new_match()
    play(match, "e2e4")
    step = match.forfeit(0, "resigned")
    assert isinstance(step, Transition) and step.status == "finished"
    assert match.outcome is not None
    assert match.outcome.winners == (1,) and match.outcome.reason == "resigned"

    match = new_match()
    step = match.timeout(0)
    assert isinstance(step, Transition)
    assert match.outcome is not None
    assert match.outcome.winners == (1,) and match.outcome.reason == "timeout"


def test_timeout_against_a_lone_king_is_a_draw() -> None:
    match = new_match("k7/8/8/8/8/8/8/KQ6 w - - 0 1")
    match.timeout(0)
    assert match.outcome is not None and match.outcome.draw
    # The lone king's side running out of time still loses: the queen can mate.
    match = new_match("k7/8/8/8/8/8/8/KQ6 b - - 0 1")
    match.timeout(1)
    assert match.outcome is not None and match.outcome.winners == (0,)


# Special moves ----------------------------------------------------------------


def test_castling_both_sides() -> None:
    match = new_match(CASTLING_FEN)
    play(match, "e1g1")
    assert [cell(match, s) for s in ("e1", "f1", "g1", "h1")] == ["", "R", "K", ""]
    play(match, "e8c8")
    assert [cell(match, s) for s in ("a8", "b8", "c8", "d8", "e8")] == ["", "", "k", "r", ""]
    assert match.state.board.castling_rights == 0
    assert match.view(None)["m"] == ["e1g1", "e8c8"]


def test_castling_rights_are_lost() -> None:
    match = new_match(CASTLING_FEN)
    play(match, "h1g1", "a8b8", "g1h1", "b8a8")
    assert "castle" in refused(match, {"kind": "move", "uci": "e1g1"}).message
    play(match, "e1c1")  # the queenside right survived the kingside rook's trip
    black = {m.uci for m in legal(match) if isinstance(m, PlayMove)}
    assert "e8g8" in black and "e8c8" not in black
    play(match, "e8f8", "c1b1", "f8e8", "b1c1")
    reason = refused(match, {"kind": "move", "uci": "e8g8"}).message
    assert "castle" in reason
    assert match.state.board.castling_rights == 0


def test_castling_out_of_and_through_check() -> None:
    match = new_match("r3k2r/8/8/8/4Q3/8/8/R3K2R b KQkq - 0 1")
    assert "out of check" in refused(match, {"kind": "move", "uci": "e8g8"}).message
    match = new_match("r3k2r/8/8/8/5Q2/8/8/R3K2R b KQkq - 0 1")
    assert "castle" in refused(match, {"kind": "move", "uci": "e8g8"}).message
    play(match, "e8c8")  # the queenside is not attacked


def test_en_passant() -> None:
    match = new_match()
    play(match, "e2e4", "a7a6", "e4e5", "d7d5", "e5d6")
    assert cell(match, "d5") == "" and cell(match, "d6") == "P" and cell(match, "e5") == ""
    # The right lapses after one move.
    match = new_match()
    play(match, "e2e4", "a7a6", "e4e5", "d7d5", "h2h3", "h7h6")
    assert refused(match, {"kind": "move", "uci": "e5d6"}).code == "illegal_move"


@pytest.mark.parametrize(
    ("uci", "piece"), [("a7a8q", "Q"), ("a7a8r", "R"), ("a7a8b", "B"), ("a7a8n", "N")]
)
def test_promotion_and_underpromotion(uci: str, piece: str) -> None:
    match = new_match("7k/P7/8/8/8/8/8/K7 w - - 0 1")
    play(match, uci)
    assert cell(match, "a8") == piece and cell(match, "a7") == ""
    assert match.state.moves == (uci,)


def test_promotion_must_be_named() -> None:
    match = new_match("7k/P7/8/8/8/8/8/K7 w - - 0 1")
    assert "must promote" in refused(match, {"kind": "move", "uci": "a7a8"}).message
    assert "only a pawn" in refused(match, {"kind": "move", "uci": "a1a2q"}).message


# Draws --------------------------------------------------------------------------


def test_threefold_repetition_claim() -> None:
    match = new_match()
    claim = {"kind": "claim_draw"}
    play(match, "g1f3", "g8f6", "f3g1", "f6g8")
    assert refused(match, claim).code == "no_draw_claim"
    assert all(match.view(a)["c"] is None for a in (0, 1, None))
    repeated = play(match, "g1f3", "g8f6", "f3g1")
    # Black may claim now: f6g8 would repeat the start a third time. Every view says so
    # (a board shows its claim button only then), in a word: the move's delta carries it
    # and stays within 64 bytes past move 255 (with the reason in full it was 65).
    assert {"kind": "claim_draw"} in [m.model_dump() for m in legal(match)]
    assert all(match.view(a)["c"] == "threefold" for a in (0, 1, None))
    assert [["c"], "threefold"] in repeated.deltas[None] and delta_size(repeated) <= 64
    step = submit(match, claim)
    assert isinstance(step, Transition) and step.status == "finished"
    assert match.outcome is not None
    assert match.outcome.draw and match.outcome.reason == "threefold repetition"
    assert match.view(None)["c"] is None  # over: nothing left to claim


def test_threefold_repetition_claim_on_the_position_itself() -> None:
    match = new_match()
    play(match, "g1f3", "g8f6", "f3g1", "f6g8", "g1f3", "g8f6", "f3g1", "f6g8")
    assert isinstance(submit(match, {"kind": "claim_draw"}), Transition)
    assert match.outcome is not None and match.outcome.reason == "threefold repetition"


def test_fifty_move_rule_claim() -> None:
    match = new_match("k7/8/8/8/8/8/8/KR6 w - - 98 80")
    assert refused(match, {"kind": "claim_draw"}).code == "no_draw_claim"
    assert match.view(None)["c"] is None
    play(match, "b1b2")
    assert match.status == "playing"
    assert match.view(1)["c"] == "fifty"
    step = submit(match, {"kind": "claim_draw"})
    assert isinstance(step, Transition)
    assert match.outcome is not None
    assert match.outcome.draw and match.outcome.reason == "fifty-move rule"


def test_draw_offer_and_accept() -> None:
    match = new_match()
    assert refused(match, {"kind": "accept_draw"}).code == "no_draw_offer"
    step = submit(match, {"kind": "offer_draw"})
    assert isinstance(step, Transition)
    assert step.to_act == (0,)  # offering does not end the turn
    assert match.view(None)["d"] == 0
    assert refused(match, {"kind": "offer_draw"}).code == "draw_already_offered"
    assert refused(match, {"kind": "accept_draw"}).code == "no_draw_offer"  # not your own
    play(match, "e2e4")
    assert match.view(None)["d"] == 0  # it stands through black's turn
    assert {"kind": "accept_draw"} in [m.model_dump() for m in legal(match)]
    assert refused(match, {"kind": "offer_draw"}).code == "draw_already_offered"
    step = submit(match, {"kind": "accept_draw"})
    assert isinstance(step, Transition) and step.status == "finished"
    assert match.outcome is not None
    assert match.outcome.draw and match.outcome.reason == "draw agreed"


def test_a_move_declines_the_offer() -> None:
    match = new_match()
    submit(match, {"kind": "offer_draw"})
    play(match, "e2e4", "e7e5")
    assert match.view(None)["d"] is None
    assert refused(match, {"kind": "accept_draw"}).code == "no_draw_offer"
    submit(match, {"kind": "offer_draw"})  # and white may offer again
    assert match.view(None)["d"] == 0


# Refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "move",
    [
        {"kind": "move", "uci": "e2e9"},
        {"kind": "move", "uci": "e2-e4"},
        {"kind": "move", "uci": "E2E4"},
        {"kind": "move", "uci": "e2e4k"},
        {"kind": "move", "uci": "e2e2"},
        {"kind": "move", "uci": "0000"},
        {"kind": "move", "uci": ""},
        {"kind": "move"},
        {"kind": "move", "uci": "e2e4", "x": 1},
        {"kind": "resign"},
        {"uci": "e2e4"},
        {"kind": "claim_draw", "why": "bored"},
        "e2e4",
        None,
    ],
)
def test_malformed_moves_are_bad_moves(move: Any) -> None:
    match = new_match()
    assert refused(match, move).code == "bad_move"


@pytest.mark.parametrize(
    ("uci", "why"),
    [
        ("e2e5", "pawn on e2 cannot move to e5"),
        ("e3e4", "no piece on e3"),
        ("e7e5", "not white's"),
        ("a1a2", "your own pawn stands on a2"),
        ("e1g1", "castle"),
    ],
)
def test_illegal_moves(uci: str, why: str) -> None:
    match = new_match()
    rejection = refused(match, {"kind": "move", "uci": uci})
    assert rejection.code == "illegal_move" and why in rejection.message


def test_moving_into_check_and_ignoring_check() -> None:
    match = new_match("4k3/8/8/8/8/8/4r3/R3K3 w - - 0 1")
    assert "in check" in refused(match, {"kind": "move", "uci": "a1a2"}).message
    match = new_match("4k3/8/8/8/8/8/3r4/4K3 w - - 0 1")
    assert "leave your king in check" in refused(match, {"kind": "move", "uci": "e1d1"}).message


def test_wrong_seat_and_out_of_turn() -> None:
    match = new_match()
    assert refused(match, {"kind": "move", "uci": "e7e5"}, seat=1).code == "not_your_turn"
    assert refused(match, {"kind": "move", "uci": "e2e4"}, seat=2).code == "not_a_seat"
    assert refused(match, {"kind": "offer_draw"}, seat=1).code == "not_your_turn"
    assert GAME.legal_moves(match.state, 1) == []


# Options, state, catalog ---------------------------------------------------------


@pytest.mark.parametrize(
    "fen",
    [
        "not a fen",
        "8/8/8/8/8/8/8/8 w - - 0 1",  # no kings
        "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3",  # mated
        "4k3/8/8/8/8/8/8/4K3 w - - 0 1",  # dead draw
        "4k3/8/8/8/8/8/8/R3K3 w KQ - 0 1",  # castling without the rooks
    ],
)
def test_bad_starting_positions(fen: str) -> None:
    with pytest.raises(ValueError):
        Match.create(GAME, 2, {"fen": fen}, 1)


def test_starting_position_with_black_to_move() -> None:
    match = new_match("4k3/8/8/8/8/8/8/R3K3 b - - 0 1")
    assert match.to_act == (1,)
    assert match.view(None)["s"] == "4k3/8/8/8/8/8/8/R3K3 b - - 0 1"
    play(match, "e8d7")
    assert match.to_act == (0,)


def test_apply_leaves_the_old_state_alone() -> None:
    state = GAME.setup(2, GAME.parse_options({}), random.Random(0))
    fen = state.board.fen()
    after = GAME.apply(state, 0, PlayMove(kind="move", uci="e2e4"), random.Random(0))
    assert isinstance(after, State)
    assert state.board.fen() == fen and state.board.move_stack == [] and state.moves == ()
    assert after.moves == ("e2e4",) and after != state


def test_catalog_entry_and_registry() -> None:
    from tests.games import GAMES

    assert GAMES["chess"] is not None
    info = describe(GAME)
    assert info.name == "chess" and "fen" in info.options_schema["properties"]
    assert "turn_seconds" in info.options_schema["properties"]
    assert GAME.turn_seconds(GAME.parse_options({"turn_seconds": 30})) == 30.0
    # Legal moves go through the move validator and back unchanged.
    adapter = GAME.move_adapter()
    for move in legal(new_match()):
        assert adapter.validate_python(adapter.dump_python(move, mode="json")) == move


# Deltas ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "ucis"),
    [
        (None, ["e2e4"]),  # normal
        (None, ["e2e4", "e7e5", "g1f3"]),  # a black move, then a knight
        (None, ["e2e4", "d7d5", "e4d5"]),  # capture
        (None, ["e2e4", "f7f5", "d1h5"]),  # check
        (None, ["e2e4", "a7a6", "e4e5", "d7d5", "e5d6"]),  # en passant
        (CASTLING_FEN, ["e1g1"]),  # castling kingside
        (CASTLING_FEN, ["e1g1", "e8c8"]),  # black castling queenside
        ("7k/P7/8/8/8/8/8/K7 w - - 0 1", ["a7a8q"]),  # promotion with check
        ("1r5k/P7/8/8/8/8/8/K7 w - - 0 1", ["a7b8n"]),  # capturing underpromotion
    ],
)
def test_one_move_is_a_small_message(fen: str | None, ucis: list[str]) -> None:
    match = new_match(fen)
    step = play(match, *ucis)
    assert delta_size(step) <= 64, step.deltas[None]


def test_late_castling_with_check_is_still_small() -> None:
    # Past move 255 an appended move's index costs two more bytes, and castling with
    # check changes the most: four squares, the move and "k". Pretend 300 moves came first.
    state = GAME.setup(
        2, GAME.parse_options({"fen": "5k2/8/8/8/8/8/8/4K2R w K - 0 1"}), random.Random(0)
    )
    state = replace(state, moves=("h1h2",) * 300)
    after = GAME.apply(state, 0, PlayMove(kind="move", uci="e1g1"), random.Random(0))
    assert isinstance(after, State)
    ops = diff(GAME.view(state, None), GAME.view(after, None))
    assert after.board.is_check()
    assert len(codec.encode({"t": "d", "s": 300, "o": ops, "a": [1]})) <= 64, ops


# Random games ----------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(0, 2**32))
def test_random_games(rnd: random.Random, seed: int) -> None:
    match = new_match(seed=seed)
    views = {a: match.view(a) for a in (0, 1, None)}
    for _ply in range(300):
        if match.status != "playing":
            break
        seat = match.to_act[0]
        assert match.legal_moves(1 - seat) == []
        roll = rnd.random()
        if roll < 0.03:
            payload: Any = {"kind": "offer_draw"}
        elif roll < 0.05:
            payload = {"kind": "claim_draw"}
        elif roll < 0.06:
            payload = {"kind": "move", "uci": rnd.choice(["e2e4", "e7e5", "a1a8", "h7h8q"])}
        else:
            payload = rnd.choice(legal(match)).model_dump(mode="json")
        before = frozen(match)
        step = match.submit(seat, payload)
        if isinstance(step, Rejection):
            assert frozen(match) == before
            continue
        for audience, old in views.items():
            assert apply_delta(old, step.deltas[audience]) == match.view(audience)
        if payload["kind"] == "move" and views[None]["d"] == match.view(None)["d"]:
            assert delta_size(step) <= 64, (payload, step.deltas[None])
        views = {a: match.view(a) for a in (0, 1, None)}
    if match.status == "playing":
        step = match.forfeit(match.to_act[0], "resigned")
        assert isinstance(step, Transition)
        assert apply_delta(views[None], step.deltas[None]) == match.view(None)
    assert match.status == "finished" and match.outcome is not None

    replayed = Match.replay(GAME, 2, None, seed, match.log)
    assert replayed.seq == match.seq and replayed.outcome == match.outcome
    assert replayed.state == match.state
    assert replayed.state.board.fen() == match.state.board.fen()
    assert replayed.state.board.move_stack == match.state.board.move_stack
    assert replayed.view(None) == match.view(None)
