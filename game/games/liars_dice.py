"""Liar's Dice (Perudo): bid on everyone's hidden dice, call the liar, lose dice.

The rules as implemented, exactly:

* Every seat starts with ``dice_per_player`` dice (1 to 5). At the start of each
  round every seat still in rolls all its dice in secret; each seat sees only its
  own dice, plus how many dice every seat holds.
* Seat 0 opens the first round. Play goes round the table in seat order,
  skipping seats with no dice.
* A bid ``(qty, face)`` claims that at least ``qty`` of all the dice in play show
  ``face`` (1 to 6). With ``ones_wild`` (the default), ones count as every face
  except when the bid is on ones itself, which counts ones only.
* A bid must rise: a higher quantity with any face, or the same quantity with a
  higher face. That is the whole ordering, ones included: no halving rule, so a
  bid on ones simply ranks below twos of the same quantity. A quantity above the
  number of dice in play is refused (``bad_bid``), as is a bid that does not rise
  (``bid_too_low``).
* Instead of bidding, the seat to act may challenge the last bid (``liar``);
  the opener of a round cannot, as there is no bid yet (``no_bid_to_challenge``).
  All dice are revealed and counted. If the bid holds (the count is at least its
  quantity) the challenger loses a die, otherwise the bidder does.
* The loser of a round opens the next one; if that was its last die, the next
  seat after it with dice opens instead. A seat with no dice is out; the last
  seat with dice wins (returns 1 for it, 0 for everyone else).

Two events the table rules do not cover, decided here:

* A turn timeout costs the seat on the clock one die and ends the round, like a
  lost challenge but with nothing revealed; the next round is rolled at once and
  opened as after any lost round. Losing a die is milder than forfeiting the game
  and keeps a slow player in; repeated timeouts still knock it out.
* A forfeit takes all of the seat's dice out of play at once. ``forfeit`` has no
  random generator, so nothing is re-rolled: the other seats keep this round's
  dice, and the round's bids are cleared (they were claims about dice that are no
  longer in play, and a bid by the leaving seat could no longer be paid for).
  Bidding restarts with the seat to act, or, if the forfeiting seat was to act,
  with the next seat that has dice. A forfeit by a seat already out changes
  nothing.

The state keeps the last round's ending (``last``), with every die of that round
when it ended in a challenge: after a challenge those dice are public, so every
view shows them until the next round ends.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from meeple.game.api import (
    GAME_OVER,
    NOT_YOUR_TURN,
    Game,
    MoveModel,
    Options,
    Outcome,
    Rejection,
    View,
    win,
)

FACES = 6
MAX_SEATS = 6
MAX_DICE = 5
LAST_STANDING = "last player with dice"

Dice: TypeAlias = tuple[int, ...]


class Bid(MoveModel):
    """Claim that at least ``qty`` of all the dice in play show ``face``."""

    kind: Literal["bid"]
    qty: int = Field(ge=1, le=MAX_SEATS * MAX_DICE)
    face: int = Field(ge=1, le=FACES)


class Challenge(MoveModel):
    """Call the last bid a lie: every die is revealed and counted."""

    kind: Literal["challenge"]


Move: TypeAlias = Annotated[Bid | Challenge, Field(discriminator="kind")]


class LiarsDiceOptions(Options):
    dice_per_player: int = Field(
        default=MAX_DICE,
        ge=1,
        le=MAX_DICE,
        title="Dice per player",
        description="Each player's dice at the start.",
    )
    ones_wild: bool = Field(
        default=True, title="Ones are wild", description="Ones count as every face in a bid."
    )
    turn_seconds: float | None = Field(
        default=None,
        gt=0,
        le=86400,
        title="Seconds per turn",
        description="A time limit on every turn; none if left empty.",
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A bid made this round, and who made it."""

    seat: int
    qty: int
    face: int


