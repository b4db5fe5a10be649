"""Many processes, one game world: room ownership, forwarding and takeover over Redis.

Each room has one owner process at a time, holding a lease in Redis. A player may be
connected to any process (the *edge*); the edge forwards the player's messages to
the owner and the owner sends the player's frames back, both over the processes'
own pub/sub channels (``node:{id}``). Everything one process sends another in a loop
turn goes out as one PUBLISH per destination (its messages concatenated), from one
ordered publisher, so frames arrive once and in sequence order.

The owner saves every change to Redis before anyone hears of it (``RedisJournal``).
When an owner dies its leases run out; another process claims each live room,
rebuilds it from the journal (``Match.replay``) and players reconnect to any process
and resume with ``since``. An edge whose room changed owner closes its players'
connections with 1012 so they do exactly that.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from redis.asyncio import Redis

from meeple.game.protocol import CLOSE_MOVED, CLOSE_TRY_AGAIN
from meeple.lobby.ops.logs import Outage
from meeple.lobby.ratelimit import TokenBucket
from meeple.lobby.rooms.member import Member
from meeple.lobby.rooms.room import Room, RoomError
from meeple.lobby.stores.base import pack
from meeple.lobby.stores.redis import (
    Lane,
    NotReplicated,
    RedisJournal,
    RedisLeases,
    text,
    unpacker,
)

if TYPE_CHECKING:
    from meeple.lobby.rooms.manager import RoomManager

log = logging.getLogger("meeple.cluster")


class RemoteMember(Member):
    """A connection on another process, as the owner's room sees it."""

    __slots__ = ("cluster", "conn_id", "node")

    def __init__(
        self,
        cluster: Cluster,
        node: str,
        conn_id: int,
        player_id: str,
        name: str,
        *,
        chat: TokenBucket,
        refusals: TokenBucket,
    ) -> None:
        super().__init__(player_id, name, chat=chat, refusals=refusals)
        self.cluster = cluster
        self.node = node
        self.conn_id = conn_id

    def send(self, frame: bytes) -> None:
        if not self.closed:
            self.cluster.publish(self.node, ["frame", self.conn_id, frame])

    def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.cluster.publish(self.node, ["close", self.conn_id, code, reason])


class Relayed(Protocol):
    """A connection of this process in a room owned elsewhere (``edge.connection.Connection``)."""

    id: int
    player_id: str
    name: str

    def send(self, frame: bytes) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass
class _Proxy:
    """An edge's record of a local connection whose room is owned elsewhere."""

    conn: Relayed
    room_id: str
    owner: str
    heard: asyncio.Event = field(default_factory=asyncio.Event)


