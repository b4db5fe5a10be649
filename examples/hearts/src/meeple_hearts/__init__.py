"""Hearts for Meeple: a game package (rules, a browser board, a bot) that Meeple finds
through its entry points, with nothing of Meeple edited."""

from meeple_hearts.game import Hearts

__all__ = ["Hearts"]
