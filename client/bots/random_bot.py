"""The random player: any legal move, uniformly. Every game's baseline and smoke test."""

from __future__ import annotations

import random

from meeple.client.bots.base import MoveDict, Strategy, View
from meeple.client.bots.rules import GAMES, legal_moves


class RandomStrategy(Strategy):
    name = "random"
    games = GAMES

    def choose(self, game: str, view: View, seat: int, rng: random.Random) -> MoveDict:
        moves = legal_moves(game, view, seat)
        if not moves:
            raise ValueError(f"seat {seat} has no legal move in this {game} view")
        return rng.choice(moves)
