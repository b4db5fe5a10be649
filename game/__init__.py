"""Meeple's pure core: game rules, the match state machine, views, deltas and their encoding.

Nothing in this package does I/O, reads a clock or runs an event loop; everything
is tested by calling functions. What a game author writes against is here::

    from meeple.game import Game, MoveModel, Options, Outcome, Rejection, View, draw, win
"""

from meeple.game.api import (
    SPECTATOR,
    Game,
    MoveModel,
    Options,
    Outcome,
    Rejection,
    View,
    draw,
    win,
)

__all__ = [
    "SPECTATOR",
    "Game",
    "MoveModel",
    "Options",
    "Outcome",
    "Rejection",
    "View",
    "draw",
    "win",
]
