"""Connect Four by alpha-beta search on bitboards, with a depth limit and a time budget.

The board is two integers, the classic layout: bit ``col * 7 + row`` (row 0 at the
bottom, a spare seventh bit per column so shifts cannot wrap). ``mine`` holds the
discs of the side to move and ``mask`` every disc. Leaves are scored by the open
windows of four each side could still fill, weighted by how full they are.
Search deepens one ply at a time until the depth limit or the time budget.
"""

from __future__ import annotations

import random
import time

from meeple.client.bots.base import MoveDict, View
from meeple.game.games.connect4 import COLS, ROWS

H = ROWS + 1
ORDER = (3, 2, 4, 1, 5, 0, 6)
"""Centre first: better moves first means more cut-offs."""
WIN = 1_000_000
BOTTOM = [1 << (c * H) for c in range(COLS)]
TOP = [1 << (c * H + ROWS - 1) for c in range(COLS)]
COLUMN = [((1 << ROWS) - 1) << (c * H) for c in range(COLS)]
WEIGHTS = (0, 1, 8, 64, 0)
"""A window's worth by how many of its four cells one side holds (and the other none)."""


def _windows() -> list[int]:
    out = []
    for c in range(COLS):
        for r in range(ROWS):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(c + dc * i, r + dr * i) for i in range(4)]
                if all(0 <= x < COLS and 0 <= y < ROWS for x, y in cells):
                    out.append(sum(1 << (x * H + y) for x, y in cells))
    return out


WINDOWS = _windows()


def won(discs: int) -> bool:
    """Four in a row anywhere among ``discs``."""
    for shift in (1, H, H - 1, H + 1):
        pairs = discs & (discs >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def evaluate(mine: int, theirs: int) -> int:
    score = 0
    for w in WINDOWS:
        a, b = w & mine, w & theirs
        if not b:
            score += WEIGHTS[a.bit_count()]
        elif not a:
            score -= WEIGHTS[b.bit_count()]
    return score


class _Timeout(Exception):
    pass


class _Search:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.nodes = 0

    def negamax(self, mine: int, mask: int, depth: int, alpha: int, beta: int) -> int:
        self.nodes += 1
        if self.nodes & 1023 == 0 and time.monotonic() > self.deadline:
            raise _Timeout
        playable = [c for c in ORDER if not mask & TOP[c]]
        if not playable:
            return 0
        for c in playable:
            if won(mine | ((mask + BOTTOM[c]) & COLUMN[c])):
                return WIN + depth  # a win now; deeper remaining depth means sooner
        if depth == 0:
            return evaluate(mine, mine ^ mask)
        best = -WIN * 2
        for c in playable:
            value = -self.negamax(mine ^ mask, mask | (mask + BOTTOM[c]), depth - 1, -beta, -alpha)
            if value > best:
                best = value
            alpha = max(alpha, value)
            if alpha >= beta:
                break
        return best


class AlphaBetaConnect4:
    """The search; ``AlphaBeta`` wraps it as a strategy."""

    def __init__(self, max_depth: int = 7, budget: float = 0.25) -> None:
        self.max_depth = max_depth
        self.budget = budget

    def choose(self, view: View, seat: int, rng: random.Random) -> MoveDict:
        mine = mask = 0
        for c, column in enumerate(view["c"]):
            for r, owner in enumerate(column):
                bit = 1 << (c * H + r)
                mask |= bit
                if owner == seat:
                    mine |= bit
        playable = [c for c in ORDER if not mask & TOP[c]]
        if not playable:
            raise ValueError("the board is full")
        search = _Search(time.monotonic() + self.budget)
        best_cols = playable
        for depth in range(self.max_depth):
            values: dict[int, int] = {}
            top = -WIN * 2
            try:
                for c in playable:
                    after = mask | (mask + BOTTOM[c])
                    if won(mine | (after ^ mask)):
                        value = WIN + depth + 1
                    else:
                        # A window just below the best so far: moves as good as it get
                        # exact values (for a fair random tie-break), worse ones are cut.
                        value = -search.negamax(mine ^ mask, after, depth, -WIN * 2, 1 - top)
                    values[c] = value
                    top = max(top, value)
            except _Timeout:
                break
            best_cols = [c for c in playable if values[c] == top]
            if top >= WIN or top <= -WIN:
                break  # the result is settled; deeper search cannot change it
            playable.sort(key=lambda c: -values[c])  # best first next time: more cut-offs
        return {"col": rng.choice(best_cols)}
