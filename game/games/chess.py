"""Chess, with the full rules of python-chess, draw offers and claims.

The state is the starting position, the tuple of moves played since (in UCI) and a
python-chess ``Board`` built from them. Boards are mutable, so the rule here is
that a state's board is never touched once the state exists: ``apply`` copies it
once, pushes the move on the copy and freezes the copy into the new state. What
needs the board to push and pop moves (the game-over test, the draw-claim test)
runs on that fresh copy before it is frozen, and the answers are kept in the
state; afterwards only read-only board methods are called.

Seat 0 plays white and seat 1 black; whoever is to move in the starting position
(white, unless the ``fen`` option says otherwise) moves first.

Draws:

* Checkmate, stalemate, insufficient material, the seventy-five-move rule and
  fivefold repetition end the game by themselves (FIDE 9.6 and 5.2).
* Threefold repetition and the fifty-move rule are claimed with ``claim_draw`` by
  the side to move, either on the position itself or on one that a legal move
  would reach: python-chess's claim test, which is FIDE's "write the move down
  and claim" without having to make the move.
* A draw offer is made on your own turn and does not end it: you still move. It
  stands through the opponent's next turn, where they may ``accept_draw`` instead
  of moving; any move of theirs declines it. An offer can therefore only be
  accepted by the seat to act, which is the only seat the match lets move.

Resignation, abandonment and timeouts are the match's ``forfeit``: the other seat
wins, except that a timeout against a lone king (or a side that cannot mate by any
series of legal moves) is a draw, as FIDE 6.9 says.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Annotated, Literal, TypeAlias

import chess
from pydantic import Field, field_validator

from meeple.game.api import Game, MoveModel, Options, Outcome, Rejection, View, draw, win

SEATS = 2
UCI_PATTERN = r"^[a-h][1-8][a-h][1-8][qrbn]?$"

ILLEGAL_MOVE = "illegal_move"
NO_DRAW_OFFER = "no_draw_offer"
NO_DRAW_CLAIM = "no_draw_claim"
DRAW_ALREADY_OFFERED = "draw_already_offered"

#: Outcome reasons for the endings python-chess detects on the board by itself.
TERMINATIONS = {
    chess.Termination.CHECKMATE: "checkmate",
    chess.Termination.STALEMATE: "stalemate",
    chess.Termination.INSUFFICIENT_MATERIAL: "insufficient material",
    chess.Termination.SEVENTYFIVE_MOVES: "seventy-five-move rule",
    chess.Termination.FIVEFOLD_REPETITION: "fivefold repetition",
}
FIFTY_MOVES = "fifty-move rule"
THREEFOLD = "threefold repetition"
CLAIM_CODES = {THREEFOLD: "threefold", FIFTY_MOVES: "fifty"}
"""A claimable draw as the view names it: short, since it travels in a move's delta."""
DRAW_AGREED = "draw agreed"


class PlayMove(MoveModel):
    """Move a piece, in UCI: from square, to square, and the promotion piece if any.

    Castling is the king's move ("e1g1"); a pawn reaching the last rank names what
    it becomes ("e7e8q", or r, b, n to underpromote). The format is checked here,
    so a malformed move is a ``bad_move``; legality is the game's ``illegal_move``.
    """

    kind: Literal["move"]
    uci: str = Field(pattern=UCI_PATTERN, examples=["e2e4", "e7e8q"])

    @field_validator("uci")
    @classmethod
    def _moves_somewhere(cls, value: str) -> str:
        # The pattern cannot say "two different squares"; python-chess can.
        chess.Move.from_uci(value)
        return value


class OfferDraw(MoveModel):
    """Offer a draw on your turn; you still make your move after it."""

    kind: Literal["offer_draw"]


class AcceptDraw(MoveModel):
    """Accept the opponent's standing draw offer instead of moving."""

    kind: Literal["accept_draw"]


class ClaimDraw(MoveModel):
    """Claim a draw by threefold repetition or the fifty-move rule."""

    kind: Literal["claim_draw"]


ChessMove: TypeAlias = PlayMove | OfferDraw | AcceptDraw | ClaimDraw
MoveUnion = Annotated[ChessMove, Field(discriminator="kind")]


class ChessOptions(Options):
    turn_seconds: float | None = Field(
        default=None,
        gt=0,
        le=86400,
        title="Seconds per turn",
        description="A time limit on every turn; none if left empty.",
    )
    fen: str | None = Field(
        default=None,
        max_length=100,
        title="Starting position (FEN)",
        description="The starting position in FEN (a legal one, with a move to make); the"
        " standard one if left out.",
        json_schema_extra={"format": "chess-fen"},
    )

    @field_validator("fen")
    @classmethod
    def _playable(cls, value: str | None) -> str | None:
        """Only a legal position with moves left to play: a match must have a first turn."""
        if value is None:
            return None
        try:
            board = chess.Board(value)
        except ValueError as exc:
            raise ValueError(f"not a FEN: {exc}") from None
        status = board.status()
        if status != chess.STATUS_VALID:
            problems = ", ".join(
                (flag.name or "").lower().replace("_", " ")
                for flag in chess.Status
                if flag & status
            )
            raise ValueError(f"not a legal position: {problems}")
        ended = board.outcome()
        if ended is not None:
            raise ValueError(f"the game is already over: {_termination(ended.termination)}")
        return board.fen()


