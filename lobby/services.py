"""The service's parts, built once per app from the settings: stores and rooms.

Everything that must be shared between processes is a store here, reached through
``app.state.services``; nothing lives in module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from meeple.lobby.edge.connection import Outbox
from meeple.lobby.edge.heartbeat import Heartbeat
from meeple.lobby.games import GameSet
from meeple.lobby.http.limits import RateLimits
from meeple.lobby.ops.metrics import Stats
from meeple.lobby.players.accounts import Accounts
from meeple.lobby.players.presence import Presence
from meeple.lobby.players.push import Pusher
from meeple.lobby.players.ratings import rate_record
from meeple.lobby.rooms.manager import RoomManager
from meeple.lobby.rooms.matchmaker import Matchmaker
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import (
    ConnectTickets,
    GameRecord,
    InvitationStore,
    LoginFailures,
    PresenceStore,
    PushSubscriptions,
    RatingStore,
    RecordStore,
    RoomDirectory,
    SessionStore,
    TicketQueue,
)
from meeple.lobby.stores.finished import FinishedGames
from meeple.lobby.stores.memory import (
    MemoryAccountStore,
    MemoryConnectTickets,
    MemoryFinishedGames,
    MemoryInvitations,
    MemoryLoginFailures,
    MemoryPresence,
    MemoryPushSubscriptions,
    MemoryRatingStore,
    MemoryRecordStore,
    MemoryRoomDirectory,
    MemorySessionStore,
    MemoryTicketQueue,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from meeple.lobby.rooms.cluster import Cluster
    from meeple.lobby.stores.sql import Database


CLOSE_SECONDS = 6.0
"""The most ``Services.close`` is given (the app's lifespan enforces it): with uvicorn's
``GRACEFUL_SECONDS`` for the connections' close handshakes before it, SIGTERM ends a
process within 8 s, however Redis behaves (docs/architecture.md, Graceful stop)."""

PUSH_DRAIN_SECONDS = 1.0
"""Of ``CLOSE_SECONDS``, how long a stopping process waits for the web pushes under way
(an invitation or a turn announced as it stopped), after its rooms are handed over."""


@dataclass
class Services:
    settings: Settings
    sessions: SessionStore
    directory: RoomDirectory
    rooms: RoomManager
    games: GameSet
    """The games this process serves, and their boards (``meeple.lobby.games``)."""
    redis: Redis | None = None
    """The redis.asyncio client when REDIS_URL is set."""
    redis_clients: list[Redis] = field(default_factory=list)
    """Its other clients: connections kept for moves and for leases."""
    cluster: Cluster | None = None
    """This process's part in a cluster of processes sharing Redis."""
    database: Database | None = None
    """The SQL database of what must last, when ``settings.database_url`` is set: then
    ``records`` and ``ratings`` are its stores."""
    finished: FinishedGames | None = None
    """Where the game-over hook hands each finished game over, to be written (record,
    histories, ratings) with the games that end meanwhile (``stores.finished``): with
    Redis alone, ``RedisFinishedGames``. None (as built): set here, to the database's
    or, without one, to the in-memory stores' (``MemoryFinishedGames``)."""
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Loops the app runs for as long as it lives (the matchmaker, ...)."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    records: RecordStore = field(default_factory=MemoryRecordStore)
    """Finished games (the REST API's /api/records and /api/players/{id}/games)."""
    ratings: RatingStore = field(default_factory=MemoryRatingStore)
    """Glicko-2 ratings per game, updated when a game ends."""
    tickets: TicketQueue = field(default_factory=MemoryTicketQueue)
    """The quick-match queue."""
    connect_tickets: ConnectTickets = field(default_factory=MemoryConnectTickets)
    """Single-use stand-ins for session tokens in URLs (WebSocket, event stream)."""
    limits: RateLimits = field(default_factory=RateLimits)
    """Per-client limits on creating sessions, rooms and tickets."""
    push_subscriptions: PushSubscriptions = field(default_factory=MemoryPushSubscriptions)
    """Each player's Web Push subscriptions."""
    login_failures: LoginFailures = field(default_factory=MemoryLoginFailures)
    """Failed log-ins per account and address, for the slow-down (shared with Redis)."""
    invitations: InvitationStore = field(default_factory=MemoryInvitations)
    """Each player's invitations into rooms."""
    presence_store: PresenceStore = field(default_factory=MemoryPresence)
    """Which players have a connection open on some process."""
    presence: Presence = field(init=False)
    """This process's connected players (event streams, room sockets), kept there."""
    pusher: Pusher = field(init=False)
    """Sends correspondence turns and reminders to those subscriptions, for players
    with no connection open anywhere."""
    accounts: Accounts = field(init=False)
    """Sign-up and log-in: accounts in the database, or in memory without one."""
    matchmaker: Matchmaker = field(init=False)
    outbox: Outbox = field(default_factory=Outbox)
    """Room sockets' frames, written once per connection per batch (meeple.lobby.edge.gateway)."""
    heartbeat: Heartbeat = field(init=False)
    """Pings for every room socket of this app, from one timer."""
    clock: Callable[[], float] = time.time
    """The wall clock sessions, tickets and the matchmaker read (tests pass one they move)."""

    def __post_init__(self) -> None:
        """Wire the lobby's parts: the matchmaking loop, and what a finished game updates."""
        self.heartbeat = Heartbeat(self.settings.ping_interval, self.settings.ping_timeout)
        store = self.database.accounts if self.database is not None else MemoryAccountStore()
        self.accounts = Accounts(store, self.sessions, self.login_failures)
        rate = partial(rate_record, rate_bots=self.settings.rate_bots)
        failed = partial(_write_failed, self.rooms.stats)
        if self.database is not None:
            self.records = self.database.records
            self.ratings = self.database.ratings
            self.finished = self.database.finished_games(rate, failed)
        elif self.finished is None:
            self.finished = MemoryFinishedGames(self.records, self.ratings, rate, failed)
        self.rooms.game_over_hooks.append(partial(_finish, self.finished))
        self.matchmaker = Matchmaker(
            self.tickets,
            self.rooms,
            self.ratings,
            ticket_ttl=self.settings.ticket_seconds,
            clock=self.clock,
        )
        node = "local" if self.cluster is None else self.cluster.node
        self.presence = Presence(self.presence_store, node)
        self.matchmaker.events.presence = self.presence
        self.pusher = Pusher(self.settings, self.push_subscriptions, self.redis, self.presence)
        self.rooms.tell_player = self.tell_player
        self.background.append(self.matchmaker.run)
        self.background.append(self.presence.run)

    def tell_player(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """A player event (from a room, or an invitation): to the player's stream
        (wherever it is open), and, for an invitation or a correspondence turn or
        reminder, as a Web Push to a player connected nowhere (sent once, from here)."""
        self.matchmaker.events.publish(player_id, name, data)
        self.pusher.event(player_id, name, data)

    async def record(self, record_id: str) -> GameRecord | None:
        """A finished game's record. One this process is still writing (games are
        written in batches, ``stores.finished``) is waited for: whoever saw the game
        end here can read its record at once."""
        if self.finished is not None:
            await self.finished.written(record_id)
        return await self.records.get(record_id)

    async def redis_answers(self) -> None:
        """Raise unless Redis (every master of a Redis Cluster) answers a ping: /readyz."""
        from meeple.lobby.stores.redis import ping

        if self.redis is not None:
            await ping(self.redis)

    def start_background(self) -> None:
        self._tasks = [asyncio.create_task(loop()) for loop in self.background]  # type: ignore[arg-type]
        self.heartbeat.start()

    async def close(self) -> None:
        """Stop: hand the rooms to other processes first (in a cluster), then end. The app
        gives this ``CLOSE_SECONDS`` at most."""
        self.heartbeat.stop()
        self.presence.stop()
        # Cancelled again until they end: Python 3.11's wait_for swallows a cancellation
        # that lands as its wait completes, and a loop so spared runs on (found by the
        # REST tests on Redis, whose shutdown hung after a quick-match ticket woke the loop).
        # Bounded all the same (CLOSE_SECONDS holds the whole stop): a few rounds, then on.
        pending = set(self._tasks)
        for _ in range(3):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1)
        for task in self._tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a loop's failure was logged where it happened
        if self.cluster is not None:
            await self.cluster.hand_over()
        await self.rooms.close()
        if self.finished is not None:  # the games handed over are written first
            await self.finished.drain()
        await self.pusher.drain(within=PUSH_DRAIN_SECONDS)
        if self.cluster is not None:
            await self.cluster.stop()
        for client in [self.redis, *self.redis_clients]:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        if self.database is not None:
            await self.database.close()


async def _finish(finished: FinishedGames, record: dict[str, Any]) -> None:
    """A finished game's record and ratings, written once, in the background with the
    other games that end meanwhile (``stores.finished``)."""
    finished.add(record)


def _write_failed(stats: Stats) -> None:
    stats.redis_errors += 1  # counted with the other failed background writes (manager)


async def open_database(settings: Settings) -> Database | None:
    """The SQL database at ``settings.database_url``, ready (``Database.prepare``)."""
    if not settings.database_url:
        return None
    import sqlalchemy as sa

    from meeple.lobby.stores.sql import Database
    from meeple.lobby.stores.sql.database import is_sqlite

    database = Database(settings.database_url, settings.database_schema)
    try:
        await database.prepare()
    except BaseException:
        await database.close()
        raise
    if settings.redis_url and is_sqlite(settings.database_url):
        logging.getLogger("meeple.app").warning(
            "accounts, ratings and records are in the SQLite file %s, which only processes on "
            "this machine share: processes on several machines need DATABASE_URL (PostgreSQL)",
            sa.make_url(settings.database_url).database,
        )
    return database


async def build_services(
    settings: Settings, games: GameSet, clock: Callable[[], float] = time.time
) -> Services:
    """In-memory stores by default; Redis ones when ``settings.redis_url`` is set; what
    must last in SQL when ``settings.database_url`` is set. ``clock``: see ``Services.clock``
    (Redis expires its keys by its own clock, whatever this says)."""
    database = await open_database(settings)
    if settings.redis_url:
        return await _redis_services(settings, games, database, clock)
    # Without Redis, what must outlive a restart is in the database when there is one:
    # correspondence rooms (live ones stay in memory) and the sessions that play them.
    directory = MemoryRoomDirectory()
    ttl = settings.session_ttl_seconds
    services = Services(
        database=database,
        settings=settings,
        limits=RateLimits(enabled=settings.create_limits),
        sessions=MemorySessionStore(ttl, clock) if database is None else database.sessions(ttl),
        connect_tickets=MemoryConnectTickets(clock),
        directory=directory,
        rooms=RoomManager(
            settings,
            directory,
            games=games.registry,
            durable=None if database is None else database.journal,
        ),
        games=games,
        clock=clock,
    )
    await services.rooms.restore_saved()
    return services


async def _redis_services(
    settings: Settings, games: GameSet, database: Database | None, clock: Callable[[], float]
) -> Services:
    from meeple.lobby.rooms.cluster import Cluster
    from meeple.lobby.stores.redis import (
        Coalesced,
        RedisConnectTickets,
        RedisFinishedGames,
        RedisInvitations,
        RedisJournal,
        RedisLoginFailures,
        RedisPresence,
        RedisPushSubscriptions,
        RedisRatingStore,
        RedisRecordStore,
        RedisRoomDirectory,
        RedisSessionStore,
        RedisTicketQueue,
        connect,
        is_cluster_url,
        prepare,
        shared_prefix,
    )

    assert settings.redis_url
    url = settings.redis_url
    if settings.redis_wait_replicas and is_cluster_url(url):
        raise ValueError(
            "MEEPLE_REDIS_WAIT_REPLICAS works with one primary (redis:// or "
            "redis+sentinel://), not with redis+cluster://"
        )
    # Requests share one pool; a request finding every connection busy waits for one.
    redis = connect(url, settings.redis_connections, wait=30)
    # The process's own traffic has connections of its own: the journal writer, the
    # fan-out to other processes and the background writes (summaries, records,
    # ratings) are one task each with one batch in flight; leases and liveness have
    # one more. None waits behind requests, and lease renewals never wait behind moves.
    moves = connect(url, 3, reply_timeout=None)
    control = connect(url, 1, reply_timeout=None)
    for client in (redis, moves, control):
        await prepare(client)
    batch = Coalesced(moves)
    prefix = settings.redis_prefix
    shared = shared_prefix(prefix, url)  # the keys no one room owns (one slot on a cluster)
    journal = RedisJournal(
        moves,
        prefix,
        shared,
        replicas=settings.redis_wait_replicas,
        replica_wait_ms=settings.redis_wait_ms,
    )
    cluster = Cluster(
        redis,
        prefix,
        journal,
        shared=shared,
        control=control,
        fanout=moves,
        lease_seconds=settings.lease_seconds,
        chat=(settings.chat_rate, settings.chat_burst),
        refusals=(settings.refusal_rate, settings.refusal_burst),
    )
    directory = RedisRoomDirectory(redis, shared, batch)
    rooms = RoomManager(settings, directory, journal, cluster, games=games.registry)
    rate = partial(rate_record, rate_bots=settings.rate_bots)
    failed = partial(_write_failed, rooms.stats)
    finished = None if database else RedisFinishedGames(redis, shared, batch, rate, failed)
    await cluster.start(rooms)
    services = Services(
        settings=settings,
        limits=RateLimits(enabled=settings.create_limits),
        sessions=RedisSessionStore(redis, prefix, settings.session_ttl_seconds, clock),
        directory=directory,
        rooms=rooms,
        games=games,
        redis=redis,
        redis_clients=[moves, control],
        cluster=cluster,
        database=database,
        records=database.records if database else RedisRecordStore(redis, shared, batch=batch),
        ratings=database.ratings if database else RedisRatingStore(redis, shared, batch),
        finished=finished,
        tickets=RedisTicketQueue(redis, shared),
        connect_tickets=RedisConnectTickets(redis, prefix),
        push_subscriptions=RedisPushSubscriptions(redis, prefix),
        login_failures=RedisLoginFailures(redis, prefix),
        presence_store=RedisPresence(redis, prefix),
        invitations=RedisInvitations(redis, prefix),
        clock=clock,
    )
    events = services.matchmaker.events
    events.relay = cluster.broadcast_event
    cluster.on_event = events.deliver
    return services