class Cluster:
    """This process's part in the cluster: its node id, leases, channel and loops."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        journal: RedisJournal,
        *,
        shared: str | None = None,
        control: Redis | None = None,
        fanout: Redis | None = None,
        lease_seconds: float = 5.0,
        chat: tuple[float, int] = (0.5, 5),
        refusals: tuple[float, int] = (5.0, 20),
    ) -> None:
        """``redis`` serves requests (claims, lookups, the channel); ``control`` keeps
        this process alive and its leases renewed, and ``fanout`` publishes to other
        processes: give each a connection of its own, so that neither waits behind
        requests or moves (``services`` does). ``shared``: the prefix of the keys no
        room owns (``stores.redis.shared_prefix``), ``prefix`` if None."""
        self.redis = redis
        self.control = control or redis
        self.fanout = fanout or redis
        self._fanout = Lane(self.fanout)
        self.prefix = prefix
        self.node = f"n_{secrets.token_hex(6)}"
        self.journal = journal
        self._epochs: dict[str, int] = {}
        """The fencing epoch of each room we hold, which its saves carry."""
        journal.epochs = self._epochs
        self.leases = RedisLeases(redis, prefix, self.node, lease_seconds)
        self._keeper = RedisLeases(self.control, prefix, self.node, lease_seconds)
        self.lease_seconds = lease_seconds
        self.renew_every = lease_seconds / 4
        """How often leases are renewed; a renewal not done in this time is given up
        and tried again, so a lease gets four tries before it runs out."""
        self.alive_seconds = min(ALIVE_SECONDS, lease_seconds)
        """How long our ``alive`` key lives unless renewed: how soon after we die other
        processes take our rooms (their upkeep runs every ``UPKEEP_SECONDS``)."""
        self.manager: RoomManager | None = None
        self._chat = chat
        self._refusals = refusals
        self._unsent: dict[str, list[bytes]] = {}
        """Per destination process, the messages of this loop turn, packed."""
        self._publisher: asyncio.Task[None] | None = None
        self._members: dict[tuple[str, int], tuple[str, RemoteMember]] = {}
        self._proxies: dict[int, _Proxy] = {}
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._call_ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._answering: set[asyncio.Future[None]] = set()
        """Calls from other processes waiting for their change to be saved and listed."""
        self._restoring: dict[str, asyncio.Future[Room | None]] = {}
        self._foreign: dict[str, str] = {}
        """Live rooms whose game this process does not serve (room -> game): never claimed."""
        self._nodes_key = f"{prefix if shared is None else shared}nodes"
        """Every process that beat within ``NODES_KEPT_SECONDS`` (node -> when it last said
        so, wall clock): where upkeep sees that one has gone."""
        self._mourned: set[str] = set()
        """Gone processes whose rooms our upkeep has looked for since they went."""
        self._let_go: set[str] = set()
        """Rooms we stopped hosting with no hand-over (a lease lost, a room we could not
        host again): our next upkeep looks for every room left without an owner."""
        self._next_scan = 0.0
        """When (loop time) upkeep reads every live room again if nothing made it sooner."""
        self._steady_since: float | None = 0.0
        """Since when our beats have succeeded without a break (loop time; 0 at start:
        a process starting has seen no outage); None while they fail."""
        self.subscribed = False
        """Whether we hear our channels now (``/readyz`` says not ready while we do not)."""
        self.on_event: Callable[[str, str, dict[str, Any]], None] | None = None
        """Where player events (quick-match results) from any process are delivered."""

    def channel(self, node: str) -> str:
        return f"{self.prefix}node:{node}"

    # Life ----------------------------------------------------------------------------

    async def start(self, manager: RoomManager) -> None:
        self.manager = manager
        pubsub = await self._subscribe()
        await self._beat()
        await self._register()
        self._tasks = [
            asyncio.create_task(self._listen(pubsub)),
            asyncio.create_task(self._keep_loop()),
            asyncio.create_task(self._beat_loop()),
            asyncio.create_task(self._upkeep_loop()),
        ]

    async def hand_over(self) -> None:
        """Stop owning rooms, so that other processes take them at once (SIGTERM).

        The rooms stop taking messages first (a forwarded one is answered "moved"), then
        what is being saved is saved, then every lease and our ``alive`` key go in one
        round trip, and only then are the rooms' players closed with 1012: when they
        reconnect, the room is free for the process they reach. Each step is bounded
        (``HAND_OVER_SECONDS`` in all); a Redis that does not answer leaves the leases
        to run out, as after kill -9."""
        manager = self.manager
        if manager is None:
            return
        rooms = list(manager.rooms.values())
        manager.rooms.clear()
        for room in rooms:  # nor do their timers and bots change them any more: a change
            room.freeze()  # after the drain would be saved without an epoch, and fenced
        # (the epochs stay until the writer has drained: what is being saved is saved)
        if manager.writer is not None:
            await manager.writer.drain(within=2)
        try:
            async with asyncio.timeout(1):
                self._epochs.clear()
                await self.leases.release_all([room.id for room in rooms])
                await self.control.delete(self._alive_key(self.node))
        except Exception as exc:
            log.warning("handing rooms over failed (their leases will run out): %r", exc)
        for room in rooms:
            room.close_all(CLOSE_MOVED, "the server is restarting; reconnect")
        await _settle([self._publisher], 1)  # the goodbyes go out

    async def stop(self) -> None:
        """End the loops, in bounded time (a cancellation redis-py swallows cannot hold
        the process up), after ``hand_over``."""
        await _settle([self._publisher], 1)
        for task in self._tasks:
            task.cancel()
        await _settle(self._tasks, 1)

    def _alive_key(self, node: str) -> str:
        return f"{self.prefix}node:{node}:alive"

    async def _beat(self) -> None:
        await self.control.set(self._alive_key(self.node), b"1", px=int(self.alive_seconds * 1000))

    async def _beat_loop(self) -> None:
        """Say we are alive every ``BEAT_SECONDS``: the key outlives a stall of the event
        loop of up to ``alive_seconds - BEAT_SECONDS`` (1.75 s), so a busy owner is not
        taken over, while a dead one is within ``alive_seconds``."""
        loop = asyncio.get_running_loop()
        beats = Outage(log, "saying we are alive")
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            try:
                async with asyncio.timeout(self.alive_seconds / 2):
                    await self._beat()
            except Exception as exc:
                self._steady_since = None
                beats.failed(exc)
            else:
                beats.worked()
                if self._steady_since is None:
                    self._steady_since = loop.time()

    def _steady(self) -> bool:
        """Whether Redis has answered our beats for ``alive_seconds``. After an outage
        (a restart, a Sentinel failover) every process's ``alive`` key may have run out
        while none could beat: until the others have had the time to beat again, a
        missing key proves nothing, and no room is taken from its owner."""
        since = self._steady_since
        return since is not None and asyncio.get_running_loop().time() - since >= self.alive_seconds

    async def _alive(self, nodes: set[str]) -> set[str]:
        """Which of these processes are alive, in one round trip."""
        ordered = sorted(nodes)
        if not ordered:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for node in ordered:
                pipe.exists(self._alive_key(node))
            found = await pipe.execute()
        return {node for node, n in zip(ordered, found, strict=True) if n}

    async def _register(self) -> set[str]:
        """Say we are one of the processes, forget those silent for
        ``NODES_KEPT_SECONDS``, and list them all, in one round trip."""
        now, key = time.time(), self._nodes_key
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {self.node: now})
            pipe.zremrangebyscore(key, "-inf", now - NODES_KEPT_SECONDS)
            pipe.zrange(key, 0, -1)
            *_, nodes = await pipe.execute()
        return {text(node) for node in nodes}

    # Finding a room ------------------------------------------------------------------

    async def claim(self, room_id: str) -> bool:
        epoch = await self.leases.claim(room_id)
        if epoch:
            self._epochs[room_id] = epoch
        return bool(epoch)

    async def release(self, room_id: str) -> None:
        self._epochs.pop(room_id, None)
        await self.leases.release(room_id)

    async def locate(self, room_id: str) -> Room | str | None:
        """The room, if we own it now (claiming it if nobody does); else its owner's node id."""
        assert self.manager is not None
        for _ in range(3):
            owner = await self.leases.owner(room_id)
            if owner is not None and owner != self.node:
                if not self._steady() or await self.redis.exists(self._alive_key(owner)):
                    return owner  # alive (or we cannot tell yet: see _steady)
                # Its owner is gone: free the lease now rather than when it runs out.
                await self.leases.release_if(room_id, owner)
            local = self.manager.rooms.get(room_id)
            if local is not None:
                return local
            game = await self._foreign_game(room_id)
            if game is not None:
                raise RoomError(
                    "game_not_served", f"no server here offers {game}; try again shortly", 503
                )
            if await self.claim(room_id):
                return await self._restore_once(room_id)
        return None

    async def _foreign_game(self, room_id: str) -> str | None:
        """The room's game if this process does not serve it (then it never claims the
        room: a process with that game will), else None."""
        assert self.manager is not None
        game = self._foreign.get(room_id)
        if game is None:
            meta = await self.journal.meta(room_id)
            if meta is None or meta["game"] in self.manager.games:
                return None
            game = self._foreign[room_id] = meta["game"]
        return game

    async def rehost(self, room_id: str) -> None:
        """Host again, from its journal, a room whose change could not be saved, as soon
        as Redis answers: its lease still names us, so its players (relayed from any
        process) would otherwise find no room here until the lease ran out. Tried with
        backoff (0.1 s doubling to 2 s) for as long as the lease could still be ours;
        not if another process holds it (it hosts the room)."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.lease_seconds, 0.1
        while True:
            try:
                if await self.claim(room_id):
                    await self._restore_once(room_id)
                return
            except Exception as exc:
                if loop.time() > deadline:
                    log.warning(
                        "room %s could not be hosted again (%r); left to others", room_id, exc
                    )
                    self._let_go.add(room_id)
                    return
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)

    async def _restore_once(self, room_id: str) -> Room | None:
        """Restore a room we hold the lease of; concurrent callers share one restore."""
        assert self.manager is not None
        pending = self._restoring.get(room_id)
        if pending is None:
            pending = asyncio.ensure_future(self.manager.restore(room_id))
            self._restoring[room_id] = pending
            pending.add_done_callback(lambda _: self._restoring.pop(room_id, None))
        try:
            room = await asyncio.shield(pending)
        except NotReplicated as exc:  # shown only once on the replicas moves wait for
            await self.release(room_id)
            raise RoomError("unavailable", f"{exc}; try again shortly", 503) from exc
        if room is None:
            await self.release(room_id)
        return room

    async def call(self, owner: str, room_id: str, method: str, args: list[Any]) -> Any:
        """Run a room method on its owner and wait for the answer."""
        call_id = next(self._call_ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls[call_id] = future
        self.publish(owner, ["call", call_id, self.node, room_id, method, args])
        try:
            return await asyncio.wait_for(future, 5)
        except TimeoutError:
            raise RoomError("owner_unavailable", "the room's server did not answer", 503) from None
        finally:
            self._calls.pop(call_id, None)

    # Edge side -----------------------------------------------------------------------

    async def attach_remote(
        self,
        conn: Relayed,
        room_id: str,
        owner: str,
        since: int | None,
        invite: str | None,
        game: int | None = None,
    ) -> None:
        """Join a connection of ours to a room owned elsewhere; closes it if nobody answers."""
        proxy = _Proxy(conn, room_id, owner)
        self._proxies[conn.id] = proxy
        self.publish(
            owner,
            ["attach", room_id, self.node, conn.id, conn.player_id, conn.name, since, invite, game],
        )
        try:
            await asyncio.wait_for(proxy.heard.wait(), 5)
        except TimeoutError:
            conn.close(CLOSE_TRY_AGAIN, "the room's server did not answer; try again")

    def forward(self, conn: Relayed, message: dict[str, Any]) -> None:
        proxy = self._proxies.get(conn.id)
        if proxy is not None:
            self.publish(proxy.owner, ["msg", proxy.room_id, self.node, conn.id, message])

    def detach_remote(self, conn: Relayed) -> None:
        proxy = self._proxies.pop(conn.id, None)
        if proxy is not None:
            self.publish(proxy.owner, ["detach", proxy.room_id, self.node, conn.id])

    # Messages ------------------------------------------------------------------------

    def broadcast_event(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """A player event for every process (the one with the player's stream shows it)."""
        self.publish("all", ["event", player_id, name, data])

    def publish(self, node: str, message: list[Any]) -> None:
        """Send a message to a process: in this loop turn's PUBLISH to its channel."""
        queued = self._unsent.get(node)
        if queued is None:
            self._unsent[node] = [pack(message)]
        else:
            queued.append(pack(message))
        if self._publisher is None:
            # Its first step runs after this loop turn's callbacks: the turn's messages
            # to one process go out together.
            self._publisher = asyncio.get_running_loop().create_task(self._publish_all())

    async def _publish_all(self) -> None:
        """One publisher, in order: what one process sends another arrives in sequence."""
        try:
            while self._unsent:
                batch, self._unsent = self._unsent, {}
                try:
                    replies = await self._fanout.send(
                        [
                            ("PUBLISH", self.channel(node), b"".join(messages))
                            for node, messages in batch.items()
                        ]
                    )
                    failed = next((r for r in replies if isinstance(r, Exception)), None)
                    if failed is not None:
                        raise failed
                except Exception:
                    n = sum(len(m) for m in batch.values())
                    log.exception("publishing %d messages failed", n)
                await asyncio.sleep(0)  # the rest of this loop turn's messages join in
        finally:
            self._publisher = None

    async def _subscribe(self) -> Any:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self.channel(self.node), self.channel("all"))
        self.subscribed = True
        return pubsub

    async def _listen(self, pubsub: Any) -> None:
        """Read our channels for as long as we live: when the subscription breaks (Redis
        restarted), subscribe again, with backoff (0.1 s doubling to 2 s)."""
        delay = 0.1
        channel = Outage(log, "the cluster channel")
        while True:
            try:
                if pubsub is None:
                    pubsub = await self._subscribe()
                    channel.worked()
                    self._missed()
                delay = 0.1
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                channel.failed(exc)
            self.subscribed = False
            if pubsub is not None:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                pubsub = None
            await asyncio.sleep(delay)
            delay = min(2.0, delay * 2)

    def _missed(self) -> None:
        """What was published to us while we were not subscribed is gone: the players we
        relay resume (1012, then ``since``), and calls waiting for an answer fail now."""
        for proxy in list(self._proxies.values()):
            proxy.conn.close(CLOSE_MOVED, "the room's server was out of reach; reconnect")
        for future in self._calls.values():
            if not future.done():
                future.set_exception(
                    RoomError("owner_unavailable", "the room's server did not answer", 503)
                )

    async def _read(self, pubsub: Any) -> None:
        async for item in pubsub.listen():
            if item.get("type") != "message":
                continue
            try:
                messages = unpacker(item["data"])
                for message in messages:
                    try:
                        self._dispatch(message)
                    except Exception:
                        log.exception("cluster message failed: %r", message[:1])
            except Exception:
                log.exception("bad cluster message")
        raise ConnectionError("the subscription ended")

    def _dispatch(self, message: list[Any]) -> None:
        kind = message[0]
        if kind == "frame":
            proxy = self._proxies.get(message[1])
            if proxy is not None:
                proxy.heard.set()
                proxy.conn.send(message[2])
        elif kind == "close":
            proxy = self._proxies.get(message[1])
            if proxy is not None:
                proxy.heard.set()
                proxy.conn.close(message[2], message[3])
        elif kind == "event":
            if self.on_event is not None:
                self.on_event(message[1], message[2], message[3])
        elif kind == "reply":
            future = self._calls.get(message[1])
            if future is not None and not future.done():
                if message[2]:
                    future.set_result(message[3])
                else:
                    code, text, status = message[3]
                    future.set_exception(RoomError(code, text, status))
        else:
            self._owner_side(kind, message)

    def _owner_side(self, kind: str, message: list[Any]) -> None:
        assert self.manager is not None
        if kind == "call":
            _, call_id, reply_to, room_id, method, args = message
            self._answer(call_id, reply_to, room_id, method, args)
            return
        room_id, node, conn_id = message[1], message[2], message[3]
        room = self.manager.rooms.get(room_id)
        key = (node, conn_id)
        if kind == "attach":
            _, _, _, _, player_id, name, since, invite, game = message
            if room is None:
                self.publish(node, ["close", conn_id, CLOSE_MOVED, "the room moved; reconnect"])
                return
            member = RemoteMember(
                self,
                node,
                conn_id,
                player_id,
                name,
                chat=TokenBucket(*self._chat),
                refusals=TokenBucket(*self._refusals),
            )
            try:
                room.attach(member, since, invite, game)
            except RoomError as exc:
                member.close(4403, exc.message)
                return
            self._members[key] = (room_id, member)
        elif kind == "msg":
            entry = self._members.get(key)
            if entry is None or room is None:
                self.publish(node, ["close", conn_id, CLOSE_MOVED, "the room moved; reconnect"])
                return
            try:
                room.handle(entry[1], message[4])
            except Exception:
                log.exception("room %s failed on a forwarded message", room_id)
                entry[1].error(None, "internal", "the server failed on this message")
        elif kind == "detach":
            entry = self._members.pop(key, None)
            if entry is not None and room is not None:
                room.detach(entry[1])

    def _answer(
        self, call_id: int, reply_to: str, room_id: str, method: str, args: list[Any]
    ) -> None:
        assert self.manager is not None
        room = self.manager.rooms.get(room_id)
        try:
            if room is None:
                raise RoomError("owner_moved", "the room moved; try again", 503)
            if method == "reserve":
                result: Any = list(room.reserve(*args))
            elif method == "release":
                room.release(*args)
                result = None
            else:
                raise RoomError("bad_call", f"no room method {method}", 500)
        except RoomError as exc:
            self._reply(reply_to, call_id, exc)
            return
        answering = asyncio.ensure_future(self._answer_settled(room, reply_to, call_id, result))
        self._answering.add(answering)
        answering.add_done_callback(self._answering.discard)

    async def _answer_settled(self, room: Room, reply_to: str, call_id: int, result: Any) -> None:
        """The answer once the change is saved and listed (not_saved if it could not be
        saved), as for a request made here."""
        assert self.manager is not None
        try:
            await self.manager.settled(room)
        except RoomError as exc:
            result = exc
        except asyncio.CancelledError:
            self._reply(
                reply_to,
                call_id,
                RoomError("not_saved", "the change was not saved; try again", 503),
            )
            raise
        self._reply(reply_to, call_id, result)

    def _reply(self, reply_to: str, call_id: int, result: Any) -> None:
        if isinstance(result, RoomError):
            self.publish(
                reply_to, ["reply", call_id, False, [result.code, result.message, result.status]]
            )
        else:
            self.publish(reply_to, ["reply", call_id, True, result])

    # Upkeep --------------------------------------------------------------------------

    async def _keep_loop(self) -> None:
        """Stay alive and keep our leases, on a connection of their own, however busy the
        process: every ``renew_every`` seconds, each try given that long."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                async with asyncio.timeout(self.renew_every):
                    await self._keep()
            except TimeoutError:
                log.warning("renewing leases took over %.2f s; trying again", self.renew_every)
            except Exception:
                log.exception("renewing leases failed")
            await asyncio.sleep(max(0.0, started + self.renew_every - loop.time()))

    async def _keep(self) -> None:
        assert self.manager is not None
        owned, epochs = list(self.manager.rooms), self._epochs
        renewed = await self._keeper.renew(owned, [epochs.get(r, 0) for r in owned])
        for room_id, kept in zip(owned, renewed, strict=True):
            if not kept and room_id in self.manager.rooms:
                log.warning("lost the lease of room %s; dropping it", room_id)
                self._epochs.pop(room_id, None)  # a save still to come is refused
                self.manager.stats.leases_lost += 1
                self.manager.drop(room_id, CLOSE_MOVED, "the room moved; reconnect")
                self._let_go.add(room_id)  # taken, most likely: upkeep makes sure

    async def _upkeep_loop(self) -> None:
        """Every ``UPKEEP_SECONDS``: adopt orphaned rooms, follow rooms that moved."""
        while True:
            await asyncio.sleep(min(UPKEEP_SECONDS, self.lease_seconds / 3))
            try:
                await self._upkeep()
            except Exception:
                log.exception("cluster upkeep failed")

    async def _upkeep(self) -> None:
        """A few round trips however many rooms: which processes are alive, and the
        owners of the rooms we relay. The set of every live room, which grows with every
        game under way (correspondence games last days), is read only when a process
        has gone since we last looked, when we let a room go, and every
        ``SCAN_SECONDS`` in case a room lost its owner some other way: then each room
        whose owner is not alive is taken (``locate``)."""
        assert self.manager is not None
        if not self._steady():
            return
        loop = asyncio.get_running_loop()
        nodes = await self._register()
        alive = await self._alive(nodes)
        gone = nodes - alive
        self._mourned &= gone  # one that beats again may go again
        let_go = set(self._let_go)
        scan = bool(let_go or gone - self._mourned) or loop.time() >= self._next_scan
        orphans: list[str] = []
        if scan:
            live = set(await self.journal.live())
            self._foreign = {r: g for r, g in self._foreign.items() if r in live}
            hosted, foreign = self.manager.rooms, self._foreign
            orphans = [r for r in live if r not in hosted and r not in foreign]
        proxied = sorted({p.room_id for p in self._proxies.values()})
        rooms = sorted({*proxied, *orphans})
        owners = dict(zip(rooms, await self.leases.owners(rooms), strict=True))
        alive |= await self._alive({o for o in owners.values() if o is not None} - nodes)
        for proxy in list(self._proxies.values()):
            owner = owners.get(proxy.room_id)
            if owner != proxy.owner or owner not in alive:
                proxy.conn.close(CLOSE_MOVED, "the room moved; reconnect")
        for room_id in orphans:
            if owners[room_id] not in alive and room_id not in self.manager.rooms:
                with contextlib.suppress(RoomError):  # a game this process does not serve
                    await self.locate(room_id)
        if scan:
            self._mourned |= gone
            self._let_go -= let_go
            self._next_scan = loop.time() + SCAN_SECONDS


ALIVE_SECONDS = 2.0
"""How long a process's ``alive`` key lives without a beat (at most its lease's time)."""
BEAT_SECONDS = 0.25
"""How often a process renews its ``alive`` key."""
UPKEEP_SECONDS = 0.5
"""How often a process looks for processes that went (and then for their rooms), and
follows moved rooms: with ``ALIVE_SECONDS``, the longest a dead owner's rooms wait for
a new one (2.5 s)."""
SCAN_SECONDS = 30.0
"""How often, at most, upkeep reads every live room when no process went: for a room
that lost its owner some way no process saw (it costs Redis a read of every live room
and of their leases, so not every ``UPKEEP_SECONDS``)."""
NODES_KEPT_SECONDS = 3600.0
"""How long the list of processes keeps one that went silent (each process's own
clock: far longer than any skew)."""
HAND_OVER_SECONDS = 4.0
"""The most ``hand_over`` takes: 2 s to save, 1 s to release the leases, 1 s to send."""


async def _settle(tasks: Sequence[asyncio.Task[None] | None], seconds: float) -> None:
    """Wait for these tasks to end, for at most ``seconds`` (never raising)."""
    pending = [t for t in tasks if t is not None and not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=seconds)


__all__ = ["HAND_OVER_SECONDS", "Cluster", "RemoteMember"]
