"""A room: one match, the members watching it, and the hot path of the whole server.

A room is where the data flow of the whole server happens: a decoded message comes
in (``handle``), the match validates and applies it, and the transition's per-seat
deltas are encoded once per distinct delta and queued on each connection. Rooms
never await: everything here runs to completion on the event loop, so two messages
can never interleave inside one change.

Around the hot path, in modules of their own: the room's timers (``timers``), the
seats the server plays (``autoplay``), what it keeps for resuming clients
(``backlog``) and where its changes are saved first (``journal``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, get_args

from pydantic import ValidationError

from meeple.game import clock as clocks
from meeple.game.api import Game, Rejection, View
from meeple.game.clock import ClockState, TimeControl
from meeple.game.codec import encode, with_field
from meeple.game.match import LogEntry, Match, Seat, Transition
from meeple.game.protocol import (
    CHAT_HISTORY,
    CLIENT_TYPES,
    CLOSE_NORMAL,
    CLOSE_REPLACED,
    MAX_FRAME,
    MAX_LEGAL_MOVES,
    ChatMsg,
    LeaveMsg,
    LegalMovesMsg,
    MoveMsg,
    PingMsg,
    RematchMsg,
    ResignMsg,
    SyncMsg,
    client_message,
)
from meeple.lobby.ops.metrics import Stats
from meeple.lobby.rooms.autoplay import Autoplay, Moment, moment_of
from meeple.lobby.rooms.backlog import Backlog
from meeple.lobby.rooms.journal import JournalWriter
from meeple.lobby.rooms.member import Member
from meeple.lobby.rooms.seeds import new_seed
from meeple.lobby.rooms.timers import Timers, now_ms
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import Changes, RoomSummary

log = logging.getLogger("meeple.room")

_MOVE_KEYS = frozenset(MoveMsg.model_fields)
_BARE_MESSAGES = (ResignMsg, LeaveMsg, RematchMsg, SyncMsg, PingMsg, LegalMovesMsg)
_BARE_TYPES = frozenset(get_args(m.model_fields["t"].annotation)[0] for m in _BARE_MESSAGES)
_BARE_KEYS = frozenset(("t", "id"))
assert all(frozenset(m.model_fields) == _BARE_KEYS for m in _BARE_MESSAGES)
MAX_ID = 2**53 - 1
CHAT_KEPT_CHARS = 4000
"""The most chat a room's saved metadata carries (its newest lines, text and names):
what a room that moves to another process, or outlives a restart, still shows. Each
line saves the metadata again, so a chatty room's saves stay small."""
REMIND_AT_LEFT = 0.2
"""A correspondence player away from the room is reminded with a fifth of the time left."""

AbandonPolicy = Literal["forfeit", "skip", "bot"]
ABANDON_POLICIES: tuple[AbandonPolicy, ...] = ("forfeit", "skip", "bot")


def abandon_policy(value: str) -> AbandonPolicy:
    """``value`` as a policy, or RoomError naming the ones there are."""
    for policy in ABANDON_POLICIES:
        if policy == value:
            return policy
    raise RoomError("bad_abandon", f"abandon must be one of {', '.join(ABANDON_POLICIES)}", 422)


