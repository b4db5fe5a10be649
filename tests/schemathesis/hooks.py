"""How schemathesis makes the values whose formats the OpenAPI document names but JSON
Schema cannot spell (loaded with SCHEMATHESIS_HOOKS=tests.schemathesis.hooks)."""

from __future__ import annotations

import random

import chess
import schemathesis
from hypothesis import strategies as st


def legal_positions(count: int = 40, seed: int = 16) -> list[str]:
    """FENs of positions reached by random legal moves, each with a move left to make."""
    rng = random.Random(seed)
    fens: list[str] = []
    while len(fens) < count:
        board = chess.Board()
        for _ in range(rng.randrange(0, 60)):
            moves = list(board.legal_moves)
            if not moves:
                break
            board.push(rng.choice(moves))
        if not board.is_game_over():
            fens.append(board.fen())
    return fens


schemathesis.openapi.format("chess-fen", st.sampled_from(legal_positions()))
# A subscription endpoint is on a push service the server uses (by default, FCM's).
schemathesis.openapi.format(
    "push-endpoint",
    st.from_regex(r"\Ahttps://fcm\.googleapis\.com/fcm/send/[A-Za-z0-9_-]{1,40}\Z"),
)
