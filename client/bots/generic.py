"""Bots for any game, on the pure Game API: random legal moves, and a budgeted Monte Carlo
tree search for games without hidden information.

Both work on the game's state and its own rules (``meeple.game``), not on a view, so
they play every game, installed or written yesterday. The server runs them for its bot
seats when no strategy of the game's own is installed: a state is fair to search only
when nothing in it is hidden, so hidden-information games get random legal moves
(which leak nothing: they are the seat's own). A bot elsewhere, with a view only, asks
the server for its legal moves instead (``RoomConnection.legal_moves``).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from meeple.client.bots.base import MoveDict
from meeple.game.api import Game, Outcome, Rejection

AnyGame = Game[Any, Any, Any]


def random_move(game: AnyGame, state: Any, seat: int, rng: random.Random) -> MoveDict:
    """Any legal move, uniformly, as the wire carries it."""
    moves = game.legal_moves(state, seat)
    if not moves:
        raise ValueError(f"seat {seat} has no legal move in this {game.name} state")
    dumped: MoveDict = game.move_adapter().dump_python(rng.choice(moves), mode="json")
    return dumped


def scores(outcome: Outcome | None, seats: int) -> list[float]:
    """Each seat's result in [0, 1]: the share of other seats it finished above (ties
    count half). Wins, draws and scores of any size all fit, so UCB1 needs no tuning."""
    if outcome is None or seats < 2:
        return [0.5] * seats
    r = outcome.returns
    return [
        sum(1.0 if r[s] > r[o] else 0.5 if r[s] == r[o] else 0.0 for o in range(seats) if o != s)
        / (seats - 1)
        for s in range(seats)
    ]


@dataclass(eq=False)
class _Node:
    state: Any
    mover: int | None
    """The seat whose move the children are (the lowest seat to act); None at the end."""
    untried: list[Any]
    children: list[tuple[Any, _Node]] = field(default_factory=list)
    visits: int = 0
    totals: list[float] = field(default_factory=list)


class GameSearch:
    """UCT (UCB1 over a tree of the game's own states) with random playouts, bounded by
    ``iterations`` and by ``budget`` seconds, whichever comes first. When several seats
    act at once, the tree takes them one by one, lowest first, as the match allows."""

    def __init__(
        self, iterations: int = 4000, budget: float = 0.2, c: float = 1.4, playout: int = 200
    ) -> None:
        self.iterations = iterations
        self.budget = budget
        self.c = c
        self.playout = playout
        """Moves a playout makes at most; one still going then scores as even."""

    def choose(
        self, game: AnyGame, state: Any, seat: int, seats: int, rng: random.Random
    ) -> MoveDict:
        """The move for ``seat`` (to act in ``state``, a match of ``seats`` seats)."""
        root = _Node(state, seat, list(game.legal_moves(state, seat)), totals=[0.0] * seats)
        if not root.untried:
            raise ValueError(f"seat {seat} has no legal move in this {game.name} state")
        if len(root.untried) == 1:
            return _dump(game, root.untried[0])
        deadline = time.monotonic() + self.budget
        for i in range(self.iterations):
            if i & 15 == 0 and time.monotonic() > deadline:
                break
            path = [root]
            node = root
            while not node.untried and node.children:  # select
                node = self._select(node)
                path.append(node)
            if node.untried and node.mover is not None:  # expand
                move = node.untried.pop(rng.randrange(len(node.untried)))
                child = self._child(game, node, move, seats, rng)
                if child is not None:
                    node.children.append((move, child))
                    path.append(child)
                    node = child
            result = self._rollout(game, node.state, seats, rng)
            for visited in path:  # back up
                visited.visits += 1
                for s in range(seats):
                    visited.totals[s] += result[s]
        best = max(root.children, key=lambda mc: mc[1].visits)
        return _dump(game, best[0])

    def _select(self, node: _Node) -> _Node:
        log_n = math.log(node.visits)
        mover = node.mover if node.mover is not None else 0

        def ucb(child: _Node) -> float:
            mean = child.totals[mover] / child.visits
            return mean + self.c * math.sqrt(log_n / child.visits)

        return max((child for _, child in node.children), key=ucb)

    def _child(
        self, game: AnyGame, node: _Node, move: Any, seats: int, rng: random.Random
    ) -> _Node | None:
        assert node.mover is not None
        after = game.apply(node.state, node.mover, move, rng)
        if isinstance(after, Rejection):
            return None  # listed but refused: a bug in the game; search around it
        mover = _mover(game, after)
        untried = list(game.legal_moves(after, mover)) if mover is not None else []
        return _Node(after, mover, untried, totals=[0.0] * seats)

    def _rollout(self, game: AnyGame, state: Any, seats: int, rng: random.Random) -> list[float]:
        for _ in range(self.playout):
            mover = _mover(game, state)
            if mover is None:
                return scores(game.outcome(state), seats)
            moves = game.legal_moves(state, mover)
            after = game.apply(state, mover, rng.choice(moves), rng) if moves else None
            if after is None or isinstance(after, Rejection):
                break
            state = after
        return scores(game.outcome(state), seats)


def _mover(game: AnyGame, state: Any) -> int | None:
    if game.outcome(state) is not None:
        return None
    acting = game.to_act(state)
    return min(acting) if acting else None


def _dump(game: AnyGame, move: Any) -> MoveDict:
    dumped: MoveDict = game.move_adapter().dump_python(move, mode="json")
    return dumped


__all__ = ["GameSearch", "random_move", "scores"]
