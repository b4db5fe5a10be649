"""A Hearts bot from one seat's view: Meeple finds it through the entry point group
``meeple.bots``, and plays it for bot seats (``"best"``) and in ``meeple bot``.

It plays the usual safe game: pass the queen, king and ace of spades and high hearts;
duck under the trick when following; when void, drop the queen of spades, then high
hearts, then the highest card; lead low.
"""

from __future__ import annotations

import random
from typing import Any

from meeple.client.bots import Strategy
from meeple_hearts.game import PASS, QUEEN_OF_SPADES, legal_plays, points, rank, suit


def danger(card: str) -> tuple[int, int]:
    """How much a card should go: the queen and the spades above it first, then hearts
    by rank, then the rest by rank."""
    if card == QUEEN_OF_SPADES or (suit(card) == "S" and rank(card) > rank(QUEEN_OF_SPADES)):
        return 3, rank(card)
    return (2 if suit(card) == "H" else 1), rank(card)


class HeartsBot(Strategy):
    name = "hearts"
    games = frozenset({"hearts"})

    def choose(
        self, game: str, view: dict[str, Any], seat: int, rng: random.Random
    ) -> dict[str, Any]:
        if game != "hearts":
            raise self._unsupported(game)
        hand = tuple(view["h"])
        if view["p"] == "pass":
            return {"kind": "pass", "cards": sorted(hand, key=danger)[-PASS:]}
        trick = tuple((s, c) for s, c in view["t"])
        allowed = legal_plays(hand, trick, view["hb"], view["k"] == 0)
        return {"kind": "play", "card": self._pick(allowed, trick, rng)}

    def _pick(
        self, allowed: list[str], trick: tuple[tuple[int, str], ...], rng: random.Random
    ) -> str:
        if not trick:  # lead: the lowest card, of a random suit among the lowest
            low = min(rank(c) for c in allowed)
            return rng.choice([c for c in allowed if rank(c) == low])
        led = suit(trick[0][1])
        if suit(allowed[0]) == led:  # following: the highest card that still loses
            top = max(rank(c) for _, c in trick if suit(c) == led)
            under = [c for c in allowed if rank(c) < top]
            if under:
                return max(under, key=rank)
            if len(trick) == 3 and not any(points(c) for _, c in trick):
                return max(allowed, key=rank)  # it is ours anyway, and clean: win high
            return min(allowed, key=rank)
        return max(allowed, key=danger)  # void: get rid of the worst


__all__ = ["HeartsBot"]
