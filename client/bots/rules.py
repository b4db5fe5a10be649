"""Legal moves from a view, by rebuilding enough of the game's state to ask its rules.

The views carry what is needed: the board for tic-tac-toe and Connect Four, the
starting FEN and move list for chess, and for Liar's Dice the bids, the dice counts
and our own dice (the others' dice do not change which moves are legal, so they
are filled with placeholders here and sampled by the searching strategy).
"""

from __future__ import annotations

from collections.abc import Sequence

import chess

from meeple.client.bots.base import MoveDict, View
from meeple.game.games import connect4, liars_dice, tictactoe

TICTACTOE = tictactoe.TicTacToe()
CONNECT4 = connect4.ConnectFour()
LIARSDICE = liars_dice.LiarsDice()
GAMES = frozenset({"tictactoe", "connect4", "chess", "liarsdice"})


def tictactoe_state(view: View, seat: int) -> tictactoe.State:
    cells = tuple(None if c == -1 else int(c) for c in view["b"])
    return tictactoe.State(cells=cells, turn=seat)


def connect4_state(view: View, seat: int) -> connect4.State:
    return connect4.State(cols=tuple(tuple(col) for col in view["c"]), turn=seat)


def chess_board(view: View) -> chess.Board:
    """The position: the starting FEN with every move played since."""
    board = chess.Board(view["s"])
    for uci in view["m"]:
        board.push(chess.Move.from_uci(uci))
    return board


def chess_moves(board: chess.Board, view: View, seat: int) -> list[MoveDict]:
    """As ``game.games.chess`` lists them: every move, then a claim and an acceptance if open."""
    moves: list[MoveDict] = [{"kind": "move", "uci": m.uci()} for m in board.legal_moves]
    if board.halfmove_clock >= 7 and board.can_claim_draw():
        moves.append({"kind": "claim_draw"})
    if view.get("d") == 1 - seat:
        moves.append({"kind": "accept_draw"})
    return moves


def liarsdice_state(
    view: View, seat: int, hands: Sequence[Sequence[int]] | None = None
) -> liars_dice.State:
    """The round as ``seat`` knows it; ``hands`` fills in everyone's dice if given."""
    if hands is None:
        hands = [view["d"] if s == seat else [1] * n for s, n in enumerate(view["n"])]
    return liars_dice.State(
        dice=tuple(tuple(sorted(h)) for h in hands),
        turn=seat,
        ones_wild=bool(view["w"]),
        bids=tuple(liars_dice.Claim(s, q, f) for s, q, f in view["b"]),
        round_no=int(view["r"]),
    )


def legal_moves(game: str, view: View, seat: int) -> list[MoveDict]:
    """Every move ``seat`` may make now, as wire dicts."""
    if game == "tictactoe":
        return [m.model_dump() for m in TICTACTOE.legal_moves(tictactoe_state(view, seat), seat)]
    if game == "connect4":
        return [m.model_dump() for m in CONNECT4.legal_moves(connect4_state(view, seat), seat)]
    if game == "chess":
        return chess_moves(chess_board(view), view, seat)
    if game == "liarsdice":
        moves = LIARSDICE.legal_moves(liarsdice_state(view, seat), seat)
        return [m.model_dump() for m in moves]
    raise ValueError(f"no rules for {game!r}; bots know {', '.join(sorted(GAMES))}")


__all__ = [
    "GAMES",
    "chess_board",
    "chess_moves",
    "connect4_state",
    "legal_moves",
    "liarsdice_state",
    "tictactoe_state",
]
