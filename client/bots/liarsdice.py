"""Liar's Dice by determinized Monte Carlo tree search (single-observer ISMCTS).

Each iteration deals the other seats random dice (we know only how many they hold),
walks a tree of public actions (bids and challenges) by UCB, adds one node, and
plays the rest of the round out by a simple rule: challenge a bid above what you
can expect to be on the table, else raise on your best face. Only the current round
is played out: losing it costs a die, which is what the game is made of, so each
seat's reward is 1 if the round's lost die is not its own.

The tree's actions depend only on public facts (the last bid, the dice in play), so
one tree serves every deal. Bids are pruned to a few per face near the lowest legal
one. Iterations and time are both bounded, so a move takes well under 0.2 s.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

from client.bots.base import MoveDict, View

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


@dataclass
class Node:
    """Per action from this public history: [visits, total reward of the seat acting here]."""

    stats: dict[Action, list[float]] = field(default_factory=dict)
    children: dict[Action, Node] = field(default_factory=dict)


class LiarsDiceMCTS:
    """The search; ``MCTS`` wraps it as a strategy."""

    def __init__(self, iterations: int = 3000, budget: float = 0.12, c: float = 0.7) -> None:
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
        last_bidder: int = bids[-1][0] if bids else -1
        root_actions = candidates(last, total, wild)
        if len(root_actions) == 1:
            return _as_move(root_actions[0])
        seats = [s for s, n in enumerate(counts) if n > 0]
        root = Node()
        deadline = time.monotonic() + self.budget
        for i in range(self.iterations):
            if i & 31 == 0 and time.monotonic() > deadline:
                break
            hands = [
                own if s == seat else [rng.randint(1, FACES) for _ in range(n)]
                for s, n in enumerate(counts)
            ]
            self._iterate(root, hands, seats, seat, last, last_bidder, total, wild, rng)
        best = max(root.stats.items(), key=lambda item: (item[1][0], item[1][1]))
        return _as_move(best[0])

    def _iterate(
        self,
        root: Node,
        hands: list[list[int]],
        seats: list[int],
        actor: int,
        last: Action | None,
        bidder: int,
        total: int,
        wild: bool,
        rng: random.Random,
    ) -> None:
        path: list[tuple[Node, Action, int]] = []
        node: Node | None = root
        while True:
            if node is not None:
                action, node = self._tree_step(node, last, total, wild, actor, path, rng)
            else:
                action = self._rollout_step(hands[actor], last, total, wild, rng)
            if action == CHALLENGE:
                assert last is not None
                holds = sum(matching(h, last[1], wild) for h in hands) >= last[0]
                loser = actor if holds else bidder
                break
            last, bidder = action, actor
            actor = seats[(seats.index(actor) + 1) % len(seats)]
        for at, act, who in path:
            stat = at.stats[act]
            stat[0] += 1
            stat[1] += 0.0 if who == loser else 1.0

    def _tree_step(
        self,
        node: Node,
        last: Action | None,
        total: int,
        wild: bool,
        actor: int,
        path: list[tuple[Node, Action, int]],
        rng: random.Random,
    ) -> tuple[Action, Node | None]:
        """Pick by UCB (or add an untried action); the child node, None once we left the tree."""
        actions = candidates(last, total, wild)
        untried = [a for a in actions if a not in node.stats]
        if untried:
            action = rng.choice(untried)
            node.stats[action] = [0.0, 0.0]
            path.append((node, action, actor))
            return action, None
        visits = sum(node.stats[a][0] for a in actions)
        log_n = math.log(visits + 1)

        def ucb(a: Action) -> float:
            n, w = node.stats[a]
            return w / n + self.c * math.sqrt(log_n / n) if n else math.inf

        action = max(actions, key=ucb)
        path.append((node, action, actor))
        return action, node.children.setdefault(action, Node())

    @staticmethod
    def _rollout_step(
        hand: list[int], last: Action | None, total: int, wild: bool, rng: random.Random
    ) -> Action:
        """A plain rule: doubt what you cannot expect, else raise on your strongest face."""
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
