"""The rooms this process hosts, and how their changes reach the rest of the service.

The manager creates rooms, finds them for the gateway and the REST API, mirrors each
room's summary into the room directory (the store the lobby lists from), and passes
finished games on to whoever records them (records, ratings).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, Protocol

from meeple.game.clock import TimeControl
from meeple.game.match import Match
from meeple.game.registry import Registry
from meeple.lobby.ops.metrics import Stats
from meeple.lobby.rooms.journal import Journal, JournalWriter
from meeple.lobby.rooms.room import Room, RoomError, abandon_policy
from meeple.lobby.rooms.seeds import new_seed
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import RoomDirectory, new_id

log = logging.getLogger("meeple.rooms")

GameOverHook = Callable[[dict[str, Any]], Awaitable[None]]

INVITE_BYTES = 16
"""A private room's invite code is 128 random bits (22 URL-safe characters): the only key
to the room, so nobody finds one by trying, even at many addresses' rate limits."""


def new_invite() -> str:
    return secrets.token_urlsafe(INVITE_BYTES)


class Ownership(Protocol):
    """Which process hosts which room, when several share Redis (``cluster.Cluster``)."""

    async def claim(self, room_id: str) -> bool:
        """Take the room's lease (or keep it); False if another process holds it."""
        ...

    async def release(self, room_id: str) -> None: ...

    async def rehost(self, room_id: str) -> None: ...

    async def locate(self, room_id: str) -> Room | str | None:
        """The room if it is (or can now be) hosted here; else its owner's node id.
        RoomError (503) when nobody hosts it and its game is not served here."""
        ...

    async def call(self, owner: str, room_id: str, method: str, args: list[Any]) -> Any:
        """Run a room method on its owner and wait for the answer."""
        ...


class SavedRooms(Journal, Protocol):
    """A journal that lists its rooms: where correspondence rooms are kept without Redis
    (``stores.sql.SqlJournal``), all restored at start-up."""

    async def rooms(self) -> list[str]: ...


