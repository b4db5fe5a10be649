"""What a bot strategy is: a choice of move from one seat's view.

A strategy sees exactly what the seat's connection sees (the view from ``snap`` and
``d``), never the server's state, so the same code plays over the network, in local
tests and, if the server wants, for an abandoned seat. Randomness comes in as an
argument so a test can seed it.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, ClassVar

MoveDict = dict[str, Any]
"""A move as it goes on the wire, e.g. ``{"cell": 4}``."""
View = dict[str, Any]


class Strategy(ABC):
    """Picks a move for ``seat`` from its ``view``; a pure function of its arguments.

    Searches with a time budget are pure up to that budget: a slower machine may
    search less deep.
    """

    name: ClassVar[str]
    games: ClassVar[frozenset[str]]
    """The games this strategy can play."""

    def supports(self, game: str) -> bool:
        return game in self.games

    @abstractmethod
    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        """The move to make; only called when ``seat`` is to act."""

    def _unsupported(self, game: str) -> ValueError:
        return ValueError(f"strategy {self.name!r} does not play {game!r}")
