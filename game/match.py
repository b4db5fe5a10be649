"""The match: the authoritative state machine around one game.

A match owns the seats, the status, the sequence number, the move log and the
seed, and it is the only thing that calls the game's rules. Every change goes
through one of a few verbs (``start``, ``submit``, ``forfeit``, ``timeout``,
``rematch``); each returns a ``Transition`` holding the new sequence number and,
for every audience (each seat and the spectators), the delta from the view that
audience had before. A refused change returns a ``Rejection`` and changes nothing.

No clock is read here: the caller decides when a turn timed out. Randomness comes
from ``rng_for(seed, game_no, seq)``, so ``Match.replay`` of the log gives the same
state, bit for bit. (A match keeps one generator and re-seeds it for each step, on
first use only: most moves of most games draw nothing.)
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from meeple.game import api
from meeple.game.api import Game, Outcome, Rejection, View
from meeple.game.delta import Op, diff

Status = Literal["waiting", "playing", "finished"]
Audience = int | None
"""A seat number, or None for the spectators' public view."""

LogEntry = dict[str, Any]
"""One accepted change: ``{"s": seq, "seat": n, "k": kind, "m": move}``; kind is
"move" (``m`` is the validated move), "forfeit" (``m`` is the reason) or "timeout"."""


class _SeededOnUse(random.Random):
    """A generator that seeds itself on first use: most moves of most games draw
    nothing, and seeding (even making a ``random.Random``, 2.5 KB of state) costs
    more than the rest of a tic-tac-toe move. ``reset`` makes it the next step's."""

    def __init__(self, seed: int = 0, game_no: int = 0, seq: int = 0) -> None:
        # deliberately no super().__init__: it would seed from the OS
        self._material: tuple[int, int, int] | None = (seed, game_no, seq)

    def reset(self, seed: int, game_no: int, seq: int) -> random.Random:
        self._material = (seed, game_no, seq)
        return self

    def _seed_now(self) -> None:
        material, self._material = self._material, None
        assert material is not None
        super().seed("{}:{}:{}".format(*material))

    def seed(self, a: Any = None, version: int = 2) -> None:
        self._material = None  # a game seeding it itself takes over
        super().seed(a, version)

    def random(self) -> float:
        if self._material is not None:
            self._seed_now()
        return super().random()

    def getrandbits(self, k: int) -> int:
        if self._material is not None:
            self._seed_now()
        return super().getrandbits(k)


def rng_for(seed: int, game_no: int, seq: int) -> random.Random:
    """The random generator for one step: derived, never carried, so replay is exact.

    It draws exactly what ``random.Random(f"{seed}:{game_no}:{seq}")`` would.
    """
    return _SeededOnUse(seed, game_no, seq)


BOT_ACCOUNT_PREFIX = "bot_"
"""The player ids of bot accounts begin with it (guests' and people's begin with ``p_``),
so a seat, a rating or a record shows a bot as a bot without asking the database."""


def is_bot_player(player_id: str | None) -> bool:
    """Whether ``player_id`` is a bot account's."""
    return player_id is not None and player_id.startswith(BOT_ACCOUNT_PREFIX)


@dataclass(slots=True)
class Seat:
    """Who sits in a seat: nobody, a player, or a bot (``bot`` names its strategy)."""

    player_id: str | None = None
    name: str | None = None
    bot: str | None = None

    @property
    def kind(self) -> Literal["empty", "human", "bot"]:
        if self.player_id is None:
            return "empty"
        return "bot" if self.bot else "human"

    def as_view(self) -> View:
        # ``kind`` and ``is_bot_player`` inline: every room message and summary has these.
        player_id = self.player_id
        if player_id is None:
            bot = self.bot is not None
            return {"kind": "empty", "player_id": None, "name": self.name, "bot": bot}
        return {
            "kind": "bot" if self.bot else "human",
            "player_id": player_id,
            "name": self.name,
            "bot": self.bot is not None or player_id.startswith(BOT_ACCOUNT_PREFIX),
        }


