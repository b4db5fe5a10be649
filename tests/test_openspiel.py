"""The built-in rules against an independent implementation: DeepMind's OpenSpiel.

Thousands of random games are played in both at once, the same move in each, and at
every step the legal moves, whether the game is over, and at the end the returns must
agree. (Chess is checked against python-chess in test_chess.py.)

OpenSpiel's Liar's Dice is one round, and its highest face is wild. Full rounds are
compared with ``ones_wild`` off, giving OpenSpiel a seventh face that no die shows (so
nothing is wild there either; its face-7 bids are left out of the comparison), and the
loser of each first round is the seat that lost the die. Ones wild is compared
challenge by challenge: dice with faces swapped (our wild one is OpenSpiel's six), one
bid, a challenge, the same loser.
"""

from __future__ import annotations

import random
from typing import Any

import pyspiel
import pytest

from meeple.game.games.liars_dice import Claim, LiarsDice, State
from meeple.game.match import Match, Transition
from meeple.game.testing import new_match
from tests.games import GAMES

PLAYED = 2000
"""Random games per comparison: a few thousand in all, in a few seconds each."""


def our_returns(match: Match) -> list[float]:
    """OpenSpiel's zero-sum returns (1 win, -1 loss, 0 draw) from ours (1, 0, 0.5)."""
    assert match.outcome is not None
    return [2 * r - 1 for r in match.outcome.returns]


def cells_game(name: str, ours: str, key: str) -> None:
    """Tic-tac-toe and Connect Four: an OpenSpiel action is our move's one number."""
    spiel = pyspiel.load_game(name)
    rng = random.Random(name)
    for n in range(PLAYED):
        match = new_match(GAMES[ours], 2, seed=n)
        state = spiel.new_initial_state()
        while not state.is_terminal():
            seat = state.current_player()
            assert match.to_act == (seat,)
            legal = [m[key] for m in (dict(m) for m in _dumped(match, seat))]
            assert sorted(legal) == state.legal_actions(), (n, match.log)
            action = rng.choice(legal)
            assert isinstance(match.submit(seat, {key: action}), Transition)
            state.apply_action(action)
            assert (match.status == "finished") == state.is_terminal(), (n, match.log)
        assert our_returns(match) == state.returns(), (n, match.log)


def _dumped(match: Match, seat: int) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in match.legal_moves(seat)]


def test_tictactoe_agrees_with_openspiel() -> None:
    cells_game("tic_tac_toe", "tictactoe", "cell")


def test_connect_four_agrees_with_openspiel() -> None:
    cells_game("connect_four", "connect4", "col")


def spiel_action(qty: int, face: int, sides: int) -> int:
    return (qty - 1) * sides + (face - 1)


@pytest.mark.parametrize("dice", [1, 2, 3])
def test_liars_dice_rounds_agree_with_openspiel(dice: int) -> None:
    """Ones not wild: every legal bid, the end of the round and who loses it."""
    sides = 7  # the seventh face: OpenSpiel's wild one, which no die of ours shows
    spiel = pyspiel.load_game("liars_dice", {"numdice": dice, "dice_sides": sides})
    rng = random.Random(dice)
    for n in range(PLAYED // 3):
        match = Match.create(LiarsDice(), 2, {"dice_per_player": dice, "ones_wild": False}, n)
        for seat in (0, 1):
            match.sit(seat, f"p{seat}", f"P{seat}")
        match.start()
        state = spiel.new_initial_state()
        for hand in match.state.dice:
            for face in hand:
                state.apply_action(face - 1)
        liar = 2 * dice * sides
        while not state.is_terminal():
            seat = state.current_player()
            assert match.to_act == (seat,)
            ours = sorted(
                liar if m["kind"] == "challenge" else spiel_action(m["qty"], m["face"], sides)
                for m in _dumped(match, seat)
            )
            theirs = [a for a in state.legal_actions() if a == liar or a % sides != sides - 1]
            assert ours == theirs, (n, match.log)
            action = rng.choice(theirs)
            if action == liar:
                move: dict[str, Any] = {"kind": "challenge"}
            else:
                move = {"kind": "bid", "qty": action // sides + 1, "face": action % sides + 1}
            assert isinstance(match.submit(seat, move), Transition)
            state.apply_action(action)
            assert (match.state.round_no > 1) == state.is_terminal(), (n, match.log)
        loser = state.returns().index(-1.0)
        assert match.state.last is not None and match.state.last.loser == loser, (n, match.log)
        if dice == 1:  # one die each: losing the round is losing the game
            assert match.status == "finished" and our_returns(match) == state.returns()


def test_liars_dice_ones_wild_challenges_agree_with_openspiel() -> None:
    """Our ones are wild, OpenSpiel's sixes: swap the faces, bid once, challenge."""
    game = LiarsDice()
    rng = random.Random(6)
    for dice in (1, 2, 3, 4, 5):
        spiel = pyspiel.load_game("liars_dice", {"numdice": dice})
        for _ in range(PLAYED // 5):
            hands = [tuple(sorted(rng.randint(1, 6) for _ in range(dice))) for _ in (0, 1)]
            qty, face = rng.randint(1, 2 * dice), rng.randint(1, 6)
            ours = State(dice=tuple(hands), turn=1, ones_wild=True, bids=(Claim(0, qty, face),))
            after = game.apply(
                ours,
                1,
                game.move_adapter().validate_python({"kind": "challenge"}),
                random.Random(0),
            )
            assert isinstance(after, State) and after.last is not None
            state = spiel.new_initial_state()
            for hand in hands:
                for f in hand:
                    state.apply_action(6 - f)  # our 1 is their 6 (wild), our 6 their 1
            state.apply_action(spiel_action(qty, 7 - face, 6))
            state.apply_action(2 * dice * 6)  # liar
            assert after.last.loser == state.returns().index(-1.0), (hands, qty, face)