class RoomManager:
    """Creates and holds this process's rooms; implements ``RoomEvents`` for them."""

    def __init__(
        self,
        settings: Settings,
        directory: RoomDirectory,
        journal: Journal | None = None,
        cluster: Ownership | None = None,
        stats: Stats | None = None,
        *,
        games: Registry,
        durable: SavedRooms | None = None,
    ) -> None:
        self.settings = settings
        self.games = games
        """The games this process serves: it creates and takes over rooms of these only."""
        self.stats = stats or Stats()
        self.directory = directory
        self.journal = journal
        self.writer = JournalWriter(journal, self.stats) if journal is not None else None
        """Saves the changes of every room, batched per loop turn (group commit)."""
        self.durable = durable if journal is None else None
        """Without a journal for every room (in memory), where correspondence rooms are
        saved all the same (SQL), so that they outlive a restart; live rooms are not."""
        self.durable_writer = (
            None if self.durable is None else JournalWriter(self.durable, self.stats)
        )
        self.cluster = cluster
        self.rooms: dict[str, Room] = {}
        self.game_over_hooks: list[GameOverHook] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: deque[tuple[str | None, Awaitable[None]]] = deque()
        """Background store writes, with the room each is about (None: many rooms)."""
        self._worker: asyncio.Task[None] | None = None
        self._dirty: set[str] = set()
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self.tell_player: Callable[[str, str, dict[str, Any]], None] | None = None
        """Where rooms' player events go (the per-player streams: ``Notifier.publish``)."""

    async def create(
        self,
        game: str,
        *,
        seats: int | None = None,
        options: Mapping[str, Any] | None = None,
        private: bool = False,
        creator: str | None = None,
        bots: Mapping[int, str] | None = None,
        abandon: str | None = None,
        clock: Mapping[str, Any] | None = None,
        join: tuple[str, str] | None = None,
    ) -> Room:
        """A new waiting room, saved (with a journal) before it is returned; ``join``: the
        player (id, name) reserved the first seat no bot takes, in that same save. Raises
        RoomError for an unknown game or bad settings, 503 ``not_saved`` if the save
        failed (then nothing was made)."""
        try:
            definition = self.games.lookup(game)
        except KeyError as exc:
            raise RoomError("unknown_game", str(exc.args[0]), 422) from None
        policy = abandon_policy(abandon or definition.default_abandon_policy)
        try:
            match = Match.create(definition, seats or definition.min_seats, options, new_seed())
        except ValueError as exc:
            raise RoomError("bad_options", str(exc), 422) from None
        try:
            control = None if clock is None else TimeControl.parse(clock)
        except ValueError as exc:
            raise RoomError("bad_clock", str(exc), 422) from None
        writer = self.writer
        if writer is None and control is not None and control.correspondence:
            writer = self.durable_writer
        room = Room(
            new_id("r"),
            match,
            self.settings,
            self,
            private=private,
            invite=new_invite() if private else None,
            creator=creator,
            abandon=policy,
            journal=writer,
            stats=self.stats,
            clock=control,
        )
        for seat, strategy in (bots or {}).items():
            try:
                room.add_bot(seat, strategy)
            except ValueError as exc:
                raise RoomError("bad_bots", str(exc), 422) from None
        if self.cluster is not None and not await self.cluster.claim(room.id):
            raise RoomError("owner_unavailable", "could not claim the new room", 503)
        if join is not None:
            room.reserve(*join)  # (staged after the claim: the save carries its epoch)
        room.save_meta()
        try:
            await room.when_saved()
        except RoomError as exc:
            room.close_all(1011, "the room could not be saved")  # its timers too
            assert writer is not None
            self._spawn(self._unmake(room.id, writer.journal))
            raise RoomError(
                "not_saved",
                "the room could not be saved where it must before it is made (its store "
                "failed or refused it: too few Redis replicas had it in time, or another "
                "server process took it over); nothing was made: try again",
                503,
            ) from exc
        self.rooms[room.id] = room
        log.info("room created: %s", game, extra={"room": room.id, "player": creator})
        self.changed(room)  # listed once, in one write with the other rooms changed now
        await self.settled(room)
        return room

    async def _unmake(self, room_id: str, journal: Journal) -> None:
        """Undo a room whose first save failed: what a save that timed out waiting for
        replicas left on the primary (its metadata, its place in ``rooms:live``), then its
        lease, so that no process takes over a room its creator was told was not made."""
        await journal.delete(room_id)
        if self.cluster is not None:
            await self.cluster.release(room_id)

    def status_counts(self) -> dict[str, int]:
        """How many rooms this process hosts, by status (for /metrics)."""
        counts = {"waiting": 0, "playing": 0, "finished": 0}
        for room in self.rooms.values():
            counts[room.match.status] += 1
        return counts

    def get(self, room_id: str) -> Room | None:
        """The room if this process hosts it (see ``locate`` for any process's)."""
        return self.rooms.get(room_id)

    async def locate(self, room_id: str) -> Room | str | None:
        """The room if it is (or can now be) hosted here; else the owning process's id."""
        room = self.rooms.get(room_id)
        if room is not None or self.cluster is None:
            return room
        return await self.cluster.locate(room_id)

    async def reserve(
        self, room_id: str, player_id: str, name: str, seat: int | None = None
    ) -> tuple[int, float]:
        """Hold a seat in a room, wherever it is hosted, once that is saved (RoomError
        503 ``not_saved`` if it could not be: the seat is free, the room hosted again as
        its journal has it)."""
        target = await self.locate(room_id)
        if isinstance(target, Room):
            reserved = target.reserve(player_id, name, seat)
            await self.settled(target)
            return reserved
        if target is None or self.cluster is None:
            raise RoomError("no_such_room", f"no room {room_id}", 404)
        seat_no, expires_at = await self.cluster.call(
            target, room_id, "reserve", [player_id, name, seat]
        )
        return int(seat_no), float(expires_at)

    async def release(self, room_id: str, player_id: str) -> None:
        """Give up a seat in a room, wherever it is hosted."""
        target = await self.locate(room_id)
        if isinstance(target, Room):
            target.release(player_id)
            await self.settled(target)
        elif target is None or self.cluster is None:
            raise RoomError("no_such_room", f"no room {room_id}", 404)
        else:
            await self.cluster.call(target, room_id, "release", [player_id])

    async def restore(self, room_id: str) -> Room | None:
        """Take over a room from the journal (the caller holds its lease)."""
        if self.writer is None:
            return None
        return await self._restore(room_id, self.writer)

    async def restore_saved(self) -> int:
        """Start-up without Redis: host again every correspondence room the last run of
        this server saved (``durable``); how many there were."""
        if self.durable is None or self.durable_writer is None:
            return 0
        restored = 0
        for room_id in await self.durable.rooms():
            restored += await self._restore(room_id, self.durable_writer) is not None
        if restored:
            log.info("restored %s correspondence rooms", restored)
        return restored

    async def _restore(self, room_id: str, writer: JournalWriter) -> Room | None:
        if room_id in self.rooms:
            return self.rooms[room_id]
        loaded = await writer.journal.load(room_id)
        if loaded is None:
            return None
        meta, entries = loaded
        try:
            game = self.games.lookup(meta["game"])
            room = Room.restore(game, meta, entries, self.settings, self, writer, self.stats)
        except Exception:
            log.exception("room %s could not be restored", room_id)
            return None
        self.rooms[room_id] = room
        log.info("took over room %s at sequence number %s", room_id, room.match.seq)
        self.changed(room)
        if not room.connected and room.match.status != "playing":
            self.idle(room)
        return room

    def drop(self, room_id: str, code: int, reason: str) -> None:
        """Stop hosting a room here (another process owns it now)."""
        room = self.rooms.pop(room_id, None)
        if room is not None:
            room.close_all(code, reason)

    async def settled(self, room: Room) -> None:
        """Wait until the room's changes so far are saved and its summary is in the
        directory, so that whoever is answered reads what they did (their seat in "my
        games", an invitation taken up). RoomError 503 ``not_saved`` if the save failed;
        a listing that fails is logged and counted, as a background write's would be."""
        await room.when_saved()
        await self._write_in_order([self.flush()])

    async def flush(self) -> None:
        """Write the summaries of changed rooms to the directory now, together."""
        dirty, self._dirty = self._dirty, set()
        rooms = self.rooms
        summaries = [rooms[r].summary() for r in dirty if r in rooms]
        if summaries:
            await self.directory.put_many(summaries)

    async def close(self) -> None:
        for writer in (self.writer, self.durable_writer):
            if writer is not None:  # what is being saved is told before the goodbyes
                await writer.drain()
        for room in self.rooms.values():
            room.close_all(1001, "the server is shutting down")
        for handle in self._expiry.values():
            handle.cancel()
        if self._worker is not None:  # finish the writes already asked for
            await asyncio.wait([self._worker], timeout=2)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:  # bounded: a cancellation swallowed inside redis-py holds no one up
            await asyncio.wait(list(self._tasks), timeout=1)
        while self._writes:
            _, left = self._writes.popleft()
            if isinstance(left, Coroutine):
                left.close()

    # RoomEvents ---------------------------------------------------------------------

    def changed(self, room: Room) -> None:
        """Coalesce summary writes: the rooms that changed in one loop turn are written
        by one background write, each once."""
        if room.id in self._dirty:
            return
        if not self._dirty:
            self._spawn(self._write_summaries())
        self._dirty.add(room.id)
        handle = self._expiry.pop(room.id, None)
        if handle is not None:
            handle.cancel()

    def finished(self, room: Room) -> None:
        record = room.record()
        outcome = record["outcome"] or {}
        log.info(
            "game over: %s",
            outcome.get("reason"),
            extra={"room": room.id, "seat": outcome.get("winners")},
        )
        for hook in self.game_over_hooks:
            self._spawn(hook(record), room.id)

    def idle(self, room: Room) -> None:
        """A room nobody is in is dropped after a while, so the listing stays live."""
        delay = self.settings.finished_room_ttl
        loop = asyncio.get_running_loop()
        old = self._expiry.pop(room.id, None)
        if old is not None:
            old.cancel()
        self._expiry[room.id] = loop.call_later(delay, self._expire, room.id)

    def tell(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        if self.tell_player is not None:
            self.tell_player(player_id, name, data)

    def unsaved(self, room: Room) -> None:
        """Forget this copy of the room and host it again as its journal has it, without
        the change nobody heard of: whoever reconnects (to any process) finds it. With
        Redis out of reach that waits until Redis answers (``Cluster.rehost``)."""
        if self.rooms.get(room.id) is not room:
            return
        self.drop(room.id, 1011, "the room could not be saved; reconnect to resume")
        if self.cluster is not None:
            task = asyncio.get_running_loop().create_task(self.cluster.rehost(room.id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif room.journal is not None:  # no other process: host it again, as saved
            self._spawn(self._restored(room.id, room.journal), room.id)

    # Internals ----------------------------------------------------------------------

    def _expire(self, room_id: str) -> None:
        self._expiry.pop(room_id, None)
        room = self.rooms.get(room_id)
        if room is None or room.connected or room.match.status == "playing":
            return
        room.close_all(1001, "the room was closed")
        del self.rooms[room_id]
        self._spawn(self.directory.remove(room_id), room_id)
        if room.journal is not None:
            self._spawn(room.journal.journal.delete(room_id), room_id)
        if self.cluster is not None:
            self._spawn(self.cluster.release(room_id), room_id)

    async def _restored(self, room_id: str, writer: JournalWriter) -> None:
        await self._restore(room_id, writer)

    async def _write_summaries(self) -> None:
        await asyncio.sleep(0)  # the rest of this loop turn's changes join in
        await self.flush()

    def _spawn(self, coro: Awaitable[None], room_id: str | None = None) -> None:
        """Run a store write in the background on one worker task: a task per write cost
        more than the writes themselves (one game makes several). The writes about one
        room run in the order they were asked for. In memory they all run in order;
        with Redis those of different rooms run concurrently, so that their commands
        share round trips (``stores.redis.Coalesced``)."""
        self._writes.append((room_id, coro))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._write_all())
            self._tasks.add(self._worker)
            self._worker.add_done_callback(self._tasks.discard)

    async def _write_all(self) -> None:
        writes = self._writes
        concurrent = self.journal is not None
        while writes:
            if not concurrent:
                await self._write_in_order([writes.popleft()[1]])
                continue
            lanes: dict[str | None, list[Awaitable[None]]] = {}
            while writes:
                room_id, coro = writes.popleft()
                lanes.setdefault(room_id, []).append(coro)
            await asyncio.gather(*(self._write_in_order(lane) for lane in lanes.values()))

    async def _write_in_order(self, coros: list[Awaitable[None]]) -> None:
        for coro in coros:
            try:
                await coro
            except Exception:
                self.stats.redis_errors += 1
                log.exception("background store write failed")
