"""The games the tests play: every installed one, found the way a server finds them.

Tests that hold for every game parametrize over ``NAMES``, so installing a game (the
example package, say) checks it too, and adding one can never turn them red.
"""

from __future__ import annotations

from meeple.lobby.games import build_games

GAMES = build_games().registry
NAMES = sorted(GAMES)
