"""Liar's Dice by determinized Monte Carlo search: UCB1 over our moves, sampled dice.

Each playout deals the other seats random dice (we know only how many they hold),
makes one of our candidate moves, and plays the rest of the round out with every
seat following a simple rule with its own (dealt) dice: challenge a bid above what
you can expect to be on the table, else raise on your strongest face. Only the
current round is played out: losing it costs a die, which is what the game is made
of, so a playout scores 1 if the lost die is not ours. UCB1 spends the playouts on
the moves that look best (a one-level Monte Carlo tree search).

Why not a deeper tree: in a tree of public actions the other seats' choices are
averaged over every deal, so they play as if blind to their own dice, and the
search learns to exploit an opponent that does not exist. Playouts where each seat
looks at its own dice model the table better and play markedly stronger.

Bids are pruned to a few per face near the lowest legal one and near the expected
count. Playouts and time are both bounded, so a move takes well under 0.2 s.
"""

from __future__ import annotations

import math
import random
import time

from meeple.client.bots.base import MoveDict, View

FACES = 6
Action = tuple[int, int]
"""A bid ``(qty, face)``, or ``CHALLENGE``."""
CHALLENGE: Action = (0, 0)


def matching(hand: list[int], face: int, wild: bool) -> int:
    """How many dice of ``hand`` count towards a bid on ``face``."""
    ones = wild and face != 1
    return sum(1 for v in hand if v == face or (ones and v == 1))


def chance(face: int, wild: bool) -> float:
    """How likely one unseen die counts towards a bid on ``face``."""
    return 2 / FACES if wild and face != 1 else 1 / FACES


def candidates(last: Action | None, total: int, wild: bool) -> list[Action]:
    """The actions the tree considers: challenge, and per face the lowest legal bids."""
    actions: list[Action] = [] if last is None else [CHALLENGE]
    for face in range(1, FACES + 1):
        low = 1 if last is None else last[0] if face > last[1] else last[0] + 1
        likely = int(total * chance(face, wild))
        for qty in sorted({low, low + 1, likely}):
            if low <= qty <= total:
                actions.append((qty, face))
    return actions


class LiarsDiceMCTS:
    """The search; ``MCTS`` wraps it as a strategy."""

    def __init__(self, iterations: int = 3000, budget: float = 0.1, c: float = 0.5) -> None:
        self.iterations = iterations
        self.budget = budget
        self.c = c

    def choose(self, view: View, seat: int, rng: random.Random) -> MoveDict:
        counts: list[int] = list(view["n"])
        own: list[int] = list(view["d"])
        wild = bool(view["w"])
        total = sum(counts)
        bids = view["b"]
        last: Action | None = (bids[-1][1], bids[-1][2]) if bids else None
        bidder: int = bids[-1][0] if bids else -1
        actions = candidates(last, total, wild)
        if len(actions) == 1:
            return _as_move(actions[0])
        seats = [s for s, n in enumerate(counts) if n > 0]
        visits = dict.fromkeys(actions, 0)
        wins = dict.fromkeys(actions, 0)
        deadline = time.monotonic() + self.budget
        for i in range(self.iterations):
            if i & 15 == 0 and time.monotonic() > deadline:
                break
            if i < len(actions):
                action = actions[i]
            else:
                log_n = math.log(i)
                action = max(
                    actions,
                    key=lambda a: wins[a] / visits[a] + self.c * math.sqrt(log_n / visits[a]),
                )
            hands = [
                own if s == seat else [rng.randint(1, FACES) for _ in range(n)]
                for s, n in enumerate(counts)
            ]
            loser = _playout(hands, seats, seat, action, last, bidder, total, wild, rng)
            visits[action] += 1
            wins[action] += loser != seat
        best = max(actions, key=lambda a: (wins[a] / max(1, visits[a]), visits[a]))
        return _as_move(best)


def _playout(
    hands: list[list[int]],
    seats: list[int],
    actor: int,
    action: Action,
    last: Action | None,
    bidder: int,
    total: int,
    wild: bool,
    rng: random.Random,
) -> int:
    """Play the round out from ``actor`` making ``action``; the seat that loses a die."""
    while action != CHALLENGE:
        last, bidder = action, actor
        actor = seats[(seats.index(actor) + 1) % len(seats)]
        action = rule(hands[actor], last, total, wild, rng)
    assert last is not None
    holds = sum(matching(h, last[1], wild) for h in hands) >= last[0]
    return actor if holds else bidder


def rule(
    hand: list[int], last: Action | None, total: int, wild: bool, rng: random.Random
) -> Action:
    """The playout rule: doubt what you cannot expect, else raise on your strongest face."""
    unseen = total - len(hand)

    def expected(face: int) -> float:
        return matching(hand, face, wild) + unseen * chance(face, wild)

    slack = rng.uniform(0.0, 1.0)
    if last is not None and last[0] > expected(last[1]) + slack:
        return CHALLENGE
    face = max(range(1, FACES + 1), key=lambda f: (expected(f), rng.random()))
    if last is None:
        qty = max(1, int(expected(face)) - 1)
    else:
        qty = last[0] if face > last[1] else last[0] + 1
    if last is not None and (qty > total or qty > expected(face) + slack):
        return CHALLENGE
    return (min(qty, total), face)


def _as_move(action: Action) -> MoveDict:
    if action == CHALLENGE:
        return {"kind": "challenge"}
    return {"kind": "bid", "qty": action[0], "face": action[1]}