@dataclass(slots=True)
class Transition:
    """What one accepted change did, for the room to tell everyone. Treat it as frozen
    (it is not, because a frozen dataclass takes three times as long to make)."""

    seq: int
    kind: str
    seat: int | None
    to_act: tuple[int, ...]
    status: Status
    outcome: Outcome | None
    deltas: Mapping[Audience, list[Op]]
    """Per audience, the operations from its previous view to its new one."""
    reset: bool = False
    """True when the views start afresh (a new game): clients take a snapshot."""
    entry: LogEntry | None = None
    """The log entry this change appended (None for the start of a game)."""


@dataclass
class Match:
    """One room's game, seats and history. See the module docstring."""

    game: Game[Any, Any, Any]
    seat_count: int
    options: Any
    seed: int
    seats: list[Seat] = field(default_factory=list)
    status: Status = "waiting"
    seq: int = 0
    """Changes in the current game: its start is 1, each accepted change adds one (so
    numbers stay small on the wire however long a room lives); 0 before the first."""
    game_no: int = 0
    log: list[LogEntry] = field(default_factory=list)
    state: Any = None
    outcome: Outcome | None = None
    to_act: tuple[int, ...] = ()
    _views: dict[Audience, View] = field(default_factory=dict, repr=False)
    _changes: dict[Audience, list[Op]] = field(default_factory=dict, repr=False)
    """Per audience, the delta of the last change in this game that altered its view."""
    _rng: _SeededOnUse = field(default_factory=_SeededOnUse, repr=False)

    def __post_init__(self) -> None:
        # Worked out once: the options never change, and these are asked on every move.
        self.turn_limit: float | None = self.game.turn_seconds(self.options)
        """The turn time limit in seconds, if the game and its options set one."""
        self.options_view: dict[str, Any] = self.options.model_dump(mode="json")
        """The options as plain data, for summaries and records."""
        self._validate_move = self.game.move_adapter().validator.validate_python
        self._hidden = self.game.hidden_information
        self._audiences: tuple[Audience, ...] = (*range(self.seat_count), None)

    @classmethod
    def create(
        cls,
        game: Game[Any, Any, Any],
        seat_count: int,
        options: Mapping[str, Any] | None,
        seed: int,
    ) -> Match:
        """A waiting match with empty seats. Raises ValueError for bad seats or options."""
        if not game.min_seats <= seat_count <= game.max_seats:
            raise ValueError(
                f"{game.name} takes {game.min_seats} to {game.max_seats} seats, not {seat_count}"
            )
        parsed = game.parse_options(options)
        return cls(game, seat_count, parsed, seed, seats=[Seat() for _ in range(seat_count)])

    # Seats -----------------------------------------------------------------

    def free_seats(self) -> list[int]:
        return [i for i, s in enumerate(self.seats) if s.player_id is None]

    def seat_of(self, player_id: str) -> int | None:
        for i, s in enumerate(self.seats):
            if s.player_id == player_id:
                return i
        return None

    def sit(self, seat: int, player_id: str, name: str, bot: str | None = None) -> None:
        if not 0 <= seat < self.seat_count:
            raise ValueError(f"there is no seat {seat}")
        if self.seats[seat].player_id not in (None, player_id):
            raise ValueError(f"seat {seat} is taken")
        self.seats[seat] = Seat(player_id, name, bot)

    def stand(self, seat: int) -> None:
        """Free a seat; only before the game starts (later, a player forfeits)."""
        if self.status == "playing":
            raise ValueError("seats are fixed while a game is played")
        self.seats[seat] = Seat()

    # Changes ----------------------------------------------------------------

    def start(self) -> Transition:
        """Set up the first game once every seat is taken."""
        if self.status != "waiting":
            raise ValueError(f"the match is {self.status}, not waiting")
        if self.free_seats():
            raise ValueError("every seat must be taken before the game starts")
        return self._new_game(self.seed, self.game_no)

    def rematch(self, seed: int, rotate: bool = False) -> Transition:
        """A new game in the same room, with a fresh seed. ``rotate``: every player moves
        one seat on (seat 0 to 1, the last to 0), so who moves first (and colours in chess)
        alternates from game to game."""
        if self.status != "finished":
            raise ValueError("a rematch follows a finished game")
        transition = self._new_game(seed, self.game_no + 1)
        if rotate:
            self.seats = [self.seats[i - 1] for i in range(self.seat_count)]
        return transition

    def submit(self, seat: int, payload: Any) -> Transition | Rejection:
        """Validate and apply a move from ``seat``: schema, seat, turn, then the rules."""
        if self.status != "playing" or type(seat) is not int or seat not in self.to_act:
            refused = self._check_actor(seat)
            return refused or Rejection(api.NOT_YOUR_TURN, f"it is not seat {seat}'s turn")
        try:
            move = self._validate_move(payload)
        except ValidationError as exc:
            return Rejection(api.BAD_MOVE, _describe(exc))
        seq = self.seq + 1
        rng = self._rng
        rng._material = (self.seed, self.game_no, seq)  # reset(), without the call
        try:
            result = self.game.apply(self.state, seat, move, rng)
        except Exception as exc:  # a bug in one game must not take the room down
            return Rejection("game_error", f"the game failed on this move: {exc!r}")
        if isinstance(result, Rejection):
            return result
        # The payload passed a strict schema (no coercion, no unknown fields): it is the
        # move's plain data already, and replay validates it again.
        entry = {"s": seq, "seat": seat, "k": "move", "m": payload}
        return self._advance(result, entry)

    def forfeit(self, seat: int, reason: str) -> Transition | Rejection:
        """``seat`` leaves the game: resigned, abandoned, or its policy says so."""
        refused = self._check_actor(seat)
        if refused:
            return refused
        try:
            state = self.game.forfeit(self.state, seat, reason)
        except Exception as exc:
            return Rejection("game_error", f"the game failed to forfeit seat {seat}: {exc!r}")
        return self._advance(state, {"s": self.seq + 1, "seat": seat, "k": "forfeit", "m": reason})

    def timeout(self, seat: int) -> Transition | Rejection:
        """``seat``'s turn time ran out: the game's timeout rule applies."""
        refused = self.check_turn(seat)
        if refused:
            return refused
        seq = self.seq + 1
        try:
            rng = self._rng.reset(self.seed, self.game_no, seq)
            state = self.game.on_timeout(self.state, seat, rng)
        except Exception as exc:
            return Rejection("game_error", f"the game failed on a timeout: {exc!r}")
        return self._advance(state, {"s": seq, "seat": seat, "k": "timeout", "m": None})

    # Reading ----------------------------------------------------------------

    def view(self, audience: Audience) -> View:
        """The current view of ``audience`` (empty before the first game)."""
        return self._views.get(audience, {})

    def last_change(self, audience: Audience) -> list[Op] | None:
        """The operations of the last change in this game that altered ``audience``'s
        view (its last non-empty delta), or None before the first: what a snapshot
        carries, so a client that did not see the change made can still show what
        moved last (a board marks the cell the delta set)."""
        return self._changes.get(audience)

    def turn_seconds(self) -> float | None:
        return self.turn_limit

    def legal_moves(self, seat: int) -> list[Any]:
        if self.status != "playing" or seat not in self.to_act:
            return []
        return self.game.legal_moves(self.state, seat)

    @classmethod
    def replay(
        cls,
        game: Game[Any, Any, Any],
        seat_count: int,
        options: Mapping[str, Any] | None,
        seed: int,
        log: Sequence[LogEntry],
        *,
        game_no: int = 0,
    ) -> Match:
        """Rebuild a started game from its seed and log (seats are not part of it).

        The game's start is a transition of its own (sequence number 1), so the first
        log entry is number 2.
        """
        match = cls.create(game, seat_count, options, seed)
        match.seats = [Seat(f"replay-{i}", f"replay-{i}") for i in range(seat_count)]
        match._new_game(seed, game_no)
        for entry in log:
            try:
                seat, kind, move, seq = entry["seat"], entry["k"], entry["m"], entry["s"]
            except (KeyError, TypeError):
                raise ValueError(f"log entry {entry!r} is not a log entry") from None
            if kind == "move":
                step = match.submit(seat, move)
            elif kind == "forfeit":
                step = match.forfeit(seat, move)
            elif kind == "timeout":
                step = match.timeout(seat)
            else:
                raise ValueError(f"log entry {entry!r} has an unknown kind {kind!r}")
            if isinstance(step, Rejection):
                raise ValueError(f"log entry {entry} does not replay: {step.message}")
            if step.seq != seq:
                raise ValueError(f"log entry {entry} replays as sequence number {step.seq}")
        return match

    def check_turn(self, seat: int) -> Rejection | None:
        """Why ``seat`` may not act now (game over, not started, no such seat, not its
        turn), or None when it may."""
        refused = self._check_actor(seat)
        if refused is None and seat not in self.to_act:
            return Rejection(api.NOT_YOUR_TURN, f"it is not seat {seat}'s turn")
        return refused

    # Internals --------------------------------------------------------------

    def _check_actor(self, seat: int) -> Rejection | None:
        if self.status == "finished":
            return Rejection(api.GAME_OVER, "the game is over")
        if self.status != "playing":
            return Rejection(api.NOT_PLAYING, "the game has not started")
        if type(seat) is not int or not 0 <= seat < self.seat_count:
            return Rejection(api.NOT_A_SEAT, f"there is no seat {seat!r}")
        return None

    def _new_game(self, seed: int, game_no: int) -> Transition:
        """Set up a game; if the game's setup fails, the match is left as it was."""
        seq = 1
        rng = self._rng.reset(seed, game_no, seq)
        state = self.game.setup(self.seat_count, self.options, rng)
        views = self._all_views(state)
        to_act = tuple(self.game.to_act(state))
        self.seed, self.game_no, self.seq, self.log = seed, game_no, seq, []
        self.state, self.status, self.outcome, self.to_act = state, "playing", None, to_act
        self._views, self._changes = views, {}
        return Transition(self.seq, "start", None, self.to_act, self.status, None, {}, reset=True)

    def _advance(self, state: Any, entry: LogEntry) -> Transition | Rejection:
        """Commit a new state, or nothing at all if the game fails to describe it."""
        game = self.game
        try:
            outcome = game.outcome(state)
            to_act = () if outcome is not None else tuple(game.to_act(state))
            if self._hidden:
                views = self._all_views(state)
            else:  # (``_all_views``' public case, without the call: the move path)
                public = game.view(state, None)
                views = dict.fromkeys(self._audiences, public)
        except Exception as exc:  # a bug in one game must not leave the match half changed
            return Rejection("game_error", f"the game failed after this move: {exc!r}")
        old_views = self._views
        self.state = state
        self.seq = seq = entry["s"]
        self.outcome = outcome
        self.to_act = to_act
        self._views = views
        self.log.append(entry)
        if outcome is not None:
            self.status = "finished"
        if self._hidden:
            deltas = {audience: diff(old_views[audience], view) for audience, view in views.items()}
            changes = self._changes
            for audience, ops in deltas.items():
                if ops:
                    changes[audience] = ops
        else:
            ops = diff(old_views[None], public)
            deltas = dict.fromkeys(self._audiences, ops)
            if ops:
                self._changes = deltas  # a new dict every change: never altered after
        return Transition(
            seq, entry["k"], entry["seat"], to_act, self.status, outcome, deltas, False, entry
        )

    def _all_views(self, state: Any) -> dict[Audience, View]:
        """Every audience's view of ``state``; public games build one and share it."""
        if not self._hidden:
            return dict.fromkeys(self._audiences, self.game.view(state, None))
        view = self.game.view
        return {audience: view(state, audience) for audience in self._audiences}


def _describe(exc: ValidationError) -> str:
    """One line a person can act on, from pydantic's first error."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "move"
    return f"{where}: {err['msg']}"
