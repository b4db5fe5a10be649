"""Hearts for four, as a Meeple game package: the rules, pure, in one file.

The rules as implemented:

* Four seats, a 52-card deck, thirteen cards each. Cards are two characters, rank
  then suit: ``"2C"`` … ``"TH"`` (ten of hearts) … ``"AS"``.
* Before each hand's tricks, every seat passes three cards at once (a simultaneous
  phase: all four are to act, in any order): to the left (seat + 1) in the first
  hand, to the right in the second, across in the third; the fourth hand has no
  passing; then it repeats. A seat sees which seats have passed, never what.
* The holder of the two of clubs leads it to the first trick. Each seat must follow
  the suit led if it can; the highest card of the suit led takes the trick and leads
  the next. On the first trick nobody may play a heart or the queen of spades unless
  they hold nothing else. Hearts may not be led until one has been played (hearts
  "broken"), unless the leader holds only hearts.
* Every heart taken is a point, the queen of spades thirteen. A seat that takes all 26
  "shoots the moon": it scores nothing and every other seat 26.
* After a hand in which a seat's total reaches ``target`` (100), the game is over: the
  lowest total wins (ties share the win). Returns are minus the totals: higher is
  better, as everywhere in Meeple.
* A seat that forfeits ends the game: it is last (its return is 26 below the lowest
  other), the others keep their totals. A turn that times out is played for the seat:
  the three highest cards are passed, or the lowest legal card played.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from meeple.game import Game, MoveModel, Options, Outcome, Rejection, View

SEATS = 4
RANKS = "23456789TJQKA"
SUITS = "CDSH"
"""Clubs, diamonds, spades, hearts: also the order a hand is sorted in."""
DECK = tuple(r + s for s in SUITS for r in RANKS)
TWO_OF_CLUBS = "2C"
QUEEN_OF_SPADES = "QS"
HAND = 13
PASS = 3
MOON = 26
PASS_OFFSETS = (1, 3, 2, 0)
"""Where each hand's cards go, as seats onward: left, right, across, and no passing."""

Card = Annotated[str, Field(pattern=r"^[2-9TJQKA][CDSH]$")]


def rank(card: str) -> int:
    return RANKS.index(card[0])


def suit(card: str) -> str:
    return card[1]


def order(card: str) -> tuple[int, int]:
    return SUITS.index(card[1]), RANKS.index(card[0])


def points(card: str) -> int:
    return 1 if suit(card) == "H" else 13 if card == QUEEN_OF_SPADES else 0


class PassCards(MoveModel):
    """Pass three cards of your hand (all four seats do at once)."""

    kind: Literal["pass"]
    cards: list[Card] = Field(min_length=PASS, max_length=PASS)


class PlayCard(MoveModel):
    """Play a card to the trick."""

    kind: Literal["play"]
    card: Card


Move: TypeAlias = Annotated[PassCards | PlayCard, Field(discriminator="kind")]


class HeartsOptions(Options):
    target: int = Field(default=100, ge=1, le=500)
    """The total that ends the game at the end of a hand."""
    turn_seconds: float | None = Field(default=None, gt=0, le=86400)


@dataclass(frozen=True, slots=True)
class State:
    hands: tuple[tuple[str, ...], ...]
    """Each seat's cards, sorted."""
    passing: tuple[tuple[str, ...] | None, ...] | None
    """In a passing phase, each seat's chosen cards (None until it chose); None in play."""
    trick: tuple[tuple[int, str], ...] = ()
    """This trick's cards, (seat, card) in the order played."""
    turn: int = 0
    """The seat to play (in play)."""
    taken: tuple[int, ...] = (0,) * SEATS
    """Points taken this hand."""
    tricks: int = 0
    """Tricks completed this hand."""
    broken: bool = False
    scores: tuple[int, ...] = (0,) * SEATS
    hand_no: int = 0
    last: tuple[tuple[tuple[int, str], ...], int] | None = None
    """The last completed trick and who took it (public)."""
    received: tuple[tuple[str, ...], ...] = ()
    """What each seat was passed this hand (each sees only its own)."""
    target: int = 100
    result: Outcome | None = None


def deal(rng: random.Random) -> tuple[tuple[str, ...], ...]:
    deck = list(DECK)
    rng.shuffle(deck)
    return tuple(tuple(sorted(deck[i * HAND : (i + 1) * HAND], key=order)) for i in range(SEATS))


def new_hand(scores: tuple[int, ...], hand_no: int, target: int, rng: random.Random) -> State:
    hands = deal(rng)
    passing = PASS_OFFSETS[hand_no % 4] != 0
    state = State(
        hands,
        (None,) * SEATS if passing else None,
        scores=scores,
        hand_no=hand_no,
        target=target,
    )
    return state if passing else _start_play(state)