@dataclass(frozen=True, slots=True)
class State:
    """One moment of a game. Equal states have the same start, moves, offer and ending.

    ``board`` and the fields after it are derived from ``start`` and ``moves`` when
    the state is made (see ``_position``) and take no part in comparisons.
    """

    start: str
    moves: tuple[str, ...]
    draw_offer: int | None
    """The seat whose draw offer stands, if any."""
    ended: Outcome | None
    """An ending the board does not show: agreement, a claim, a forfeit."""
    board: chess.Board = field(compare=False, repr=False)
    """The position after ``moves``. Never mutated: copy it to move on. Its move stack
    holds only the moves since the last capture or pawn move (see ``Chess._play``)."""
    board_outcome: Outcome | None = field(compare=False)
    """Checkmate, stalemate or an automatic draw, computed once."""
    claim: str | None = field(compare=False)
    """The draw the side to move may claim now, if any."""

    @property
    def outcome(self) -> Outcome | None:
        return self.ended or self.board_outcome


def _termination(termination: chess.Termination) -> str:
    return TERMINATIONS.get(termination) or termination.name.lower().replace("_", " ")


def _position(
    start: str, moves: tuple[str, ...], board: chess.Board, draw_offer: int | None
) -> State:
    """A state around ``board``, which the caller hands over and must not touch again."""
    ended = board.outcome()
    board_outcome: Outcome | None = None
    claim: str | None = None
    if ended is not None:
        reason = _termination(ended.termination)
        if ended.winner is None:
            board_outcome = draw(SEATS, reason)
        else:
            board_outcome = win(_seat(ended.winner), SEATS, reason)
    elif board.can_claim_fifty_moves():
        claim = FIFTY_MOVES
    elif board.halfmove_clock >= 7 and board.can_claim_threefold_repetition():
        # A position recurs at least four plies apart, so a third occurrence, now or
        # after one more move, needs seven reversible plies: most plies skip the test.
        claim = THREEFOLD
    return State(start, moves, draw_offer, None, board, board_outcome, claim)


def _seat(color: chess.Color) -> int:
    return 0 if color == chess.WHITE else 1