@dataclass(frozen=True, slots=True)
class RoundEnd:
    """How the previous round ended: public once it has happened."""

    how: Literal["challenge", "timeout"]
    loser: int
    challenger: int | None = None
    bid: Claim | None = None
    count: int = 0
    """How many dice matched the challenged bid (ones included when wild)."""
    dice: tuple[Dice, ...] = ()
    """Every seat's dice in that round, revealed by the challenge."""


@dataclass(frozen=True, slots=True)
class State:
    dice: tuple[Dice, ...]
    """Per seat, its dice this round, sorted; empty once the seat is out. Secret."""
    turn: int
    ones_wild: bool
    bids: tuple[Claim, ...] = ()
    round_no: int = 1
    last: RoundEnd | None = None
    reason: str = LAST_STANDING
    """Why the game ends if it has just ended: the last forfeit's reason, or the default."""


class LiarsDice(Game[State, Move, LiarsDiceOptions]):
    name = "liarsdice"
    title = "Liar's Dice"
    min_seats = 2
    max_seats = MAX_SEATS
    options = LiarsDiceOptions
    move = Move
    hidden_information = True
    board = "meeple.client:web/boards/liarsdice.js"
    description = (
        "Everyone rolls in secret, then bids on how many dice on the table show a "
        "face, each bid higher than the last, until someone calls the last bid a "
        "lie. The loser of each challenge loses a die; the last player with dice wins."
    )

    def setup(self, seats: int, options: LiarsDiceOptions, rng: random.Random) -> State:
        return State(
            dice=_roll([options.dice_per_player] * seats, rng),
            turn=0,
            ones_wild=options.ones_wild,
        )

    def to_act(self, state: State) -> tuple[int, ...]:
        return () if _over(state) else (state.turn,)

    def legal_moves(self, state: State, seat: int) -> list[Move]:
        if _over(state) or seat != state.turn:
            return []
        total = _in_play(state)
        moves: list[Move] = []
        if state.bids:
            moves.append(Challenge(kind="challenge"))
            last = state.bids[-1]
            start = (last.qty, last.face + 1) if last.face < FACES else (last.qty + 1, 1)
        else:
            start = (1, 1)
        qty, face = start
        while qty <= total:
            moves.append(Bid(kind="bid", qty=qty, face=face))
            qty, face = (qty, face + 1) if face < FACES else (qty + 1, 1)
        return moves

    def apply(self, state: State, seat: int, move: Move, rng: random.Random) -> State | Rejection:
        # The match checks turn and game over first; checking again keeps the
        # rules safe to call directly (bots, tests).
        if _over(state):
            return Rejection(GAME_OVER, "the game is over")
        if seat != state.turn:
            return Rejection(NOT_YOUR_TURN, f"it is seat {state.turn}'s turn")
        if isinstance(move, Challenge):
            return self._challenge(state, seat, rng)
        total = _in_play(state)
        if move.qty > total:
            return Rejection("bad_bid", f"there are only {total} dice in play")
        if state.bids:
            last = state.bids[-1]
            if (move.qty, move.face) <= (last.qty, last.face):
                return Rejection(
                    "bid_too_low",
                    f"the bid to beat is {last.qty} x {last.face}: bid more dice, "
                    "or as many of a higher face",
                )
        claim = Claim(seat, move.qty, move.face)
        return replace(state, bids=(*state.bids, claim), turn=_next_in(state.dice, seat))

    def _challenge(self, state: State, seat: int, rng: random.Random) -> State | Rejection:
        if not state.bids:
            return Rejection(
                "no_bid_to_challenge", "there is no bid to challenge yet: open with a bid"
            )
        bid = state.bids[-1]
        count = count_matching(state.dice, bid.face, state.ones_wild)
        loser = seat if count >= bid.qty else bid.seat
        ending = RoundEnd("challenge", loser, seat, bid, count, state.dice)
        return _next_round(state, ending, rng)

    def outcome(self, state: State) -> Outcome | None:
        alive = [s for s, d in enumerate(state.dice) if d]
        if len(alive) == 1:
            return win(alive[0], len(state.dice), state.reason)
        return None

    def view(self, state: State, seat: int | None) -> View:
        # Everything here is public except "d": a seat's own dice, which only that
        # seat gets (a spectator gets no "d" at all). Dice counts ("n"), the bids
        # of this round ("b", [seat, qty, face], growing by appends), the round
        # ("r"), the rule ("w": ones wild) and how the last round ended ("x", with
        # every die when it was a challenge). Whose turn it is is not here: every
        # change says who acts next (the message's "a"), so it would travel twice.
        view: View = {
            "n": [len(d) for d in state.dice],
            "b": [[c.seat, c.qty, c.face] for c in state.bids],
            "r": state.round_no,
            "w": state.ones_wild,
            "x": _ending_view(state.last),
        }
        if seat is not None:
            view["d"] = list(state.dice[seat])
        return view

    def max_moves(self, seats: int, options: LiarsDiceOptions) -> int:
        # Every round costs one die, and bids rise through (qty, face) up to the dice in
        # play, so a round has at most 6 bids per die and one challenge; and one forfeit
        # per seat.
        dice = seats * options.dice_per_player
        return (dice - 1) * (FACES * dice + 1) + seats

    def forfeit(self, state: State, seat: int, reason: str) -> State:
        # No rng here, so no re-roll: see the module docstring.
        if _over(state) or not state.dice[seat]:
            return state
        dice = list(state.dice)
        dice[seat] = ()
        turn = _next_in(dice, seat) if state.turn == seat else state.turn
        return replace(state, dice=tuple(dice), turn=turn, bids=(), reason=reason or "forfeit")

    def on_timeout(self, state: State, seat: int, rng: random.Random) -> State:
        # Losing one die, not the game: see the module docstring.
        if _over(state) or seat != state.turn:
            return state
        return _next_round(state, RoundEnd("timeout", seat), rng)


