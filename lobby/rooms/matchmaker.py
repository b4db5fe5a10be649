"""Quick-match: tickets wait in a queue; compatible ones become a room.

A ticket asks for a game with some options and a number of seats. The matchmaker's
loop (``run``, a background task of the app) wakes every ``interval`` seconds, or at
once when a ticket arrives, and takes groups of compatible tickets from the queue:
the same game, options and seats, and ratings close enough. How close widens as a
ticket waits (``RatingWindow``: ±100, and 50 more every 5 s). Each group gets a new
room with a seat reserved for every player, who hears of it by server-sent event
(``Notifier``) and in the ticket's status.

Rules: one live ticket per player and game (asking again for the same thing gives
the same ticket; asking for something else in that game is refused until the first
is cancelled). A ticket lasts ``ticket_ttl`` seconds (``Settings.ticket_seconds``, 60 by
default) and then expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from meeple.lobby.ops.logs import Outage
from meeple.lobby.players.presence import Presence
from meeple.lobby.players.ratings import DEFAULT_RATING
from meeple.lobby.rooms.manager import RoomManager
from meeple.lobby.rooms.room import RoomError, describe_validation
from meeple.lobby.stores.base import RatingStore, RatingWindow, Ticket, TicketQueue, new_id

log = logging.getLogger("meeple.matchmaker")

TICKET_TTL = 60.0
INTERVAL = 0.1
#: While rounds keep failing (the store is down), wait up to this long between tries.
RETRY_MAX = 5.0
KEEPALIVE = 15.0
"""Seconds between keep-alive comments on an idle event stream."""


def ws_path(room_id: str) -> str:
    return f"/ws/rooms/{room_id}"


@dataclass(frozen=True, slots=True)
class Event:
    """One server-sent event for a player."""

    name: str
    data: dict[str, Any]
    at: float


class Notifier:
    """Per-player event streams, in this process.

    Events for a player with no open stream wait (a few, for ``keep`` seconds) and are
    delivered when one opens, so a match made between POST and EventSource is not lost.
    """

    def __init__(self, keep: float = 60.0, max_pending: int = 32) -> None:
        self._keep = keep
        self._max_pending = max_pending
        self._streams: dict[str, set[asyncio.Queue[Event]]] = {}
        self._pending: dict[str, deque[Event]] = {}
        self.relay: Callable[[str, str, dict[str, Any]], None] | None = None
        """With several processes: sends an event to every process's ``deliver``."""
        self.presence: Presence | None = None
        """Told of every stream that opens and closes (a player with one is present)."""

    def publish(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """Tell a player, whichever process holds their stream."""
        if self.relay is not None:
            self.relay(player_id, name, data)
        else:
            self.deliver(player_id, name, data)

    def deliver(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """Hand an event to this process's streams for the player (or hold it a while)."""
        event = Event(name, data, time.monotonic())
        streams = self._streams.get(player_id)
        if streams:
            for queue in streams:
                queue.put_nowait(event)
        else:  # held: a new deque only for the first (every game over comes here in a bench)
            pending = self._pending.get(player_id)
            if pending is None:
                pending = self._pending[player_id] = deque(maxlen=self._max_pending)
            pending.append(event)

    def seen(self, player_id: str, ticket_id: str) -> None:
        """The player learned how a ticket ended (by polling it): drop its waiting events."""
        pending = self._pending.get(player_id)
        if pending:
            kept = [e for e in pending if e.data.get("ticket") != ticket_id]
            if kept:
                self._pending[player_id] = deque(kept, maxlen=self._max_pending)
            else:
                del self._pending[player_id]

    def subscribe(self, player_id: str) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        cutoff = time.monotonic() - self._keep
        for event in self._pending.pop(player_id, ()):
            if event.at >= cutoff:
                queue.put_nowait(event)
        self._streams.setdefault(player_id, set()).add(queue)
        if self.presence is not None:
            self.presence.opened(player_id)
        return queue

    def unsubscribe(self, player_id: str, queue: asyncio.Queue[Event]) -> None:
        streams = self._streams.get(player_id)
        if streams is not None and queue in streams:
            streams.discard(queue)
            if not streams:
                del self._streams[player_id]
            if self.presence is not None:
                self.presence.closed(player_id)

    def prune(self) -> None:
        cutoff = time.monotonic() - self._keep
        for player_id in [p for p, q in self._pending.items() if not q or q[-1].at < cutoff]:
            del self._pending[player_id]

    def streams(self, player_id: str) -> int:
        return len(self._streams.get(player_id, ()))


class TicketConflict(Exception):
    """The player already has a different live ticket for this game."""

    def __init__(self, existing: Ticket) -> None:
        super().__init__(existing.id)
        self.existing = existing


class Matchmaker:
    def __init__(
        self,
        queue: TicketQueue,
        rooms: RoomManager,
        ratings: RatingStore,
        *,
        ticket_ttl: float = TICKET_TTL,
        interval: float = INTERVAL,
        window: RatingWindow | None = None,
        keepalive: float = KEEPALIVE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.rooms = rooms
        self.ratings = ratings
        self.ticket_ttl = ticket_ttl
        self.interval = interval
        self.window = window or RatingWindow()
        self.keepalive = keepalive
        self.clock = clock
        self.events = Notifier()
        self._wake = asyncio.Event()

    async def submit(
        self,
        player_id: str,
        name: str,
        game: str,
        options: Mapping[str, Any] | None,
        seats: int | None,
    ) -> tuple[Ticket, bool]:
        """Queue a ticket; returns it and whether it is new (False: the same one again).

        Raises RoomError (422) for an unknown game or bad options or seats, and
        TicketConflict when the player waits for another kind of match in this game.
        """
        try:
            definition = self.rooms.games.lookup(game)
        except KeyError as exc:
            raise RoomError("unknown_game", str(exc.args[0]), 422) from None
        count = seats or definition.min_seats
        if not definition.min_seats <= count <= definition.max_seats:
            raise RoomError(
                "bad_seats",
                f"{game} takes {definition.min_seats} to {definition.max_seats} seats, not {count}",
                422,
            )
        try:
            parsed = definition.parse_options(options).model_dump(mode="json")
        except ValidationError as exc:
            raise RoomError("bad_options", f"options.{describe_validation(exc)}", 422) from None
        rating = await self.ratings.get(game, player_id)
        now = self.clock()
        ticket = Ticket(
            id=new_id("t"),
            player_id=player_id,
            name=name,
            game=game,
            options=parsed,
            seats=count,
            rating=rating.rating if rating else DEFAULT_RATING,
            created_at=now,
            expires_at=now + self.ticket_ttl,
        )
        stored, created = await self.queue.add(ticket)
        if not created and stored.key != ticket.key:
            raise TicketConflict(stored)
        self._wake.set()
        return stored, created

    async def run(self) -> None:
        """The matchmaking loop: a background task for the app's lifetime.

        While rounds fail (the store is down) it waits twice as long after each failure,
        up to ``RETRY_MAX``, and logs the outage as one (``Outage``): a line when it
        starts, one every 30 s while it lasts, one when it ends."""
        outage = Outage(log, "matchmaking", clock=self.clock)
        failures = 0
        while True:
            backoff = min(self.interval * 2**failures, RETRY_MAX)
            await self.rest(backoff if failures else self.interval)
            try:
                await self.tick()
            except Exception as exc:
                failures += 1
                outage.failed(exc)
            else:
                failures = 0
                outage.worked()

    async def rest(self, seconds: float) -> None:
        """Wait ``seconds`` between rounds, or less if a ticket arrives."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def tick(self) -> int:
        """One round: expire old tickets, then match every group there is. Returns rooms made."""
        now = self.clock()
        for ticket in await self.queue.expire(now):
            self.events.publish(ticket.player_id, "expired", {"ticket": ticket.id})
        self.events.prune()
        made = 0
        while True:
            group = await self.queue.take_group(self.clock(), self.window, self.rooms.games)
            if group is None:
                return made
            await self._open_room(group)
            made += 1

    async def _open_room(self, group: list[Ticket]) -> None:
        first = group[0]
        try:
            room = await self.rooms.create(first.game, seats=first.seats, options=first.options)
            seats = list(range(first.seats))
            random.shuffle(seats)
            reserved = []
            for ticket, seat in zip(group, seats, strict=True):
                got, _ = room.reserve(ticket.player_id, ticket.name, seat)
                reserved.append((ticket, got))
            await self.rooms.settled(room)  # announced only once the seats are saved
        except Exception:
            log.exception("could not open a room for tickets %s", [t.id for t in group])
            await self.queue.settle([replace(t, status="waiting") for t in group])
            return
        now = self.clock()
        settled = [
            replace(ticket, status="matched", room=room.id, seat=seat, settled_at=now)
            for ticket, seat in reserved
        ]
        await self.queue.settle(settled)
        for ticket in settled:
            self.events.publish(
                ticket.player_id,
                "matched",
                {"ticket": ticket.id, "room": room.id, "seat": ticket.seat, "ws": ws_path(room.id)},
            )
