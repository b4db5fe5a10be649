"""A small chess searcher: alpha-beta to depth 3 over python-chess, in a time budget.

The evaluation is material, a little for central squares, and mobility counted as
the squares each side's pieces attack (cheap on bitboards and needs no turn flip).
Captures are searched first, biggest victim first, so cut-offs come early. It plays
a sound, dull game and always takes a mate it can see; it is a sparring partner,
not an engine.
"""

from __future__ import annotations

import random
import time

import chess

from meeple.client.bots.base import MoveDict, View
from meeple.client.bots.rules import chess_board, chess_moves

VALUES = {
    chess.PAWN: 100,
    chess.KNIGHT: 320,
    chess.BISHOP: 330,
    chess.ROOK: 500,
    chess.QUEEN: 900,
    chess.KING: 0,
}
MATE = 100_000
CENTRE = chess.BB_D4 | chess.BB_E4 | chess.BB_D5 | chess.BB_E5
MOBILE = (chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN)


def evaluate(board: chess.Board) -> int:
    """The position for the side to move, in centipawns."""
    score = 0
    for color, sign in ((chess.WHITE, 1), (chess.BLACK, -1)):
        for piece_type, value in VALUES.items():
            pieces = board.pieces_mask(piece_type, color)
            score += sign * value * pieces.bit_count()
            if piece_type in MOBILE:
                for square in chess.scan_forward(pieces):
                    score += sign * 2 * board.attacks_mask(square).bit_count()
        pawns_and_minors = board.pieces_mask(chess.PAWN, color) | board.pieces_mask(
            chess.KNIGHT, color
        )
        score += sign * 15 * (pawns_and_minors & CENTRE).bit_count()
    return score if board.turn == chess.WHITE else -score


def _ordered(board: chess.Board) -> list[chess.Move]:
    def key(move: chess.Move) -> int:
        victim = board.piece_type_at(move.to_square)
        gain = VALUES[victim] if victim else (80 if board.is_en_passant(move) else 0)
        return -(gain + (800 if move.promotion else 0))

    return sorted(board.legal_moves, key=key)


class _Timeout(Exception):
    pass


class _Search:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.nodes = 0

    def negamax(self, board: chess.Board, depth: int, ply: int, alpha: int, beta: int) -> int:
        self.nodes += 1
        if self.nodes & 255 == 0 and time.monotonic() > self.deadline:
            raise _Timeout
        if depth == 0:
            if not any(board.generate_legal_moves()):
                return -(MATE - ply) if board.is_check() else 0
            return evaluate(board)
        moves = _ordered(board)
        if not moves:
            return -(MATE - ply) if board.is_check() else 0
        if board.is_insufficient_material() or board.halfmove_clock >= 100:
            return 0
        best = -MATE * 2
        for move in moves:
            board.push(move)
            try:
                value = -self.negamax(board, depth - 1, ply + 1, -beta, -alpha)
            finally:
                board.pop()
            if value > best:
                best = value
            alpha = max(alpha, value)
            if alpha >= beta:
                break
        return best


class ChessSearcher:
    """Iterative deepening to ``max_depth`` plies or ``budget`` seconds, whichever first."""

    def __init__(self, max_depth: int = 3, budget: float = 0.3) -> None:
        self.max_depth = max_depth
        self.budget = budget

    def choose(self, view: View, seat: int, rng: random.Random) -> MoveDict:
        board = chess_board(view)
        legal = chess_moves(board, view, seat)
        if not legal:
            raise ValueError("no legal move in this position")
        uci = self.best_move(board, rng)
        if uci is None:
            return legal[0]
        # Behind by more than a pawn: a draw on offer or to claim is worth taking.
        if evaluate(board) < -150:
            for move in legal:
                if move["kind"] in ("accept_draw", "claim_draw"):
                    return move
        return {"kind": "move", "uci": uci}

    def best_move(self, board: chess.Board, rng: random.Random) -> str | None:
        moves = _ordered(board)
        if not moves:
            return None
        search = _Search(time.monotonic() + self.budget)
        best = [moves[0]]
        for depth in range(self.max_depth):
            values: dict[chess.Move, int] = {}
            top = -MATE * 2
            try:
                for move in moves:
                    board.push(move)
                    try:
                        # A position seen before counts as a draw: winning sides play
                        # on instead of shuffling, losing sides steer into it.
                        if board.is_repetition(2):
                            value = 0
                        else:
                            value = -search.negamax(board, depth, 1, -MATE * 2, 1 - top)
                    finally:
                        board.pop()
                    values[move] = value
                    top = max(top, value)
            except _Timeout:
                break
            best = [m for m in moves if values[m] == top]
            if top >= MATE - 100:
                break  # a forced mate: take it
            moves.sort(key=lambda m: -values[m])
        return rng.choice(best).uci()