def count_matching(dice: Iterable[Dice], face: int, ones_wild: bool) -> int:
    """How many dice count towards a bid on ``face``."""
    wild = ones_wild and face != 1
    return sum(1 for d in dice for v in d if v == face or (wild and v == 1))


def _roll(counts: Iterable[int], rng: random.Random) -> tuple[Dice, ...]:
    """Fresh dice for each seat, in seat order, sorted (order carries no information)."""
    return tuple(tuple(sorted(rng.randint(1, FACES) for _ in range(n))) for n in counts)


def _in_play(state: State) -> int:
    return sum(len(d) for d in state.dice)


def _over(state: State) -> bool:
    return sum(1 for d in state.dice if d) <= 1


def _next_in(dice: Iterable[Dice], seat: int) -> int:
    """The next seat after ``seat``, in seat order, that still has dice."""
    hands = list(dice)
    n = len(hands)
    for step in range(1, n + 1):
        candidate = (seat + step) % n
        if hands[candidate]:
            return candidate
    return seat


def _next_round(state: State, ending: RoundEnd, rng: random.Random) -> State:
    """The loser gives up a die, everyone re-rolls, and the loser (if still in) opens."""
    counts = [len(d) for d in state.dice]
    counts[ending.loser] -= 1
    dice = _roll(counts, rng)
    opener = ending.loser if dice[ending.loser] else _next_in(dice, ending.loser)
    return State(
        dice=dice,
        turn=opener,
        ones_wild=state.ones_wild,
        bids=(),
        round_no=state.round_no + 1,
        last=ending,
        reason=LAST_STANDING,
    )


def _ending_view(ending: RoundEnd | None) -> View | None:
    if ending is None:
        return None
    if ending.how == "timeout" or ending.bid is None:
        return {"k": "timeout", "l": ending.loser}
    bid = ending.bid
    return {
        "k": "challenge",
        "l": ending.loser,
        "c": ending.challenger,
        "b": [bid.seat, bid.qty, bid.face],
        "n": ending.count,
        "d": [list(d) for d in ending.dice],
    }