def _start_play(state: State) -> State:
    leader = next(s for s, hand in enumerate(state.hands) if TWO_OF_CLUBS in hand)
    return replace(state, passing=None, turn=leader)


def legal_plays(
    hand: tuple[str, ...], trick: tuple[tuple[int, str], ...], broken: bool, first: bool
) -> list[str]:
    """The cards a seat holding ``hand`` may play to ``trick``."""
    if not trick:
        if first:
            return [TWO_OF_CLUBS] if TWO_OF_CLUBS in hand else list(hand)
        leads = [c for c in hand if broken or suit(c) != "H"]
        return leads or list(hand)
    led = suit(trick[0][1])
    following = [c for c in hand if suit(c) == led]
    if following:
        return following
    if first:
        clean = [c for c in hand if not points(c)]
        return clean or list(hand)
    return list(hand)


def trick_winner(trick: tuple[tuple[int, str], ...]) -> int:
    led = suit(trick[0][1])
    return max((rank(c), s) for s, c in trick if suit(c) == led)[1]


class Hearts(Game[State, Move, HeartsOptions]):
    name = "hearts"
    title = "Hearts"
    min_seats = SEATS
    max_seats = SEATS
    options = HeartsOptions
    move = Move
    hidden_information = True
    board = "meeple_hearts:web/board.js"
    description = (
        "Four players pass three cards, then play thirteen tricks, following suit. "
        "Avoid hearts (a point each) and the queen of spades (thirteen); take them all to "
        "shoot the moon. When someone reaches 100, the lowest total wins."
    )

    def setup(self, seats: int, options: HeartsOptions, rng: random.Random) -> State:
        return new_hand((0,) * SEATS, 0, options.target, rng)

    def to_act(self, state: State) -> tuple[int, ...]:
        if state.result is not None:
            return ()
        if state.passing is not None:
            return tuple(s for s, chosen in enumerate(state.passing) if chosen is None)
        return (state.turn,)

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if seat not in self.to_act(state):
            return []
        hand = state.hands[seat]
        if state.passing is not None:
            return [PassCards(kind="pass", cards=list(c)) for c in combinations(hand, PASS)]
        cards = legal_plays(hand, state.trick, state.broken, state.tricks == 0)
        return [PlayCard(kind="play", card=c) for c in cards]

    def apply(self, state: State, seat: int, move: Move, rng: random.Random) -> State | Rejection:
        if state.result is not None:
            return Rejection("game_over", "the game is over")
        hand = state.hands[seat]
        if isinstance(move, PassCards):
            if state.passing is None:
                return Rejection("not_passing", "the cards have been passed: play a card")
            if state.passing[seat] is not None:
                return Rejection("already_passed", "you have passed your cards for this hand")
            if len(set(move.cards)) != PASS or not set(move.cards) <= set(hand):
                return Rejection("not_in_hand", "pass three different cards of your hand")
            chosen = list(state.passing)
            chosen[seat] = tuple(sorted(move.cards, key=order))
            after = replace(state, passing=tuple(chosen))
            return _exchange(after) if all(c is not None for c in chosen) else after
        if state.passing is not None:
            return Rejection("passing", "pass three cards first")
        if seat != state.turn:
            return Rejection("not_your_turn", f"it is seat {state.turn}'s turn")
        if move.card not in hand:
            return Rejection("not_in_hand", f"you do not hold {move.card}")
        allowed = legal_plays(hand, state.trick, state.broken, state.tricks == 0)
        if move.card not in allowed:
            return Rejection("illegal_card", _why_not(move.card, state))
        hands = list(state.hands)
        hands[seat] = tuple(c for c in hand if c != move.card)
        trick = (*state.trick, (seat, move.card))
        after = replace(
            state, hands=tuple(hands), trick=trick, broken=state.broken or suit(move.card) == "H"
        )
        if len(trick) < SEATS:
            return replace(after, turn=(seat + 1) % SEATS)
        return _take_trick(after, rng)

    def outcome(self, state: State) -> Outcome | None:
        return state.result

    def view(self, state: State, seat: int | None) -> View:
        # Public: the phase ("p": "pass" or "play"), where cards go
        # this hand ("d": seats onward, 0 for no passing), who has passed ("ps"), the
        # trick ("t": [seat, card], growing by appends), tricks done ("k"), hearts broken
        # ("hb"), points taken this hand ("tk"), totals ("s"), the hand ("hn") and the
        # last trick ("lt": {"c": [[seat, card]...], "w": taker}). A seat also sees its
        # own hand ("h"), the cards it chose to pass ("my") and was passed ("got").
        # Cards held are not sent: a seat holds 13 less the tricks done, less one if it
        # is in the trick, and a count per seat would cost every play's delta an op.
        view: View = {
            "p": "pass" if state.passing is not None else "play",
            "d": PASS_OFFSETS[state.hand_no % 4],
            "ps": [c is not None for c in state.passing] if state.passing is not None else [],
            "t": [[s, c] for s, c in state.trick],
            "k": state.tricks,
            "hb": state.broken,
            "tk": list(state.taken),
            "s": list(state.scores),
            "hn": state.hand_no,
            "lt": (
                {"c": [[s, c] for s, c in state.last[0]], "w": state.last[1]}
                if state.last
                else None
            ),
        }
        if seat is not None:
            view["h"] = list(state.hands[seat])
            mine = state.passing[seat] if state.passing is not None else None
            view["my"] = list(mine) if mine else None
            view["got"] = list(state.received[seat]) if state.received else []
        return view

    def forfeit(self, state: State, seat: int, reason: str) -> State:
        if state.result is not None:
            return state
        returns = [-float(s) for s in state.scores]
        returns[seat] = min(r for s, r in enumerate(returns) if s != seat) - MOON
        best = max(returns)
        winners = tuple(s for s, r in enumerate(returns) if r == best)
        return replace(state, result=Outcome(winners, False, tuple(returns), reason or "forfeit"))

    def on_timeout(self, state: State, seat: int, rng: random.Random) -> State:
        """A slow seat is played for: it passes its three highest cards, or plays its
        lowest legal card."""
        if state.passing is not None:
            cards = sorted(state.hands[seat], key=lambda c: (rank(c), order(c)))[-PASS:]
            move: Move = PassCards(kind="pass", cards=cards)
        else:
            allowed = legal_plays(state.hands[seat], state.trick, state.broken, state.tricks == 0)
            move = PlayCard(kind="play", card=min(allowed, key=lambda c: (rank(c), order(c))))
        after = self.apply(state, seat, move, rng)
        return state if isinstance(after, Rejection) else after

    def max_moves(self, seats: int, options: HeartsOptions) -> int:
        # Every hand hands out at least 26 points, so the highest total grows by at
        # least 6.5 a hand; a hand is at most four passes and 52 cards; one forfeit.
        hands = math.ceil(options.target * SEATS / MOON)
        return hands * (SEATS + SEATS * HAND) + 1


