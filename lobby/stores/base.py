"""The store interfaces. Every implementation (memory.py, the redis and sql packages)
has this shape."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import msgpack


def new_token() -> str:
    """A session token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    """Tokens are kept only as hashes: a leaked store leaks no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


_packer = msgpack.Packer(use_bin_type=True)


def pack(value: Any) -> bytes:
    """What the journals keep (Redis, SQL): MessagePack, bytes as bytes. One packer for
    every call (``msgpack.packb`` makes one a call, which cost three times the packing:
    1.6 µs against 0.4 for a move's log entry); so call it on the event loop's thread
    only, as every store does."""
    data: bytes = _packer.pack(value)
    return data


def unpack(data: Any) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def make_cursor(at: float, item_id: str) -> str:
    """A page cursor: a time and an id, exact (``repr`` of a float reads back equal)."""
    return f"{at!r}:{item_id}"


def read_cursor(cursor: str) -> tuple[float, str]:
    """The (time, id) of a cursor; ValueError if it is not one ``make_cursor`` made."""
    at, sep, item_id = cursor.partition(":")
    if not sep:
        raise ValueError(f"not a cursor: {cursor!r}")
    return float(at), item_id


@dataclass(frozen=True, slots=True)
class Session:
    player_id: str
    name: str
    expires_at: float
    """Unix time; slides forward on every use."""


class SessionStore(Protocol):
    async def create(self, name: str, player_id: str | None = None) -> tuple[str, Session]:
        """A new session and its token (the only time the token is seen): for a new guest,
        or for ``player_id`` (an account logging in)."""
        ...

    async def get(self, token: str) -> Session | None:
        """The live session for ``token``, its expiry slid forward; None if unknown or expired."""
        ...

    async def revoke(self, token: str) -> None: ...

    async def revoke_player(self, player_id: str) -> None:
        """End every session of the player ("log out everywhere")."""
        ...


@dataclass(slots=True)
class Changes:
    """One room's changes in one batch of the journal: what it must add to what it has."""

    room_id: str
    game_no: int
    """The game the entries belong to."""
    entries: list[dict[str, Any]]
    """New log entries of that game, in order (``entries[0]["s"]`` follows the saved ones)."""
    meta: dict[str, Any] | None = None
    """The room's metadata (``Room.meta``) when it changed since the last save, else None."""
    new_game: bool = False
    """A game started: the previous game's log is dropped (its record has it)."""


class ConnectTickets(Protocol):
    """Short-lived, single-use stand-ins for a session token, for the URLs that must
    carry a credential (a browser's WebSocket and EventSource): a URL reaches logs, and
    a ticket there is worth nothing once used or a few seconds old."""

    async def issue(self, session: Session, ttl: float) -> str:
        """A new ticket for ``session``'s player, good once within ``ttl`` seconds."""
        ...

    async def redeem(self, ticket: str) -> Session | None:
        """The session a live ticket stands for, which is then spent; None otherwise."""
        ...


RoomSummary = dict[str, Any]
"""What the lobby lists about a room: id, game, status, seats, free, private, created_at, …"""


def seated_players(summary: RoomSummary) -> list[str]:
    """The people (not bots) holding a seat in the room."""
    return [s["player_id"] for s in summary.get("seats", ()) if s.get("kind") == "human"]


class RoomDirectory(Protocol):
    """Every room of every process, as the lobby lists it."""

    async def put(self, summary: RoomSummary) -> None: ...

    async def put_many(self, summaries: Sequence[RoomSummary]) -> None:
        """``put`` each (the rooms that changed in one loop turn), together."""
        ...

    async def get(self, room_id: str) -> RoomSummary | None: ...

    async def remove(self, room_id: str) -> None: ...

    async def page(
        self,
        *,
        game: str | None,
        status: str | None,
        free: bool | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[RoomSummary], str | None]:
        """Public rooms, newest first, after ``cursor``; and the cursor of the next page."""
        ...

    async def room_for_invite(self, code: str) -> str | None: ...

    async def rooms_of(self, player_id: str) -> list[RoomSummary]:
        """The rooms (private ones too) where ``player_id`` holds a seat, in any order."""
        ...


# Web Push subscriptions ---------------------------------------------------------------

PushSubscription = dict[str, Any]
"""A browser's ``PushSubscription.toJSON()``: ``{endpoint, keys: {p256dh, auth}}``."""
MAX_PUSH_SUBSCRIPTIONS = 10
"""Per player (browsers, devices); a new one beyond that replaces the oldest."""


class PushSubscriptions(Protocol):
    """Where each player's Web Push subscriptions are kept, by endpoint."""

    async def add(self, player_id: str, subscription: PushSubscription) -> None: ...

    async def of(self, player_id: str) -> list[PushSubscription]: ...

    async def remove(self, player_id: str, endpoint: str) -> None: ...


# Invitations --------------------------------------------------------------------------

Invitation = dict[str, Any]
"""One player asking another into a room: room, game, from ({player_id, name}), at,
private, invite (a private room's code), expires_at (Unix time)."""
MAX_INVITATIONS = 50
"""Per invitee; a new one beyond that replaces the oldest."""


class InvitationStore(Protocol):
    """Each player's invitations into rooms, by room (one per room: asked again, the
    newest stands), until they expire."""

    async def add(self, player_id: str, invitation: Invitation) -> None: ...

    async def of(self, player_id: str) -> list[Invitation]:
        """The player's invitations not yet expired, newest first."""
        ...

    async def remove(self, player_id: str, room_id: str) -> None: ...


# Presence -----------------------------------------------------------------------------


class PresenceStore(Protocol):
    """Which players have an open connection (an event stream, a room socket) on some
    process: a push is for a player who has none. Each process renews its own players;
    a process that dies stops renewing, and its players are gone ``ttl`` later."""

    async def renew(self, node: str, players: Sequence[str], ttl: float) -> None:
        """These players are connected to ``node``, for ``ttl`` seconds (unless renewed)."""
        ...

    async def leave(self, node: str, player_id: str) -> None:
        """The player has no connection to ``node`` any more."""
        ...

    async def present(self, player_id: str) -> bool:
        """Whether the player is connected to any process."""
        ...


# Quick-match tickets ----------------------------------------------------------------

TicketStatus = Literal["waiting", "matching", "matched", "expired", "cancelled"]
"""``matching`` is internal: taken into a group whose room is being made."""
LIVE_TICKET: tuple[TicketStatus, ...] = ("waiting", "matching")


@dataclass(frozen=True, slots=True)
class Ticket:
    """One player's wish to play ``game`` with these options and seats."""

    id: str
    player_id: str
    name: str
    game: str
    options: dict[str, Any]
    """Already validated and normalized (every field, defaults filled in)."""
    seats: int
    rating: float
    """The player's rating for the game when the ticket was made."""
    created_at: float
    expires_at: float
    status: TicketStatus = "waiting"
    room: str | None = None
    seat: int | None = None
    settled_at: float | None = None

    @property
    def key(self) -> str:
        """Tickets with equal keys may play together."""
        return ticket_key(self.game, self.seats, self.options)


def ticket_key(game: str, seats: int, options: dict[str, Any]) -> str:
    return f"{game}:{seats}:{json.dumps(options, sort_keys=True, separators=(',', ':'))}"


@dataclass(frozen=True, slots=True)
class RatingWindow:
    """How far apart two ratings may be to play: ``base``, widened by ``step`` every
    ``every`` seconds a ticket waits. Plain numbers, so a store can apply it itself."""

    base: float = 100.0
    step: float = 50.0
    every: float = 5.0

    def width(self, waited: float) -> float:
        return self.base + self.step * math.floor(max(0.0, waited) / self.every)


class TicketQueue(Protocol):
    """The quick-match queue. Every method is atomic."""

    async def add(self, ticket: Ticket) -> tuple[Ticket, bool]:
        """Queue a waiting ticket, unless its player already has a live ticket for the same
        game: then that ticket and False (the new one is dropped)."""
        ...

    async def get(self, ticket_id: str) -> Ticket | None: ...

    async def cancel(self, ticket_id: str, now: float) -> Ticket | None:
        """Cancel a waiting ticket; returns the ticket as it now is (None if unknown)."""
        ...

    async def take_group(
        self, now: float, window: RatingWindow, games: Container[str] | None = None
    ) -> list[Ticket] | None:
        """Take one group of waiting tickets that may play together (equal keys, as many
        as their seats, ratings within every member's window), now ``matching``; None
        when no group can be made. With ``games``, only tickets for those games (the
        ones this process serves) are taken."""
        ...

    async def settle(self, tickets: Sequence[Ticket]) -> None:
        """Store what became of taken tickets: ``matched`` (with room and seat), or
        ``waiting`` to go back in the queue."""
        ...

    async def expire(self, now: float) -> list[Ticket]:
        """Waiting tickets past ``expires_at``, now ``expired``; long-settled ones are forgotten."""
        ...


# Finished games and ratings --------------------------------------------------------

GameRecord = dict[str, Any]
"""``Room.record()``: id, room, game, game_no, options, seed, seat_count, seats,
outcome, log, finished_at."""


def renamed(record: GameRecord, player_id: str, name: str) -> GameRecord:
    """The record with the player's seats under ``name``."""
    seats = [
        {**seat, "name": name} if seat.get("player_id") == player_id else seat
        for seat in record.get("seats", ())
    ]
    return {**record, "seats": seats}


def human_players(record: GameRecord) -> list[str]:
    """The players whose histories hold the record: its human seats'."""
    return sorted(
        {
            seat["player_id"]
            for seat in record.get("seats", ())
            if seat.get("kind") == "human" and seat.get("player_id")
        }
    )


class RecordStore(Protocol):
    async def put(self, record: GameRecord) -> None: ...

    async def get(self, record_id: str) -> GameRecord | None: ...

    async def for_player(
        self, player_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[GameRecord], str | None]:
        """The player's finished games, newest first, after ``cursor``; and the next cursor."""
        ...

    async def rename_player(self, player_id: str, name: str) -> None:
        """Show the player under ``name`` in every record of theirs (a deleted account's
        games stay in others' histories, under an anonymous name)."""
        ...


@dataclass(frozen=True, slots=True)
class PlayerRating:
    player_id: str
    name: str
    rating: float
    rd: float
    volatility: float
    games: int


Rate = Callable[[GameRecord, Mapping[str, PlayerRating | None]], Sequence[PlayerRating]]
"""A finished game's new ratings, from those of its human players in its game before
it (None for a first game): ``players.ratings.rate_record``. Called where the game is
written; if it raises, the write writes nothing."""


class RatingStore(Protocol):
    async def get(self, game: str, player_id: str) -> PlayerRating | None: ...

    async def put_many(self, game: str, ratings: Sequence[PlayerRating]) -> None: ...

    async def rename_player(self, player_id: str, name: str) -> None:
        """Show the player under ``name`` on every leaderboard."""
        ...

    async def page(
        self, game: str, *, cursor: str | None, limit: int
    ) -> tuple[list[PlayerRating], str | None]:
        """Best first (by rating, then player id), after ``cursor``."""
        ...


# Accounts ---------------------------------------------------------------------------

MAX_LOGIN_WAIT = 900.0
"""Seconds: the longest a key's next log-in attempt must wait after failures."""
LOGIN_FAILURES_KEPT = 86_400.0
"""A key's failures are forgotten this long after its last one."""


def login_wait(count: int, free: int) -> float:
    """How long the next attempt waits after ``count`` failures in a row, ``free`` of them
    allowed: nothing, then 1 s, doubling each time, up to ``MAX_LOGIN_WAIT``."""
    return 0.0 if count < free else min(MAX_LOGIN_WAIT, 2.0 ** (count - free))


class LoginFailures(Protocol):
    """Failed log-ins per key (an account's username key, a client address), shared by
    every process, so that the slow-down holds whichever process a client reaches."""

    async def wait(self, keys: Sequence[str]) -> float:
        """Seconds before every one of ``keys`` may try again (0: now)."""
        ...

    async def failed(self, key: str, free: int) -> None:
        """One more failure in a row for ``key``: past ``free`` of them, the next attempt
        waits ``login_wait``."""
        ...

    async def succeeded(self, key: str) -> None:
        """A log-in succeeded: the key starts afresh."""
        ...


@dataclass(frozen=True, slots=True)
class Account:
    """A player who can log in again: the player id is the one their guest session had."""

    player_id: str
    username: str | None
    """As typed at sign-up; None once the account is deleted."""
    username_key: str | None
    """The unique form (``players.accounts.username_key``); None once deleted."""
    display_name: str
    password_hash: str | None
    is_bot: bool
    created_at: float
    deleted_at: float | None = None


class AccountStore(Protocol):
    async def create(self, account: Account) -> bool:
        """Add the account; False (nothing written) if its username or player id is taken."""
        ...

    async def get(self, player_id: str) -> Account | None: ...

    async def by_username(self, username_key: str) -> Account | None: ...

    async def update(self, account: Account) -> None:
        """Replace the account with this player id (a new hash, a new name, deletion)."""
        ...

    async def replace_hash(self, player_id: str, old: str, new: str) -> bool:
        """Set the password hash to ``new`` if it is still ``old``: a log-in that makes
        the hash again must not undo a deletion or another change made meanwhile."""
        ...
