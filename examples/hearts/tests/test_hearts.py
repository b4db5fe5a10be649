"""Hearts: Meeple's conformance kit, then the rules by hand."""

from __future__ import annotations

import random

import pytest
from meeple_hearts.bot import HeartsBot
from meeple_hearts.game import DECK, Hearts, PassCards, PlayCard, State, legal_plays, trick_winner

from meeple.game.delta import diff
from meeple.game.testing import conformance, new_match

GAME = Hearts()


@conformance(Hearts)
def test_hearts_conforms(game, check):
    check(game)


def started(seed: int = 0, target: int = 100) -> State:
    return GAME.setup(4, GAME.parse_options({"target": target}), random.Random(seed))


def test_a_deal_is_the_deck_in_four_sorted_hands() -> None:
    state = started()
    cards = [c for hand in state.hands for c in hand]
    assert sorted(cards) == sorted(DECK) and all(len(h) == 13 for h in state.hands)
    assert GAME.to_act(state) == (0, 1, 2, 3)  # everyone passes at once


def test_passing_goes_left_then_the_two_of_clubs_leads() -> None:
    state = started()
    chosen = [list(h[:3]) for h in state.hands]
    for seat in (2, 0, 3):  # in any order
        state = GAME.apply(state, seat, PassCards(kind="pass", cards=chosen[seat]), random.Random())
        assert isinstance(state, State)
        assert seat not in GAME.to_act(state)
    state = GAME.apply(state, 1, PassCards(kind="pass", cards=chosen[1]), random.Random())
    assert isinstance(state, State) and state.passing is None
    for seat in range(4):
        assert set(chosen[(seat - 1) % 4]) <= set(state.hands[seat])  # from the right-hand seat
    leader = GAME.to_act(state)[0]
    assert "2C" in state.hands[leader]
    assert [m.card for m in GAME.legal_moves(state, leader)] == ["2C"]


def test_what_a_seat_passed_stays_its_own() -> None:
    state = started()
    after = GAME.apply(
        state, 0, PassCards(kind="pass", cards=list(state.hands[0][:3])), random.Random()
    )
    assert isinstance(after, State)
    assert GAME.view(after, 0)["my"] == list(state.hands[0][:3])
    for audience in (1, 2, 3, None):
        assert "my" not in GAME.view(after, None) and GAME.view(after, audience).get("my") is None
        assert GAME.view(after, audience)["ps"] == [True, False, False, False]
    assert "h" not in GAME.view(after, None)


def test_follow_suit_hearts_broken_and_the_first_trick() -> None:
    hand = ("3C", "QS", "5H", "AH")
    assert legal_plays(hand, ((0, "2C"),), False, True) == ["3C"]
    assert legal_plays(("QS", "5H", "KD"), ((0, "2C"),), False, True) == ["KD"]  # no points
    assert legal_plays(("QS", "5H"), ((0, "2C"),), False, True) == ["QS", "5H"]  # nothing else
    assert legal_plays(("3C", "5H"), (), False, False) == ["3C"]  # hearts not broken
    assert legal_plays(("5H", "AH"), (), False, False) == ["5H", "AH"]  # only hearts
    assert trick_winner(((0, "5D"), (1, "AS"), (2, "KD"), (3, "2D"))) == 2


def test_illegal_plays_are_rejections() -> None:
    state = started()
    for seat in range(4):
        state = GAME.apply(
            state, seat, PassCards(kind="pass", cards=list(state.hands[seat][:3])), random.Random()
        )
    leader = state.turn
    other = next(c for c in state.hands[leader] if c != "2C")
    refused = GAME.apply(state, leader, PlayCard(kind="play", card=other), random.Random())
    assert refused.code == "illegal_card"
    missing = next(c for c in DECK if c not in state.hands[leader])
    assert (
        GAME.apply(state, leader, PlayCard(kind="play", card=missing), random.Random()).code
        == "not_in_hand"
    )
    assert (
        GAME.apply(state, (leader + 1) % 4, PlayCard(kind="play", card="2C"), random.Random()).code
        == "not_your_turn"
    )


def test_a_play_mid_trick_costs_the_others_one_append() -> None:
    """What a seat can work out (cards held: 13 less tricks done, less one if in the
    trick) is not sent, so another seat's delta of a play is the trick's append."""
    state = started()
    for seat in range(4):
        state = GAME.apply(
            state, seat, PassCards(kind="pass", cards=list(state.hands[seat][:3])), random.Random()
        )
    leader = state.turn
    after = GAME.apply(state, leader, PlayCard(kind="play", card="2C"), random.Random())
    assert isinstance(after, State)
    for audience in (None, *(s for s in range(4) if s != leader)):
        assert diff(GAME.view(state, audience), GAME.view(after, audience)) == [
            [["t", 0], [leader, "2C"]]
        ]


@pytest.mark.parametrize("seed", range(5))
def test_bots_play_a_whole_game_and_scores_are_returns(seed: int) -> None:
    match = new_match(GAME, 4, seed, {"target": 50})
    bot, rng = HeartsBot(), random.Random(seed)
    while match.status == "playing":
        seat = match.to_act[0]
        step = match.submit(seat, bot.choose("hearts", match.view(seat), seat, rng))
        assert not hasattr(step, "code"), step
    outcome = match.outcome
    totals = match.state.scores
    assert max(totals) >= 50 and sum(totals) % 26 == 0
    assert outcome.returns == tuple(-float(t) for t in totals)
    assert set(outcome.winners) == {s for s, t in enumerate(totals) if t == min(totals)}