class RoomError(Exception):
    """A refused room operation: a stable code, a message, and the HTTP status that fits."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class RoomEvents(Protocol):
    """What a room tells the service around it."""

    def changed(self, room: Room) -> None:
        """The room's summary changed (seats, status, presence)."""

    def finished(self, room: Room) -> None:
        """A game ended; ``room.record()`` describes it."""

    def idle(self, room: Room) -> None:
        """Nobody is connected and no game is waiting for anyone."""

    def unsaved(self, room: Room) -> None:
        """A change could not be saved: the room here is ahead of its journal and must
        not go on; the journal's state is the room's."""

    def tell(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """An event for the player's own stream (``GET /api/me/events``), wherever it is."""


NOT_SAVED = (
    "the server could not save this change where it must before acknowledging it; "
    "the room closes (1011): reconnect with since to see the room as it was saved"
)
"""The ``not_saved`` error's text (docs/protocol.md says what it means for the move)."""


SEAT_NOT_SAVED = (
    "the server could not save this change where it must before answering (its store "
    "failed, or refused it: too few replicas, or another server process took the room "
    "over); nothing changed: try again"
)
"""The ``not_saved`` problem of a seat taken or given up (docs/protocol.md)."""
ROOM_LEFT = "the room left this server process before this change was saved; try again"


def _refuse(waiting: list[asyncio.Future[None]], message: str) -> None:
    """Tell those waiting for a save (``Room.when_saved``) that it did not happen."""
    for future in waiting:
        if not future.done():  # (a request that went away)
            future.set_exception(RoomError("not_saved", message, 503))


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def describe_validation(exc: ValidationError) -> str:
    """One line a person can act on, from pydantic's first error."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "message"
    return f"{where}: {err['msg']}"


@dataclass
class Room:
    """One room. Create it with ``RoomManager.create``."""

    id: str
    match: Match
    settings: Settings
    events: RoomEvents
    private: bool = False
    invite: str | None = None
    creator: str | None = None
    abandon: AbandonPolicy = "forfeit"
    created_at: float = field(default_factory=time.time)
    journal: JournalWriter | None = None
    """With a journal, every change is saved before anyone hears of it."""
    stats: Stats = field(default_factory=Stats)
    clock: TimeControl | None = None
    """The room's time control, if it was given one (else the game's ``turn_seconds``)."""

    def __post_init__(self) -> None:
        self._conns: dict[str, Member] = {}  # player id -> connection
        self._seat_conns: dict[int, Member] = {}
        self._spectators: set[Member] = set()
        self._confirmed: set[int] = set()  # seats whose player has connected
        self._timers = Timers(self.id)
        self._backlog = Backlog(self.settings.backlog)
        self._auto = Autoplay(self.id, self.match, self._stand_in_acted)
        self._rematch: set[int] = set()
        self._chats: deque[dict[str, Any]] = deque(maxlen=CHAT_HISTORY)
        """The last chat lines, for whoever joins or resumes; saved with the metadata
        (``CHAT_KEPT_CHARS`` of them), so a room that moves keeps them."""
        self._back_by: dict[int, int] = {}
        """Seat -> when its grace period ends (ms since the epoch), while it runs."""
        self._score: dict[str, float] = {}
        """Points per player over this room's games (a win 1, a draw ½), counted when a
        game ends and saved with the room's metadata (a room that moves keeps them)."""
        self._chats_frame: bytes | None = None  # the ``chats`` message, until a new line
        self.control: TimeControl | None = self.clock or (
            None
            if self.match.turn_limit is None
            else TimeControl.per_move_seconds(self.match.turn_limit)
        )
        """The clocks' control: the room's, or the game's limit per move, or none."""
        self._clock: ClockState | None = None
        """The current game's clocks (None: no control, or no game yet)."""
        self._clock_start: dict[str, Any] | None = None
        """The clocks as the current game started, for the journal (the log has the rest)."""
        self._game_no_started = -1
        self._unsaved: list[tuple[Transition, Member | None, Any]] = []
        """Changes made but not yet handed to the journal, with whom to acknowledge."""
        self._saving: list[tuple[Transition, Member | None, Any]] = []
        """The changes of the journal's batch in flight: published once it is saved."""
        self._then: list[Callable[[], None]] = []
        self._saving_then: list[Callable[[], None]] = []
        """What to do once the unsaved changes (the batch in flight) have been told."""
        self._staged = False
        """Whether the journal writer will take this room's changes in its next batch."""
        self._meta_changed = False
        """Whether ``meta()`` differs from what the journal has (seats, status, game, chat)."""
        self._hidden = self.match.game.hidden_information
        """Whether audiences see different views (else one delta and backlog for all)."""
        self._closed = False
        """Set by ``close_all``: this process no longer hosts the room; nothing changes it."""
        self._waiting: list[asyncio.Future[None]] = []
        """Who waits for the staged changes to be saved (``when_saved``)."""
        self._saving_waiting: list[asyncio.Future[None]] = []
        """Who waits for the batch in flight."""
        self._in_flight = False
        """Whether the journal writer is saving a batch of this room's now."""

    @classmethod
    def restore(
        cls,
        game: Game[Any, Any, Any],
        meta: dict[str, Any],
        log_entries: list[LogEntry],
        settings: Settings,
        events: RoomEvents,
        journal: JournalWriter | None,
        stats: Stats,
    ) -> Room:
        """Rebuild a room another process saved: replay its game's log from the seed."""
        if meta["status"] == "waiting":
            match = Match.create(game, meta["seat_count"], meta["options"], meta["seed"])
        else:
            match = Match.replay(
                game,
                meta["seat_count"],
                meta["options"],
                meta["seed"],
                log_entries,
                game_no=meta["game_no"],
            )
        for i, (player_id, name, bot) in enumerate(meta["seats"]):
            match.seats[i] = Seat(player_id, name, bot)
        room = cls(
            meta["id"],
            match,
            settings,
            events,
            private=meta["private"],
            invite=meta["invite"],
            creator=meta["creator"],
            abandon=abandon_policy(meta["abandon"]),
            created_at=meta["created_at"],
            journal=journal,
            stats=stats,
            clock=TimeControl.parse(meta["clock"]) if meta.get("clock") else None,
        )
        room._restore_clock(meta.get("clock_start"), log_entries)
        room._score = {player: float(points) for player, points in meta.get("score", {}).items()}
        room._chats.extend(meta.get("chats", ()))
        for i, seat in enumerate(match.seats):
            if seat.bot:
                room._auto.stand_in(i, seat.bot)
                room._confirmed.add(i)
            elif seat.player_id is not None:
                if match.status == "waiting":
                    room._timers.set("reservation", i, room._reservation_seconds(), room._lapse, i)
                else:
                    room._confirmed.add(i)
                    room._start_grace(i)
        room._auto.schedule()
        return room

    # The lobby's side -------------------------------------------------------

    def add_bot(self, seat: int, strategy: str) -> None:
        """Seat a server-side bot; it plays through the same match as everyone."""
        self.match.sit(seat, f"bot:{self.id}:{seat}", f"Bot {seat + 1} ({strategy})", bot=strategy)
        self._auto.stand_in(seat, strategy)
        self._confirmed.add(seat)

    def reserve(self, player_id: str, name: str, seat: int | None = None) -> tuple[int, float]:
        """Hold a seat for a player until they connect; returns the seat and when it lapses."""
        current = self.match.seat_of(player_id)
        if current is not None:  # the same seat, lapsing when it was going to
            left = self._timers.left("reservation", current)
            return current, time.time() + (self._reservation_seconds() if left is None else left)
        if self.match.status != "waiting":
            raise RoomError("already_started", "the game has already started; watch instead")
        free = self.match.free_seats()
        if not free:
            raise RoomError("room_full", "every seat is taken")
        if seat is None:
            seat = free[0]
        elif not 0 <= seat < self.match.seat_count:
            raise RoomError("no_such_seat", f"there is no seat {seat}", 404)
        elif seat not in free:
            raise RoomError("seat_taken", f"seat {seat} is taken")
        self.match.sit(seat, player_id, name)
        self._timers.set("reservation", seat, self._reservation_seconds(), self._lapse, seat)
        self._seats_changed()
        return seat, time.time() + self._reservation_seconds()

    def save_meta(self) -> None:
        """Save the room's metadata with the journal's next batch: a new room's first save
        (``when_saved`` says when it is done)."""
        if self.journal is not None:
            self._meta_changed = True
            self._stage()

    def when_saved(self) -> asyncio.Future[None]:
        """Done once every change made so far is saved: at once without a journal or with
        nothing unsaved. RoomError ``not_saved`` (503) if the journal refused it (the room
        is then hosted again as saved, without it) or the room left this process first."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            _refuse([future], ROOM_LEFT)
        elif self._staged:
            self._waiting.append(future)
        elif self._in_flight:
            self._saving_waiting.append(future)
        else:
            future.set_result(None)
        return future

    def release(self, player_id: str) -> None:
        """A player gives up their seat: freed before the game, forfeited during it."""
        seat = self.match.seat_of(player_id)
        if seat is None:
            raise RoomError("not_seated", "you have no seat in this room", 404)
        if self.match.status == "playing":
            self._apply(self.match.forfeit(seat, "left"), None, None)
        elif self.match.status == "waiting":
            self._free(seat)
        conn = self._conns.get(player_id)
        if conn is not None:
            conn.seat = None

    def summary(self) -> RoomSummary:
        seats = self._seats_view()
        return {
            "id": self.id,
            "game": self.match.game.name,
            "status": self.match.status,
            "seat_count": self.match.seat_count,
            "seats": seats,
            "free": sum(1 for s in seats if s["kind"] == "empty"),
            "spectators": len(self._spectators),
            "private": self.private,
            "invite": self.invite,
            "creator": self.creator,
            "options": dict(self.match.options_view),
            "abandon": self.abandon,
            "clock": None if self.control is None else self.control.as_view(),
            "to_act": list(self.match.to_act) if self.match.status == "playing" else [],
            "deadline": self._clock.deadline() if self._clock is not None else None,
            "seq": self.match.seq,
            "game_no": self.match.game_no,
            "created_at": self.created_at,
        }

    def record(self) -> dict[str, Any]:
        """A finished game, enough to replay it: ``Match.replay`` of these fields."""
        match = self.match
        return {
            "id": f"{self.id}-{match.game_no}",
            "room": self.id,
            "game": match.game.name,
            "game_no": match.game_no,
            "options": dict(match.options_view),
            "seed": match.seed,
            "seat_count": match.seat_count,
            "seats": [s.as_view() for s in match.seats],
            "outcome": match.outcome.as_view() if match.outcome else None,
            "log": list(match.log),
            "finished_at": time.time(),
            # Who else may read it: a private room's games are its members' (and the code's).
            "private": self.private,
            "invite": self.invite,
            "creator": self.creator,
        }

    # The gateway's side -----------------------------------------------------

    def attach(
        self, conn: Member, since: int | None, invite: str | None, game: int | None = None
    ) -> None:
        """A connection joins: as its player's seat if it has one, else as a spectator.

        ``since`` and ``game``: the last sequence number the client saw, and in which
        game, when it resumes; it gets what it missed if the room still has it.
        """
        if self._closed:  # dropped while the connection was being admitted
            raise RoomError("moved", "the room is no longer hosted here; reconnect", 503)
        seat = self.match.seat_of(conn.player_id)
        if seat is None and self.private and invite != self.invite:
            raise RoomError("forbidden", "a private room needs its invite code", 403)
        old = self._conns.pop(conn.player_id, None)
        if old is not None:
            self._drop(old)
            old.close(CLOSE_REPLACED, "replaced by a newer connection with the same token")
        conn.seat = seat
        self._conns[conn.player_id] = conn
        if seat is None:
            self._spectators.add(conn)
        else:
            self._seat_conns[seat] = conn
            self._stop_grace(seat)
            self._timers.cancel("reservation", seat)
            self._confirmed.add(seat)
            if not self.match.seats[seat].bot:
                self._auto.release(seat)  # the player is back
        self._broadcast_room()
        self._send_state(conn, since, game)
        if self._chats:
            conn.send(self._chats_message())
        self.events.changed(self)
        self._maybe_start()

    def detach(self, conn: Member) -> None:
        """A connection ended (closed, dropped or timed out)."""
        if self._conns.get(conn.player_id) is not conn:
            return  # replaced earlier; its successor holds the seat
        del self._conns[conn.player_id]
        seat = self._drop(conn)
        if seat is not None and self.match.status != "finished":
            self._start_grace(seat)
        self._broadcast_room()
        self.events.changed(self)
        if not self._conns and self.match.status != "playing":
            self.events.idle(self)

    def handle(self, conn: Member, raw: dict[str, Any]) -> None:
        """One decoded client message: validate it, then act on it.

        The messages every game is made of (moves, and the ones that are just a type
        and an id) are checked here exactly as their models would check them; the
        rest, and anything malformed, go through the pydantic models.
        """
        kind: Any = raw.get("t")
        msg_id = raw.get("id")
        if msg_id is None or (type(msg_id) is int and 0 <= msg_id <= MAX_ID):
            if kind == "move":
                if type(raw.get("m")) is dict and raw.keys() <= _MOVE_KEYS:
                    self._move(conn, raw["m"], msg_id)
                    return
            elif kind in _BARE_TYPES and raw.keys() <= _BARE_KEYS:
                self._bare(conn, kind, msg_id)
                return
        if kind not in CLIENT_TYPES:
            conn.error(
                msg_id,
                "unknown_type",
                f"unknown message type {kind!r:.40}; expected one of"
                f" {', '.join(sorted(CLIENT_TYPES))}",
            )
            return
        try:
            msg = client_message.validate_python(raw)
        except ValidationError as exc:
            conn.error(msg_id, "bad_message", describe_validation(exc))
            return
        if isinstance(msg, MoveMsg):
            self._move(conn, msg.m, msg.id)
        elif isinstance(msg, ChatMsg):
            self._chat(conn, msg)
        else:
            self._bare(conn, msg.t, msg.id)

    def _bare(self, conn: Member, kind: str, msg_id: int | None) -> None:
        """A message that is only its type (and id): resign, leave, rematch, sync, ping, moves."""
        if kind == "rematch":
            self._vote_rematch(conn, msg_id)
        elif kind == "ping":
            conn.send_message({"t": "pong", "id": msg_id})
        elif kind == "sync":
            conn.send_message(self._snap(conn.seat))
        elif kind == "resign":
            if conn.seat is None:
                conn.error(msg_id, "not_seated", "spectators cannot resign")
                return
            self._apply(self.match.forfeit(conn.seat, "resigned"), conn, msg_id)
        elif kind == "leave":
            self._leave(conn, msg_id)
        elif kind == "moves":
            self._legal_moves(conn, msg_id)

    def _leave(self, conn: Member, msg_id: int | None) -> None:
        """Give the seat up and close 1000, echoing the id first: in the forfeit's ``d``
        during a game (once it is saved, with a journal), in an ``ack`` otherwise."""
        if conn.seat is not None and self.match.status == "playing":
            self._apply(self.match.forfeit(conn.seat, "left"), conn, msg_id)
            if self._unsaved:
                self._once_told(lambda: conn.close(CLOSE_NORMAL, "left the room"))
                return
        else:
            if conn.seat is not None:
                self.release(conn.player_id)
            if msg_id is not None:
                conn.send_message({"t": "ack", "id": msg_id, "s": self.match.seq})
        conn.close(CLOSE_NORMAL, "left the room")

    def _legal_moves(self, conn: Member, msg_id: int | None) -> None:
        """The seat's legal moves, for clients without the game's rules (generic boards
        and bots): bounded in count and size, and only for a seat that is to act."""
        match, seat = self.match, conn.seat
        if seat is None:
            conn.error(msg_id, "not_seated", "spectators have no moves")
            return
        refused = match.check_turn(seat)
        if refused is not None:
            conn.error(msg_id, refused.code, refused.message)
            return
        moment = (match.game_no, match.seq)
        if conn.asked == moment:  # once a turn: the list cannot have changed
            conn.error(msg_id, "rate_limited", "the legal moves were sent already this turn")
            return
        conn.asked = moment
        try:
            dump = match.game.move_adapter().dump_python
            moves = [dump(m, mode="json") for m in match.legal_moves(seat)]
        except Exception as exc:
            log.exception("room %s: legal_moves failed", self.id)
            conn.error(msg_id, "game_error", f"the game failed to list moves: {exc!r}")
            return
        listed = moves[:MAX_LEGAL_MOVES]
        while True:
            more = len(listed) < len(moves)
            frame = encode({"t": "moves", "id": msg_id, "s": match.seq, "m": listed, "more": more})
            if len(frame) <= MAX_FRAME or not listed:
                break
            listed = listed[: len(listed) // 2]
        conn.send(frame)

    def _move(self, conn: Member, move: dict[str, Any], msg_id: int | None) -> None:
        if conn.seat is None:
            conn.error(msg_id, "not_seated", "spectators cannot move")
            return
        now = None
        if self._clock is not None:  # the move counts as arriving now, whatever it says
            now = now_ms()
            if self._clock.flagged(now) is not None and self._flag_fall(now, conn.seat):
                self.stats.moves_rejected += 1
                conn.error(msg_id, "time_up", "your time ran out before this move arrived")
                return
        result = self.match.submit(conn.seat, move)
        if isinstance(result, Rejection):
            self.stats.moves_rejected += 1
        else:
            self.stats.moves_accepted += 1
        self._apply(result, conn, msg_id, now)

    def freeze(self) -> None:
        """No more changes of the room's own (timers: turn clocks, grace periods, the skip
        policy; bots): it is being handed over, and what changed now could not be saved."""
        self._timers.close()
        self._auto.clear()

    def close_all(self, code: int, reason: str) -> None:
        """This process stops hosting the room: its connections, timers and bots end,
        and no change is made or saved here any more (another copy may be the room now)."""
        self._closed = True
        self.freeze()
        self._unsaved.clear()
        self._then.clear()
        waiting, self._waiting = self._waiting + self._saving_waiting, []
        self._saving_waiting = []
        _refuse(waiting, ROOM_LEFT)
        conns = list(self._conns.values())
        self._conns.clear()  # so their ends detach nothing: no grace timers, no forfeits
        self._seat_conns.clear()
        self._spectators.clear()
        for conn in conns:
            conn.close(code, reason)

    @property
    def connected(self) -> int:
        return len(self._conns)

    # Changes ------------------------------------------------------------------

    def _apply(
        self,
        result: Transition | Rejection,
        conn: Member | None,
        msg_id: Any,
        now: int | None = None,
    ) -> None:
        if self._closed:
            return
        if isinstance(result, Rejection):
            if conn is not None:
                conn.error(msg_id, result.code, result.message)
            return
        if self.control is not None:
            self._tick(result, now_ms() if now is None else now)
        if result.status == "finished" and not result.reset:
            self._count_score()  # before the save: the meta saved with the end has it
        if self.journal is None:
            self._publish(result, conn, msg_id)
            return
        self._unsaved.append((result, conn, msg_id))
        if result.reset or result.status != "playing":
            self._meta_changed = True
        self._stage()

    def _once_told(self, action: Callable[[], None]) -> None:
        """Run ``action`` after what was just changed is saved and told (at once without
        a journal): nothing may announce a change a crash could still lose."""
        if self._staged:
            self._then.append(action)
        else:
            action()

    def _stage(self) -> None:
        """Save what changed, then tell everyone: no one hears of a change a crash could lose."""
        if not self._staged:
            self._staged = True
            assert self.journal is not None
            self.journal.stage(self)

    def meta(self) -> dict[str, Any]:
        """Everything besides the log that it takes to rebuild this room elsewhere."""
        match = self.match
        return {
            "id": self.id,
            "game": match.game.name,
            "seat_count": match.seat_count,
            "options": dict(match.options_view),
            "seed": match.seed,
            "game_no": match.game_no,
            "status": match.status,
            "seats": [[s.player_id, s.name, s.bot] for s in match.seats],
            "private": self.private,
            "invite": self.invite,
            "creator": self.creator,
            "abandon": self.abandon,
            "created_at": self.created_at,
            "clock": None if self.clock is None else self.clock.as_view(),
            "clock_start": self._clock_start,
            "score": dict(self._score),
            "chats": self._chats_kept(),
        }

    def _chats_kept(self) -> list[dict[str, Any]]:
        """The newest chat lines, oldest first, within ``CHAT_KEPT_CHARS``."""
        kept: list[dict[str, Any]] = []
        left = CHAT_KEPT_CHARS
        for line in reversed(self._chats):
            left -= len(line["text"]) + len(line["name"] or "")
            if left < 0:
                break
            kept.append(line)
        kept.reverse()
        return kept

    def take_changes(self) -> Changes:
        """The journal writer takes what changed since its last batch (``Unsaved``)."""
        batch, self._unsaved = self._unsaved, []
        self._saving = batch
        self._saving_then, self._then = self._then, []
        self._saving_waiting, self._waiting = self._waiting, []
        self._staged = False
        self._in_flight = True
        match = self.match
        changes = Changes(self.id, match.game_no, [])
        if self._closed:
            return changes  # nothing more is saved from here
        entries = changes.entries
        for t, _, _ in batch:
            if t.reset:  # a new game: the log of the one before is not needed any more
                entries.clear()
                changes.new_game = True
            elif t.entry is not None:
                entries.append(t.entry)
        if self._meta_changed:
            self._meta_changed = False
            changes.meta = self.meta()
        return changes

    def saved(self, error: Exception | None) -> None:
        """The batch in flight was saved: tell everyone, in order. Or it was not: this copy
        of the room is ahead of its journal and must not go on."""
        batch, self._saving = self._saving, []
        then, self._saving_then = self._saving_then, []
        waiting, self._saving_waiting = self._saving_waiting, []
        self._in_flight = False
        if self._closed:
            _refuse(waiting, ROOM_LEFT)
            return
        if error is not None:
            _refuse(waiting, SEAT_NOT_SAVED)
            for _, conn, msg_id in batch:  # each mover hears why before the room closes
                if conn is not None:
                    conn.send_message(
                        {"t": "err", "id": msg_id if type(msg_id) is int else None,
                         "code": "not_saved", "msg": NOT_SAVED}
                    )  # fmt: skip
            self.events.unsaved(self)
            return
        for transition, conn, msg_id in batch:
            self._publish(transition, conn, msg_id)
        for action in then:
            action()
        for future in waiting:
            if not future.done():  # (a request that went away)
                future.set_result(None)

    def _publish(self, t: Transition, mover: Member | None = None, msg_id: Any = None) -> None:
        """Tell every connection what changed: the hot path of the server.

        Each distinct delta is encoded once and its bytes shared; the mover's copy
        also carries ``ack`` (its message id), so acknowledging costs no extra frame.
        """
        if t.reset:
            self._new_game_started(t, mover, msg_id)
        else:
            seq = t.seq
            message: dict[str, Any] = {"t": "d", "s": seq, "o": t.deltas[None], "a": t.to_act}
            finished = t.status == "finished"
            if finished:
                message["st"] = t.status
                message["r"] = t.outcome.as_view() if t.outcome else None
            clock = t.entry.get("c") if t.entry is not None else None
            if clock is not None:  # the clocks as of the change's arrival
                run = clock["run"]
                message["k"] = {"ms": clock["ms"], "run": run}
                if run:
                    message["dl"] = clock["at"] + min(clock["ms"][s] for s in run)
            ack = msg_id if type(msg_id) is int else None
            if self._hidden:
                self._send_deltas(t, message, mover, ack)
            else:  # everyone sees the same: one frame, one backlog
                frame = encode(message)
                self._backlog.remember(None, seq, frame)
                for conn in self._conns.values():
                    conn.send(with_field(frame, "ack", ack) if conn is mover else frame)
            if finished:
                self._broadcast_room()  # the status changed (and the score)
                self.events.finished(self)
                self.events.changed(self)
            elif self.control is not None and self.control.correspondence:
                self.events.changed(self)  # whose turn and the deadline, for "my games"
            to_act = t.to_act
            usual = t.kind == "move" and len(to_act) == 1 and to_act[0] in self._seat_conns
            if finished or not usual:  # (usual: the one to act next is here, and sees the ``d``)
                self._tell_players(t)
        if self._auto.seats:
            self._auto.schedule()

    def _send_deltas(
        self, t: Transition, message: dict[str, Any], mover: Member | None, ack: int | None
    ) -> None:
        """Hidden information: each audience gets its own delta (shared where equal)."""
        frames: dict[int, bytes] = {}
        for audience, ops in t.deltas.items():
            frame = frames.get(id(ops))
            if frame is None:
                message["o"] = ops
                frame = frames[id(ops)] = encode(message)
            self._backlog.remember(audience, t.seq, frame)
            if audience is None:
                for spectator in self._spectators:
                    spectator.send(frame)
                continue
            conn = self._seat_conns.get(audience)
            if mover is not None and mover.seat == audience and conn is not mover:
                mover.send(with_field(frame, "ack", ack))  # the mover, replaced meanwhile
            if conn is not None:
                conn.send(with_field(frame, "ack", ack) if conn is mover else frame)

    def _tell_players(self, t: Transition) -> None:
        """The per-player streams hear what a player away from the room needs to know:
        a turn that begins (if they are not connected here; those who are see the ``d``),
        an opponent who left, and the end of the game (everyone seated)."""
        seats = self.match.seats
        tell = self.events.tell
        if t.status == "finished":
            result = t.outcome.as_view() if t.outcome else None
            for i, seat in enumerate(seats):
                if seat.kind == "human" and seat.player_id is not None:
                    tell(seat.player_id, "game_over", {"room": self.id, "seat": i, "r": result})
            return
        if t.kind == "forfeit" and t.seat is not None:
            gone = {"room": self.id, "seat": t.seat, "reason": t.entry["m"] if t.entry else None}
            for i, seat in enumerate(seats):
                if i != t.seat and seat.kind == "human" and seat.player_id is not None:
                    tell(seat.player_id, "opponent_left", gone)
        here = self._seat_conns
        for i in t.to_act:
            if i in here or i == t.seat:  # the usual move: the next to act is here
                continue  # (or still to act): the ``d`` tells them
            seat = seats[i]
            if seat.kind != "human":
                continue  # nobody to tell
            assert seat.player_id is not None
            tell(seat.player_id, "your_turn", self._turn_event(i))

    def _turn_event(self, seat: int) -> dict[str, Any]:
        clock, control = self._clock, self.control
        return {
            "room": self.id,
            "game": self.match.game.name,
            "seat": seat,
            "deadline": clock.deadline() if clock is not None else None,
            "correspondence": control is not None and control.correspondence,
        }

    def _new_game_started(self, t: Transition, mover: Member | None, msg_id: Any) -> None:
        self._rematch.clear()
        self._backlog.clear()
        seats = self._seats_view(grace=True)
        if self._hidden:
            for conn in self._conns.values():
                conn.send_message(self._snap(conn.seat, seats))
        else:
            # Every seat sees the same view: the snapshot is encoded once, and each
            # connection's ``seat`` is added to its bytes (as a mover's ``ack`` is to a ``d``).
            public = self._snap(None, seats)
            del public["seat"]
            frame = encode(public)
            for conn in self._conns.values():
                conn.send(with_field(frame, "seat", conn.seat))
        if mover is not None and type(msg_id) is int:
            mover.send_message({"t": "ack", "id": msg_id, "s": t.seq})
        self.events.changed(self)
        self._tell_players(t)  # the first to act may have gone since confirming the seat

    def _maybe_start(self) -> None:
        match = self.match
        if match.status != "waiting" or match.free_seats():
            return
        if len(self._confirmed) < match.seat_count:
            return
        self._apply(match.start(), None, None)
        self._once_told(self._broadcast_room)  # "playing" only once the start is saved

    def _vote_rematch(self, conn: Member, msg_id: Any) -> None:
        if conn.seat is None:
            conn.error(msg_id, "not_seated", "spectators cannot ask for a rematch")
            return
        if self.match.status != "finished":
            conn.error(msg_id, "not_finished", "a rematch follows a finished game")
            return
        self._rematch.add(conn.seat)
        humans = {i for i, s in enumerate(self.match.seats) if s.kind == "human"}
        if humans <= self._rematch:
            # The new game's snapshots carry the seats and status; no room message needed.
            started = self.match.rematch(new_seed(), rotate=True)
            self._seats_rotated()
            self._apply(started, conn, msg_id)
            return
        if type(msg_id) is int:
            conn.send_message({"t": "ack", "id": msg_id, "s": self.match.seq})
        self._broadcast_room()

    def _seats_rotated(self) -> None:
        """The players moved one seat on (``Match.rematch``): so do their connections and
        what the room keeps per seat. A player away keeps a full grace period."""
        count = self.match.seat_count
        self._seat_conns = {(s + 1) % count: c for s, c in self._seat_conns.items()}
        for seat, member in self._seat_conns.items():
            member.seat = seat
        self._confirmed = {(s + 1) % count for s in self._confirmed}
        self._auto.seats = {(s + 1) % count: how for s, how in self._auto.seats.items()}
        for seat in range(count):
            self._stop_grace(seat)
        for seat, info in enumerate(self.match.seats):
            if info.kind == "human" and seat not in self._seat_conns:
                self._start_grace(seat)

    def _chat(self, conn: Member, msg: ChatMsg) -> None:
        text = msg.text.strip()
        if not text:
            conn.error(msg.id, "bad_message", "text: a chat line needs more than white space")
            return
        if not conn.chat.allow():
            conn.error(msg.id, "chat_rate_limited", "too many chat lines; wait a few seconds")
            return
        line = {
            "t": "chat",
            "seat": conn.seat,
            "name": conn.name,
            "text": text,
            "at": utc_now_iso(),
        }
        self._chats.append(line)
        self._chats_frame = None
        if self.journal is not None:  # saved with the metadata before anyone sees it
            self._meta_changed = True
            self._stage()
        frame = encode(line)
        self._once_told(lambda: self._send_all(frame))

    def _chats_message(self) -> bytes:
        """The chat history as one frame: the newest lines that fit in ``MAX_FRAME``."""
        if self._chats_frame is None:
            lines = list(self._chats)
            frame = encode({"t": "chats", "l": lines})
            while len(frame) > MAX_FRAME and lines:
                lines = lines[len(lines) // 4 or 1 :]  # long lines: drop the oldest quarter
                frame = encode({"t": "chats", "l": lines})
            self._chats_frame = frame
        return self._chats_frame

    # What each connection sees ---------------------------------------------------

    def _seats_view(self, grace: bool = False) -> list[dict[str, Any]]:
        """The seats as lists show them; ``grace`` (room and snap messages) adds ``back``,
        when an away player's grace period ends."""
        seats = []
        for i, seat in enumerate(self.match.seats):
            entry = seat.as_view()
            entry["on"] = i in self._seat_conns or entry["kind"] == "bot"
            if grace and i in self._back_by:
                entry["back"] = self._back_by[i]
            seats.append(entry)
        return seats

    def _room_message(self) -> dict[str, Any]:
        return {
            "t": "room",
            "room": self.id,
            "st": self.match.status,
            "seats": self._seats_view(grace=True),
            "spec": len(self._spectators),
            "rematch": sorted(self._rematch),
            "score": [
                self._score.get(s.player_id, 0.0) if s.player_id else 0.0 for s in self.match.seats
            ],
        }

    def _count_score(self) -> None:
        outcome = self.match.outcome
        if outcome is None:
            return
        for seat, info in enumerate(self.match.seats):
            if info.player_id is None:
                continue
            points = 0.5 if outcome.draw else 1.0 if seat in outcome.winners else 0.0
            self._score[info.player_id] = self._score.get(info.player_id, 0.0) + points

    def _snap(self, seat: int | None, seats: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        match = self.match
        view: View = match.view(seat)
        return {
            "t": "snap",
            "s": match.seq,
            "n": match.game_no,
            "room": self.id,
            "g": match.game.name,
            "seat": seat,
            "v": view,
            "lo": match.last_change(seat),
            "a": list(match.to_act),
            "st": match.status,
            "r": match.outcome.as_view() if match.outcome else None,
            **self._clock_fields(),
            "seats": self._seats_view(grace=True) if seats is None else seats,
        }

    def _clock_fields(self) -> dict[str, Any]:
        """``dl`` and ``k`` of a snapshot: the clocks as of now."""
        clock = self._clock
        if clock is None or self.match.status == "waiting":
            return {"dl": None, "k": None}
        return {"dl": clock.deadline(), "k": clock.wire(now_ms())}

    def _send_state(self, conn: Member, since: int | None, game: int | None) -> None:
        """Bring a (re)joining connection up to date: the missed deltas, or a snapshot."""
        match = self.match
        seq = match.seq
        if (
            since is not None
            and game == match.game_no
            and 1 <= since <= seq
            and match.state is not None
        ):
            if since == seq:
                return
            missed = self._backlog.since(conn.seat if self._hidden else None, since)
            if missed is not None:
                for frame in missed:
                    conn.send(frame)
                return
        conn.send_message(self._snap(conn.seat))

    def _broadcast_room(self) -> None:
        self._send_all(encode(self._room_message()))

    def _send_all(self, frame: bytes) -> None:
        """One frame to every connection in the room."""
        for conn in self._conns.values():
            conn.send(frame)

    def _drop(self, conn: Member) -> int | None:
        """Forget a connection; returns the seat it held."""
        self._spectators.discard(conn)
        seat = conn.seat
        if seat is not None and self._seat_conns.get(seat) is conn:
            del self._seat_conns[seat]
            return seat
        return None

    def _free(self, seat: int) -> None:
        self.match.stand(seat)
        self._confirmed.discard(seat)
        self._timers.cancel("reservation", seat)
        self._stop_grace(seat)
        self._seats_changed()
        self._once_told(self._broadcast_room)  # the seat shown free once that is saved

    def _seats_changed(self) -> None:
        """The seats changed: the room directory hears of it once it is saved."""
        if self.journal is None:
            self.events.changed(self)
            return
        self._meta_changed = True
        self._stage()
        self._once_told(lambda: self.events.changed(self))

    # Timers ------------------------------------------------------------------------

    def _start_grace(self, seat: int) -> None:
        """A seated player is away: the abandon policy takes the seat unless they are back
        in time (``back``, shown to the others as a countdown). Not by correspondence,
        where being away is normal and only the move deadline counts."""
        if self.control is not None and self.control.correspondence:
            return
        seconds = self.settings.grace_seconds
        self._back_by[seat] = int((time.time() + seconds) * 1000)
        self._timers.set("grace", seat, seconds, self._abandon, seat)

    def _stop_grace(self, seat: int) -> None:
        self._back_by.pop(seat, None)
        self._timers.cancel("grace", seat)

    def _lapse(self, seat: int) -> None:
        """A reservation ran out before its player connected."""
        if self.match.status == "waiting" and seat not in self._confirmed:
            self._free(seat)

    def _abandon(self, seat: int) -> None:
        """The grace period ran out: the room's abandon policy takes the seat."""
        self._back_by.pop(seat, None)
        if seat in self._seat_conns:
            return
        if self.match.status == "waiting":
            self._free(seat)
        elif self.match.status == "playing":
            if self.abandon == "forfeit":
                self._apply(self.match.forfeit(seat, "abandoned"), None, None)
            else:
                self._auto.stand_in(seat, "skip" if self.abandon == "skip" else "best")
                self._auto.schedule()

    def _reservation_seconds(self) -> float:
        """How long a seat is held for a player to connect: a move's time by correspondence."""
        control = self.control
        if control is not None and control.correspondence:
            return control.limit_ms / 1000
        return self.settings.reservation_seconds

    def _tick(self, t: Transition, now: int) -> None:
        """Run the clocks through a change that arrived at ``now`` and set the flag timer.

        The clocks after a change go in its log entry (``c``), so the journal has them:
        another process, a resume and a record all see the times the room saw.
        """
        control = self.control
        assert control is not None
        match = self.match
        if t.reset:
            self._clock = clocks.start(control, match.seat_count, t.to_act, now)
            self._clock_start = self._clock.as_data()
        elif self._clock is not None:
            to_act = t.to_act if t.status == "playing" else ()
            moved = t.kind == "move"
            self._clock = clocks.advance(control, self._clock, t.seat, moved, to_act, now)
            if t.entry is not None:
                t.entry["c"] = self._clock.as_data()
        self._arm_flag(now)

    def _arm_flag(self, now: int) -> None:
        self._timers.cancel("turn", 0)
        self._timers.cancel("remind", 0)
        clock = self._clock
        deadline = None if clock is None or self.match.status != "playing" else clock.deadline()
        if deadline is not None:
            delay = max(0, deadline - now) / 1000
            self._timers.set("turn", 0, delay, self._flag_timer, moment_of(self.match))
            control = self.control
            if control is not None and control.correspondence:
                remind = deadline - control.limit_ms * REMIND_AT_LEFT - now
                if remind > 0:
                    self._timers.set(
                        "remind", 0, remind / 1000, self._remind, moment_of(self.match)
                    )

    def _remind(self, moment: Moment) -> None:
        """Most of a correspondence move's time is spent: remind those to move who are away."""
        if moment_of(self.match) != moment or self.match.status != "playing":
            return
        for i in self.match.to_act:
            seat = self.match.seats[i]
            if seat.kind == "human" and seat.player_id and i not in self._seat_conns:
                self.events.tell(seat.player_id, "reminder", self._turn_event(i))

    def _flag_timer(self, moment: Moment) -> None:
        if moment_of(self.match) != moment or self.match.status != "playing":
            return
        now = now_ms()
        if not self._flag_fall(now, None):
            self._arm_flag(now)  # woke early (the loop's clock is coarse): wait on

    def _flag_fall(self, now: int, mover: int | None) -> bool:
        """Every clock out at ``now`` falls, first out first: the game's timeout rule
        applies (``Match.timeout``). True if ``mover``'s own fell (or, for None, any)."""
        fell = False
        while self._clock is not None and self.match.status == "playing":
            seat = self._clock.flagged(now)
            if seat is None:
                break
            fell = fell or mover is None or seat == mover
            result = self.match.timeout(seat)
            if isinstance(result, Rejection):  # the game refused: do not spin on it
                log.error("room %s: timeout of seat %s refused: %s", self.id, seat, result.message)
                break
            self._apply(result, None, None, now)
        return fell

    def _restore_clock(self, start: dict[str, Any] | None, entries: list[LogEntry]) -> None:
        """The clocks of a restored room: as the last saved change left them (the time
        since counts: the clocks ran while no process hosted the room)."""
        if self.control is None or self.match.status == "waiting":
            return
        saved = next((e["c"] for e in reversed(entries) if "c" in e), start)
        if saved is None:  # saved before this room had clocks: start them now
            now = now_ms()
            saved = clocks.start(self.control, self.match.seat_count, self.match.to_act, now)
            saved = saved.as_data()
        self._clock_start = start or saved
        self._clock = ClockState.from_data(saved)
        self._arm_flag(now_ms())

    def _stand_in_acted(self, result: Transition | Rejection) -> None:
        """A bot's move or a skipped turn (``Autoplay``), made like any other change."""
        self._apply(result, None, None)