def _exchange(state: State) -> State:
    """Every seat has chosen: the cards go round, and the holder of 2C leads."""
    assert state.passing is not None
    offset = PASS_OFFSETS[state.hand_no % 4]
    chosen = [c or () for c in state.passing]
    received = tuple(chosen[(s - offset) % SEATS] for s in range(SEATS))
    hands = tuple(
        tuple(sorted([c for c in h if c not in chosen[s]] + list(received[s]), key=order))
        for s, h in enumerate(state.hands)
    )
    return _start_play(replace(state, hands=hands, received=received))


def _take_trick(state: State, rng: random.Random) -> State:
    winner = trick_winner(state.trick)
    taken = list(state.taken)
    taken[winner] += sum(points(c) for _, c in state.trick)
    done = replace(
        state,
        trick=(),
        turn=winner,
        taken=tuple(taken),
        tricks=state.tricks + 1,
        last=(state.trick, winner),
    )
    if done.tricks < HAND:
        return done
    shot = MOON in taken  # one seat took every point: the others get them
    added = [0 if t == MOON else MOON for t in taken] if shot else taken
    scores = tuple(s + a for s, a in zip(state.scores, added, strict=True))
    if max(scores) >= state.target:
        low = min(scores)
        winners = tuple(s for s, total in enumerate(scores) if total == low)
        result = Outcome(winners, False, tuple(-float(t) for t in scores), "reached the target")
        return replace(done, scores=scores, result=result)
    return replace(new_hand(scores, state.hand_no + 1, state.target, rng), last=done.last)


def _why_not(card: str, state: State) -> str:
    if state.tricks == 0 and not state.trick:
        return "the two of clubs leads the first trick"
    if state.trick and any(suit(c) == suit(state.trick[0][1]) for c in state.hands[state.turn]):
        return f"follow suit: {suit(state.trick[0][1])} was led"
    if not state.trick:
        return "hearts are not broken yet: lead another suit"
    return "no points on the first trick"


__all__ = ["DECK", "Hearts", "HeartsOptions", "PassCards", "PlayCard", "State", "legal_plays"]