class Chess(Game[State, ChessMove, ChessOptions]):
    name = "chess"
    title = "Chess"
    min_seats = 2
    max_seats = 2
    options = ChessOptions
    move = MoveUnion
    hidden_information = False
    board = "meeple.client:web/boards/chess.js"
    description = (
        "Standard chess. Seat 0 plays white. Moves are UCI ({kind: move, uci: e2e4}); "
        "draws may be offered, accepted and claimed."
    )

    def setup(self, seats: int, options: ChessOptions, rng: random.Random) -> State:
        start = options.fen or chess.STARTING_FEN
        return _position(start, (), chess.Board(start), None)

    def to_act(self, state: State) -> tuple[int, ...]:
        return () if state.outcome else (_seat(state.board.turn),)

    def legal_moves(self, state: State, seat: int) -> list[ChessMove]:
        # offer_draw is left out on purpose: random players would offer every game,
        # and an offer is never needed to finish one.
        if seat not in self.to_act(state):
            return []
        # python-chess makes well-formed moves, so they skip validation (bots call this
        # on every turn, with some thirty moves a time).
        moves: list[ChessMove] = [
            PlayMove.model_construct(kind="move", uci=m.uci()) for m in state.board.legal_moves
        ]
        if state.claim:
            moves.append(ClaimDraw(kind="claim_draw"))
        if state.draw_offer == 1 - seat:
            moves.append(AcceptDraw(kind="accept_draw"))
        return moves

    def apply(
        self, state: State, seat: int, move: ChessMove, rng: random.Random
    ) -> State | Rejection:
        if isinstance(move, PlayMove):
            return self._play(state, seat, move.uci)
        if isinstance(move, OfferDraw):
            if state.draw_offer == seat:
                return Rejection(DRAW_ALREADY_OFFERED, "you have already offered a draw")
            if state.draw_offer is not None:
                return Rejection(
                    DRAW_ALREADY_OFFERED,
                    "your opponent has offered a draw: send accept_draw to agree",
                )
            return replace(state, draw_offer=seat)
        if isinstance(move, AcceptDraw):
            if state.draw_offer != 1 - seat:
                return Rejection(NO_DRAW_OFFER, "your opponent has not offered a draw")
            return replace(state, draw_offer=None, ended=draw(SEATS, DRAW_AGREED))
        if state.claim is None:
            return Rejection(
                NO_DRAW_CLAIM,
                "there is no threefold repetition or fifty-move rule to claim, "
                "now or after any legal move",
            )
        return replace(state, draw_offer=None, ended=draw(SEATS, state.claim))

    def _play(self, state: State, seat: int, uci: str) -> State | Rejection:
        try:
            move = state.board.parse_uci(uci)
        except ValueError:
            return Rejection(ILLEGAL_MOVE, f"{uci} is illegal: {_why_illegal(state.board, uci)}")
        # The copy keeps only the moves since the last capture or pawn move: the
        # repetition rules never look further back (nothing before such a move can
        # recur), and copying the whole game's stack would make each move O(game).
        board = state.board.copy(stack=state.board.halfmove_clock)
        board.push(move)
        # Moving declines the opponent's offer; your own offer stands for their turn.
        offer = seat if state.draw_offer == seat else None
        return _position(state.start, (*state.moves, move.uci()), board, offer)

    def outcome(self, state: State) -> Outcome | None:
        return state.outcome

    def view(self, state: State, seat: int | None) -> View:
        # Everyone sees everything. The view is what a client needs to draw the game
        # and to rebuild any FEN with its own chess library:
        #   "s": the starting FEN (never changes),
        #   "m": every move so far in UCI (grows by one a move; its length and "s"
        #        give the side to move and the move number, its end the last move),
        #   "b": the 64 squares, a1 = 0, b1 = 1, ... h8 = 63: "P", "n", ... or "" if
        #        empty, so a client without chess rules can draw the board,
        #   "k": whether the side to move is in check,
        #   "d": the seat with a standing draw offer, or None,
        #   "c": the draw the side to move may claim now ("threefold" or "fifty", for
        #        threefold repetition and the fifty-move rule; python-chess's test, as
        #        claim_draw checks it), or None: a client shows its claim button only
        #        then. Short: the move that makes a draw claimable carries it.
        # Castling rights, the en passant square and the two move counters are left
        # out: all follow from "s" and "m", and the counters change on nearly every
        # move, which would make each move's delta larger for nothing.
        # One move then costs two to four squares and one appended string.
        board = state.board
        cells = [""] * 64
        for square, piece in board.piece_map().items():
            cells[square] = piece.symbol()
        return {
            "s": state.start,
            "m": list(state.moves),
            "b": cells,
            "k": board.is_check(),
            "d": state.draw_offer,
            "c": None if state.outcome or state.claim is None else CLAIM_CODES[state.claim],
        }

    def max_moves(self, seats: int, options: ChessOptions) -> int:
        # The seventy-five-move rule ends a game 150 plies after the last capture or pawn
        # move; there are at most 30 captures and 96 pawn moves, and a draw offer may come
        # before each ply.
        return 2 * 150 * (30 + 96 + 1)

    def forfeit(self, state: State, seat: int, reason: str) -> State:
        return replace(state, draw_offer=None, ended=win(1 - seat, SEATS, reason))

    def on_timeout(self, state: State, seat: int, rng: random.Random) -> State:
        # FIDE 6.9: running out of time loses, unless the opponent could not mate by
        # any series of legal moves.
        opponent = chess.WHITE if seat == 1 else chess.BLACK
        if state.board.has_insufficient_material(opponent):
            return replace(
                state, draw_offer=None, ended=draw(SEATS, "timeout vs insufficient material")
            )
        return self.forfeit(state, seat, "timeout")


def _why_illegal(board: chess.Board, uci: str) -> str:
    """A short reason a well-formed move is illegal, from cheap checks in order."""
    move = chess.Move.from_uci(uci)
    source, target = chess.square_name(move.from_square), chess.square_name(move.to_square)
    piece = board.piece_at(move.from_square)
    if piece is None:
        return f"there is no piece on {source}"
    side = "white" if board.turn == chess.WHITE else "black"
    if piece.color != board.turn:
        return f"it is {side}'s move and the piece on {source} is not {side}'s"
    piece_name = chess.piece_name(piece.piece_type)
    last_rank = 7 if board.turn == chess.WHITE else 0
    reaches_last_rank = (
        piece.piece_type == chess.PAWN and chess.square_rank(move.to_square) == last_rank
    )
    if move.promotion and not reaches_last_rank:
        return "only a pawn reaching the last rank promotes"
    if reaches_last_rank and not move.promotion:
        return "a pawn reaching the last rank must promote: add q, r, b or n"
    if board.is_pseudo_legal(move):
        if board.is_check():
            return "your king is in check and this does not get it out"
        return "it would leave your king in check"
    sideways = chess.square_rank(move.from_square) == chess.square_rank(move.to_square)
    files = abs(chess.square_file(move.from_square) - chess.square_file(move.to_square))
    if piece.piece_type == chess.KING and sideways and files >= 2:
        if board.is_check():
            return "you cannot castle out of check"
        return "the king cannot castle that way now"
    own = board.piece_at(move.to_square)
    if own is not None and own.color == board.turn:
        return f"your own {chess.piece_name(own.piece_type)} stands on {target}"
    return f"the {piece_name} on {source} cannot move to {target}"
