"""Redis stores: the same shapes as memory.py, shared by every process on one Redis.

Keys all start with the configured prefix (``meeple:`` by default), so tests and
deployments can share a server. Values are MessagePack; listings are indexed by
sorted sets (one per game and status filter), never read whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Sequence
from dataclasses import fields, replace
from typing import Any, cast

import msgpack
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from meeple.lobby.stores.base import (
    LIVE_TICKET,
    LOGIN_FAILURES_KEPT,
    MAX_INVITATIONS,
    MAX_LOGIN_WAIT,
    MAX_PUSH_SUBSCRIPTIONS,
    Changes,
    GameRecord,
    Invitation,
    PlayerRating,
    PushSubscription,
    Rate,
    RatingWindow,
    RoomSummary,
    Session,
    Ticket,
    hash_token,
    human_players,
    make_cursor,
    new_id,
    new_token,
    pack,
    read_cursor,
    renamed,
    seated_players,
    unpack,
)
from meeple.lobby.stores.memory import pick_group, record_key, room_key

try:
    import hiredis
except ImportError:  # pragma: no cover - installed with redis[hiredis]
    hiredis = None  # type: ignore[assignment]

STATUSES = ("waiting", "playing", "finished")


def unpacker(data: bytes) -> msgpack.Unpacker:
    """The values of ``pack`` outputs laid end to end, one after the other."""
    values = msgpack.Unpacker(raw=False, strict_map_key=False)
    values.feed(data)
    return values


def connect(
    url: str, connections: int, *, wait: float | None = None, reply_timeout: float | None = 5.0
) -> Redis:
    """A client whose pool holds at most ``connections``; a caller finding them all in use
    waits for one (up to ``wait`` seconds; None: as long as it takes) instead of failing.

    ``reply_timeout``: how long a reply may take before the connection counts as broken.
    None for the connections whose users keep their own deadlines: redis-py enters an
    ``asyncio.timeout`` for every reply it reads, which cost more than the rest of a
    batch of a few hundred script calls.

    A command that finds its pooled connection broken (Redis restarted since it was last
    used) is sent once more on a new one, not turned into an error: every script and
    pipeline here can be sent twice (the journal's script recognises a batch it already
    holds).
    """
    if is_cluster_url(url):
        return _cluster_client(url, connections, reply_timeout)
    if url.startswith(SENTINEL_SCHEME):
        return _sentinel_client(url, connections, wait, reply_timeout)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=wait,
        socket_timeout=reply_timeout,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
    )
    if hiredis is not None:
        pool.connection_class = _packed_by_hiredis(pool.connection_class)
    return Redis.from_pool(pool)


CLUSTER_SCHEME = "redis+cluster://"
"""``REDIS_URL`` of a Redis Cluster: ``redis+cluster://host:port`` (any one node; the
client finds the others and follows MOVED and ASK)."""


SENTINEL_SCHEME = "redis+sentinel://"
"""``REDIS_URL`` of a primary watched by Sentinel:
``redis+sentinel://host:26379,host2:26379/<service name>[/db]`` (the sentinels; the
client asks them for the primary, and again after a failover)."""


class WaitingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """The sentinel pool (which primary to connect to) with the blocking pool's cap and
    wait (``connect``)."""


def _sentinel_client(
    url: str, connections: int, wait: float | None, reply_timeout: float | None
) -> Redis:
    """A client of the primary that the sentinels name, its pool capped as ``connect``'s:
    a caller finding every connection busy waits for one (redis-py's sentinel pool alone
    would open connections without end, and a capped one fails instead of waiting)."""
    from redis.asyncio.sentinel import Sentinel

    hosts, _, rest = url.removeprefix(SENTINEL_SCHEME).partition("/")
    service, _, db = rest.partition("/")
    if not hosts or not service:
        raise ValueError("REDIS_URL: redis+sentinel://host:port[,host:port...]/service[/db]")
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        sentinels.append((name, int(port)))
    sentinel = Sentinel(sentinels, socket_timeout=1.0)  # type: ignore[no-untyped-call]
    client: Redis = sentinel.master_for(
        service,
        connection_pool_class=WaitingSentinelPool,
        max_connections=connections,
        timeout=wait,
        db=int(db or 0),
        socket_timeout=reply_timeout,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
    )
    return client


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def shared_prefix(prefix: str, url: str) -> str:
    """The prefix of the keys that are not any one room's (the listing, quick-match,
    records, ratings, ``rooms:live``): on a Redis Cluster they share the ``{lobby}``
    hash tag, so that the scripts and MULTIs that join them stay in one slot. A room's
    own keys are tagged with its id (``room_part``) and spread over the cluster."""
    return f"{prefix}{{lobby}}:" if is_cluster_url(url) else prefix


async def ping(client: Any) -> None:
    """Check that Redis answers: on a Redis Cluster, every master (a plain PING goes to
    one node, and a cluster with a master down serves none of that master's slots)."""
    from redis.asyncio.cluster import RedisCluster

    if isinstance(client, RedisCluster):
        await client.ping(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.ping()


async def prepare(client: Any) -> None:
    """Ready a client from ``connect`` before its first use: a cluster client learns
    which node serves which slots (its pub/sub needs that map before it subscribes)."""
    from redis.asyncio.cluster import RedisCluster

    if isinstance(client, RedisCluster):
        await client.initialize()


def _cluster_client(url: str, connections: int, reply_timeout: float | None) -> Redis:
    """redis-py's cluster client, typed as the plain one: the stores use the commands
    both have (pipelines across slots are split per node by the client)."""
    from redis.asyncio.cluster import RedisCluster

    client = RedisCluster.from_url(
        "redis://" + url.removeprefix(CLUSTER_SCHEME),
        max_connections=max(connections, 4),
        socket_timeout=reply_timeout,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
    )
    return cast(Redis, client)


_PACKED: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def _packed_by_hiredis(base: type[AbstractConnection]) -> type[AbstractConnection]:
    """``base``, packing commands with hiredis: redis-py's asyncio connections pack them
    in Python (its blocking ones use hiredis when it is installed), at 4 µs a command
    against 0.5; a batch of a few hundred rooms is a few hundred commands."""

    def pack_command(self: AbstractConnection, *args: Any) -> list[bytes]:
        if isinstance(args[0], str) and " " in args[0]:  # "SCRIPT LOAD", as redis-py splits
            args = (*args[0].split(), *args[1:])
        return [hiredis.pack_command(args)]

    packed = _PACKED.get(base)
    if packed is None:
        packed = _PACKED[base] = type(
            f"Hiredis{base.__name__}", (base,), {"pack_command": pack_command}
        )
    return packed


async def pipelined(redis: Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Send these commands in one round trip (no MULTI); their replies, errors as
    exceptions. A command whose connection broke is sent again once, on a fresh one:
    a pooled connection to a Redis that restarted fails on first use, and redis-py's
    retry does not cover a pipeline's replies returned as errors on a Redis Cluster (a
    plain client has already retried it, and the second try then costs nothing)."""
    replies = await _pipeline(redis, commands)
    broken = [i for i, r in enumerate(replies) if isinstance(r, RedisConnectionError)]
    if broken:  # the second try: only the commands that broke, in their places
        await _drop_stale(redis)
        again = await _pipeline(redis, [commands[i] for i in broken])
        for i, reply in zip(broken, again, strict=True):
            replies[i] = reply
    return replies


async def _drop_stale(redis: Any) -> None:
    """On a Redis Cluster, after a broken connection: its nodes' idle connections are
    closed (each may be as stale: the next use opens it again) and those in use are
    closed once their callers are done. A plain client reconnects by itself."""
    from redis.asyncio.cluster import RedisCluster

    if isinstance(redis, RedisCluster):
        for node in redis.get_nodes():
            node.update_active_connections_for_reconnect()
            await node.disconnect_free_connections()


async def _pipeline(redis: Redis, commands: Sequence[Sequence[Any]]) -> list[Any]:
    async with redis.pipeline(transaction=False) as pipe:
        for args in commands:
            pipe.execute_command(*args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    return replies


def text(value: Any) -> str:
    """A Redis reply as str (replies are bytes: the client does not decode)."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Coalesced:
    """Commands that any number of callers issue in one loop turn, sent in one pipeline.

    Finished games each write a record, read and write two ratings and a summary or
    two; awaited one by one, that was a round trip each, and at a thousand games a
    second more than the round trips themselves could keep up with. Callers issue
    them concurrently and each awaits its own reply; the turn's commands go out
    together, in the order they were issued, while the previous batch is out. One
    instance may serve several stores (``services`` gives them one, on a connection
    of its own), so that their commands share the round trip too.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queued: list[tuple[Sequence[tuple[Any, ...]], asyncio.Future[Any], bool]] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, *args: Any) -> asyncio.Future[Any]:
        """Send a command (``"GET", key``) with this turn's; its reply, or its error."""
        return self._queue([args], True)

    def many(self, commands: Sequence[tuple[Any, ...]]) -> asyncio.Future[list[Any]]:
        """Send these commands with this turn's; their replies, or the first error."""
        return self._queue(commands, False)

    def _queue(self, commands: Sequence[tuple[Any, ...]], one: bool) -> asyncio.Future[Any]:
        loop = self._loop
        if loop is None:  # get_running_loop costs a getpid() system call: ask once
            loop = self._loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queued.append((commands, future, one))
        if self._task is None:
            self._task = loop.create_task(self._send())
        return future

    async def _send(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                count = sum(len(commands) for commands, _, _ in batch)
                try:
                    queued = [args for commands, _, _ in batch for args in commands]
                    replies = await pipelined(self._redis, queued)
                except Exception as exc:
                    replies = [exc] * count
                at = 0
                for commands, future, one in batch:
                    mine, at = replies[at : at + len(commands)], at + len(commands)
                    if future.done():
                        continue  # its caller gave up
                    error = next((r for r in mine if isinstance(r, Exception)), None)
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(mine[0] if one else mine)
                await asyncio.sleep(0)  # the rest of this loop turn's commands join in
        finally:
            self._task = None


class RedisSessionStore:
    """Sessions as hashes keyed by the token's hash, expiring by Redis TTL (sliding)."""

    def __init__(
        self, redis: Redis, prefix: str, ttl: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = int(ttl * 1000)
        self._clock = clock

    def _key(self, token: str) -> str:
        return f"{self._prefix}session:{hash_token(token)}"

    def _player_key(self, player_id: str) -> str:
        """The player's sessions (token hashes), for logging out everywhere."""
        return f"{self._prefix}player:{player_id}:sessions"

    async def create(self, name: str, player_id: str | None = None) -> tuple[str, Session]:
        token = new_token()
        session = Session(player_id or new_id("p"), name, self._clock() + self._ttl_ms / 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            key = self._key(token)
            fields: dict[Any, Any] = {"player_id": session.player_id, "name": name}
            if player_id is not None:  # guests cannot log out elsewhere: they have no elsewhere
                fields["account"] = "1"
                mine = self._player_key(player_id)
                pipe.sadd(mine, hash_token(token))
                pipe.pexpire(mine, self._ttl_ms)
            pipe.hset(key, mapping=fields)
            pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()
        return token, session

    async def get(self, token: str) -> Session | None:
        key = self._key(token)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.pexpire(key, self._ttl_ms)
            fields, _ = await pipe.execute()
        if not fields:
            return None
        if b"account" in fields:
            # The player's set of sessions slides with each of them, so it lasts as long as
            # the longest-lived one ("log out everywhere" finds every session still alive).
            # Another key (another slot on a cluster): a second round trip, accounts only.
            await self._redis.pexpire(self._player_key(text(fields[b"player_id"])), self._ttl_ms)
        return Session(
            text(fields[b"player_id"]),
            text(fields[b"name"]),
            self._clock() + self._ttl_ms / 1000,
        )

    async def revoke(self, token: str) -> None:
        await self._redis.delete(self._key(token))

    async def revoke_player(self, player_id: str) -> None:
        """Sessions are keys of their own (a slot each in a cluster): one DEL each."""
        mine = self._player_key(player_id)
        hashes = await self._redis.smembers(mine)
        async with self._redis.pipeline(transaction=False) as pipe:
            for hashed in hashes:
                pipe.delete(f"{self._prefix}session:{text(hashed)}")
            pipe.delete(mine)
            await pipe.execute()


class RedisConnectTickets:
    """A ticket is a key with a TTL holding its player; redeeming it is one GETDEL."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def issue(self, session: Session, ttl: float) -> str:
        ticket = new_token()
        value = pack([session.player_id, session.name, session.expires_at])
        await self._redis.set(
            f"{self._prefix}connect:{hash_token(ticket)}", value, px=max(1, int(ttl * 1000))
        )
        return ticket

    async def redeem(self, ticket: str) -> Session | None:
        blob = await self._redis.getdel(f"{self._prefix}connect:{hash_token(ticket)}")
        if not blob:
            return None
        player_id, name, expires_at = unpack(blob)
        return Session(player_id, name, expires_at)


_PUT_SUMMARY = """
local rooms = tonumber(ARGV[1])
local k, a = 1, 2 + rooms
for r = 1, rooms do
  local keys = tonumber(ARGV[1 + r])
  local id, status, score = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  redis.call('SET', KEYS[k], ARGV[a])
  for i, s in ipairs({'waiting', 'playing', 'finished'}) do
    if s == status then
      redis.call('ZADD', KEYS[k + i], score, id)
      redis.call('ZADD', KEYS[k + 3 + i], score, id)
    else
      redis.call('ZREM', KEYS[k + i], id)
      redis.call('ZREM', KEYS[k + 3 + i], id)
    end
  end
  if status ~= '' then
    redis.call('ZADD', KEYS[k + 7], score, id)
    redis.call('ZADD', KEYS[k + 8], score, id)
  end
  if keys == 10 then
    redis.call('SET', KEYS[k + 9], id)
  end
  k, a = k + keys, a + 4
end
return rooms
"""
"""Rooms' summaries and their places in the listings, at once: one call for all the
rooms of a write (every key of the directory is in one hash slot of a Redis Cluster:
``shared_prefix``). KEYS, room after room: the summary, the game's index per status
(waiting, playing, finished), every game's per status, the game's and every game's of
any status[, the invite code]. ARGV: the number of rooms, each room's number of keys
(9, or 10 with an invite code), then room after room: the summary, the room's id, its
status ('' for a private room, listed nowhere), the score (its creation time)."""


PLAYER_ROOMS_TTL = 30 * 86_400
"""A player's room index outlives its last change by 30 days (two correspondence moves)."""

INDEXED_AGAIN_AFTER = 60.0
"""Seconds a room's seated players, once written to their room indexes, go unwritten while
they stay the same: most summary puts are moves, which seat nobody. The bound is what a
Redis that lost its data (restarted without persistence) costs "my games" at most."""

INDEXED_ROOMS_KEPT = 100_000
"""Rooms whose indexing a directory remembers; the oldest are forgotten first."""


class RedisRoomDirectory:
    """Summaries by id, plus sorted sets by creation time for each filter the lobby offers."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        batch: Coalesced | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._p = prefix
        self._put = redis.register_script(_PUT_SUMMARY)
        self._batch = batch or Coalesced(redis)
        self._clock = clock
        self._indexed: dict[str, tuple[tuple[str, ...], float]] = {}
        """Room id: the seated players (sorted) last written to their indexes, and when."""

    def _index(self, game: str | None, status: str | None) -> str:
        return f"{self._p}rooms:index:{game or '*'}:{status or '*'}"

    async def put(self, summary: RoomSummary) -> None:
        await self.put_many([summary])

    def _put_command(self, summaries: Sequence[RoomSummary]) -> tuple[Any, ...]:
        """One script call: the summaries, and each room's place in every listing."""
        index = self._index
        keys: list[str] = []
        counts: list[int] = []
        args: list[Any] = []
        for summary in summaries:
            room_id, game = summary["id"], summary["game"]
            room_keys = [
                f"{self._p}rooms:summary:{room_id}",
                *[index(game, s) for s in STATUSES],
                *[index(None, s) for s in STATUSES],
                index(game, None),
                index(None, None),
            ]
            if summary.get("invite"):
                room_keys.append(f"{self._p}invite:{summary['invite']}")
            keys += room_keys
            counts.append(len(room_keys))
            status = "" if summary["private"] else summary["status"]
            args += (pack(summary), room_id, status, summary["created_at"])
        return ("EVALSHA", self._put.sha, len(keys), *keys, len(summaries), *counts, *args)

    def _player_key(self, player_id: str) -> str:
        return f"{self._p}player:{{{player_id}}}:rooms"

    async def put_many(self, summaries: Sequence[RoomSummary]) -> None:
        """Sent with every other write of this loop turn (``Coalesced``). The players'
        room indexes ("my games"; stale entries go on read) are written only when the
        seating changed, or ``INDEXED_AGAIN_AFTER`` has passed."""
        if not summaries:
            return
        now = self._clock()
        commands: list[tuple[Any, ...]] = [self._put_command(summaries)]
        indexed: dict[str, tuple[tuple[str, ...], float]] = {}
        for summary in summaries:
            room_id = summary["id"]
            players = tuple(sorted(seated_players(summary)))  # a rematch swaps seats
            last = self._indexed.get(room_id)
            if last is not None and last[0] == players and now - last[1] < INDEXED_AGAIN_AFTER:
                continue
            indexed[room_id] = (players, now)
            for player_id in players:
                key = self._player_key(player_id)
                commands.append(("SADD", key, room_id))
                commands.append(("EXPIRE", key, PLAYER_ROOMS_TTL))
        try:
            await self._batch.many(commands)
        except NoScriptError:  # Redis restarted or its scripts were flushed
            await self._redis.script_load(_PUT_SUMMARY)
            await self._batch.many(commands)
        self._remember(indexed)

    def _remember(self, indexed: dict[str, tuple[tuple[str, ...], float]]) -> None:
        """Note what was written, once it was; bounded, the oldest forgotten first."""
        for room_id, entry in indexed.items():
            self._indexed.pop(room_id, None)
            self._indexed[room_id] = entry
        while len(self._indexed) > INDEXED_ROOMS_KEPT:
            del self._indexed[next(iter(self._indexed))]

    async def get(self, room_id: str) -> RoomSummary | None:
        data = await self._redis.get(f"{self._p}rooms:summary:{room_id}")
        return unpack(data) if data else None

    async def remove(self, room_id: str) -> None:
        self._indexed.pop(room_id, None)
        summary = await self.get(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"{self._p}rooms:summary:{room_id}")
            if summary is not None:
                for g in (summary["game"], None):
                    for s in (*STATUSES, None):
                        pipe.zrem(self._index(g, s), room_id)
                if summary.get("invite"):
                    pipe.delete(f"{self._p}invite:{summary['invite']}")
            await pipe.execute()

    async def rooms_of(self, player_id: str) -> list[RoomSummary]:
        key = self._player_key(player_id)
        ids = sorted(
            m.decode() if isinstance(m, bytes) else m for m in await self._redis.smembers(key)
        )
        if not ids:
            return []
        datas = await self._redis.mget([f"{self._p}rooms:summary:{i}" for i in ids])
        mine, stale = [], []
        for room_id, data in zip(ids, datas, strict=True):
            summary = unpack(data) if data else None
            if summary is not None and player_id in seated_players(summary):
                mine.append(summary)
            else:
                stale.append(room_id)
        if stale:
            await self._redis.srem(key, *stale)
        return mine

    async def page(
        self,
        *,
        game: str | None,
        status: str | None,
        free: bool | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[RoomSummary], str | None]:
        after = read_cursor(cursor) if cursor is not None else None

        def wanted(summary: RoomSummary) -> bool:
            if after is not None and room_key(summary) >= after:
                return False
            return free is None or (summary["free"] > 0) == free

        items = await _page_by_score(
            self._redis,
            self._index(game, status),
            after,
            limit,
            lambda ids: self._redis.mget([f"{self._p}rooms:summary:{text(i)}" for i in ids]),
            wanted,
        )
        items.sort(key=room_key, reverse=True)
        if len(items) > limit:
            return items[:limit], make_cursor(*room_key(items[limit - 1]))
        return items, None

    async def room_for_invite(self, code: str) -> str | None:
        room_id = await self._redis.get(f"{self._p}invite:{code}")
        return text(room_id) if room_id else None


async def _page_by_score(
    redis: Redis,
    index: str,
    after: tuple[float, str] | None,
    limit: int,
    fetch: Callable[[list[Any]], Awaitable[list[Any]]],
    wanted: Callable[[dict[str, Any]], bool],
) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` wanted items from a sorted set, highest score first, from the
    cursor's score down (inclusive: items sharing it are filtered by ``wanted``)."""
    top: str | float = after[0] if after is not None else "+inf"
    items: list[dict[str, Any]] = []
    offset, batch = 0, max(limit * 2, 20)
    while len(items) <= limit:
        ids = await redis.zrevrangebyscore(index, top, "-inf", start=offset, num=batch)
        if not ids:
            break
        offset += len(ids)
        for blob in await fetch(ids):
            if blob is not None:
                item = dict(unpack(blob))
                if wanted(item):
                    items.append(item)
    return items


def room_part(prefix: str, room_id: str, part: str) -> str:
    """A key of one room's own: its id is the hash tag (``meeple:room:{r_ab12}:meta``), so
    that every key of a room is in one hash slot of a Redis Cluster."""
    return f"{prefix}room:{{{room_id}}}:{part}"


_SAVE = """
local need, rooms = tonumber(ARGV[1]), tonumber(ARGV[2])
local short = nil
if need > 0 then
  local online = 0
  for _ in string.gmatch(redis.call('INFO', 'replication'), ',state=online,') do
    online = online + 1
  end
  if online < need then
    short = redis.error_reply('NOREPLICAS the primary has ' .. online ..
      ' replicas online, the journal needs ' .. need .. '; nothing was written')
  end
end

local function save(k, a, last)
  local epoch = ARGV[a + 2]
  if epoch ~= '' and (redis.call('GET', KEYS[k + 2]) or '0') ~= epoch then
    return redis.error_reply('FENCED the room has a newer owner (epoch ' ..
      (redis.call('GET', KEYS[k + 2]) or '0') .. '); this save is from epoch ' .. epoch)
  end
  local n = last - a - 2
  if n > 0 then
    local log = KEYS[k + 1]
    local have = redis.call('LLEN', log)
    local before = tonumber(ARGV[a + 1])
    if have == before then
      for i = a + 3, last, 4000 do
        redis.call('RPUSH', log, unpack(ARGV, i, math.min(i + 3999, last)))
      end
    elseif have ~= before + n or redis.call('LINDEX', log, before) ~= ARGV[a + 3] then
      return redis.error_reply('ERR journal out of step: the log holds ' .. have ..
        ' entries, the owner thinks ' .. before)
    end
  end
  if ARGV[a] ~= '' then
    redis.call('SET', KEYS[k], ARGV[a])
  end
  return n
end

local replies = {}
local k, a = 1, 3 + 2 * rooms
for r = 1, rooms do
  local keys, args = tonumber(ARGV[2 + r]), tonumber(ARGV[2 + rooms + r])
  if short then
    replies[r] = short
  else
    replies[r] = save(k, a, a + args - 1)
    if keys == 4 and type(replies[r]) == 'number' then
      redis.call('DEL', KEYS[k + 3])
    end
  end
  k, a = k + keys, a + args
end
return replies
"""
"""The changes of one or more rooms (every room of a batch on one Redis; one room a call
on a Redis Cluster, where a script's keys must share a hash slot). Each room's changes
are refused unless they come from its owner of now (the fencing epoch its lease was
claimed with, or '' where nothing is fenced), and, where moves must reach replicas
(``RedisJournal(replicas=n)``), unless the primary has n replicas online (connected and
in sync: a replica that is down or resyncing is not, so its moves fail at once with
nothing written); then the new log entries are appended (unless the log ends with them
already: a batch sent again after a lost reply; anything else out of step is refused),
the metadata written when it changed, and the previous game's log dropped when a game
started. Check and writes are one script: a save from an owner that lost the room
cannot land between them.

KEYS: each room's meta, this game's log, epoch[, the previous game's log], room after
room. ARGV: the replicas needed (0: none), the number of rooms, each room's number of
keys (3 or 4), each room's number of arguments, then room after room: the metadata or
'', how many entries the log held before these, the epoch, the entries. The reply: for
each room, the entries appended or its error.

Whether an online replica is also *in step* is WAIT's to say, after the batch, not the
script's: ``INFO``'s ``lag`` (whole seconds since the replica's last REPLCONF ACK, read
from two clocks of different granularity) is -1 for a few ms around each second's turn
and more than a second on a busy machine, and a check on it refused every save of a
loaded server with its replica in step (tests/test_durability.py)."""

_TOUCH = """
local meta = redis.call('GET', KEYS[1])
if meta then
  redis.call('SET', KEYS[1], meta)
end
return meta
"""
"""The room's metadata, written again as it is: the write makes this connection's WAIT
wait for everything the primary had written before, the room's log included."""


class NotReplicated(Exception):
    """WAIT came back with fewer replicas than the journal needs: the batch is on the
    primary, not acknowledged, and reaches the replicas (or not) when they answer."""


LIVE_PAGE = 1000
"""How many members of ``rooms:live`` one SSCAN asks for."""


class RedisJournal:
    """Each room's metadata and the log of its current game, saved before anyone hears of it.

    ``room:{id}:meta`` holds the metadata, ``room:{id}:log:{game_no}`` the game's log
    (appended, never rewritten: a move costs one RPUSH however long the game), and
    ``rooms:live`` the rooms still waiting or playing, which some process must own.
    A batch is one pipeline: one script call for all its rooms (on a Redis Cluster, one
    per room: all of a room's keys are in its hash slot), and an update of ``rooms:live``
    for the rooms whose status changed.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        shared: str | None = None,
        *,
        replicas: int = 0,
        replica_wait_ms: int = 1000,
    ) -> None:
        """``shared``: the prefix of ``rooms:live`` (``shared_prefix``), ``prefix`` if None.

        ``replicas``: a batch counts as saved only once that many replicas have it
        (``WAIT replicas replica_wait_ms`` after its pipeline, one per batch), and the
        save script writes nothing while the primary has fewer replicas online. A
        room loaded with ``replicas`` is shown only once its state is on them too.
        """
        self._redis = redis
        self._p = prefix
        self._live = f"{prefix if shared is None else shared}rooms:live"
        from redis.asyncio.cluster import RedisCluster

        self._script = redis.register_script(_SAVE)
        self.one_call = not isinstance(redis, RedisCluster)
        """All the rooms of a batch in one script call: not on a Redis Cluster, where a
        script's keys must share one hash slot (a room's do: one call a room there)."""
        self.replicas = replicas
        self.replica_wait_ms = replica_wait_ms
        self.epochs: dict[str, int] | None = None
        """With leases (``cluster.Cluster`` sets it): the fencing epoch of each room this
        process holds. A save is refused unless its epoch is the room's latest (a room
        missing here saves as epoch 0: refused); None saves unfenced."""

    async def save(self, changes: Sequence[Changes]) -> list[Exception | None]:
        todo = [i for i, c in enumerate(changes) if c.entries or c.meta is not None]
        errors: list[Exception | None] = [None] * len(changes)
        for attempt in range(2):
            if not todo:
                break
            replies = await self._send([changes[i] for i in todo])
            missing = []
            for i, reply in zip(todo, replies, strict=True):
                if isinstance(reply, NoScriptError) and attempt == 0:
                    missing.append(i)  # Redis restarted or its scripts were flushed
                elif isinstance(reply, Exception):
                    errors[i] = reply
            if missing:
                await self._redis.script_load(_SAVE)
            todo = missing
        return errors

    async def _send(self, changes: list[Changes]) -> list[Any]:
        """One round trip: one script call for every room (a call per room on a Redis
        Cluster), and one update of ``rooms:live`` each way for the rooms whose status
        changed. The replies of the rooms, in order (errors as exceptions)."""
        p, epochs = self._p, self.epochs
        rooms: list[tuple[list[str], list[Any]]] = []
        for c in changes:
            room_id, game_no, meta = c.room_id, c.game_no, c.meta
            keys = [
                f"{p}room:{{{room_id}}}:meta",
                f"{p}room:{{{room_id}}}:log:{game_no}",
                f"{p}room:{{{room_id}}}:epoch",
            ]
            if c.new_game and game_no > 0:
                keys.append(f"{p}room:{{{room_id}}}:log:{game_no - 1}")
            entries = c.entries
            before = entries[0]["s"] - 2 if entries else 0  # the start is s=1, no entry
            epoch = b"" if epochs is None else epochs.get(room_id, 0)
            args = [b"" if meta is None else pack(meta), before, epoch]
            args.extend(pack(e) for e in entries)
            rooms.append((keys, args))
        calls = [rooms] if self.one_call else [[room] for room in rooms]
        commands: list[tuple[Any, ...]] = [self._save_command(call) for call in calls]
        live, need = self._live, self.replicas
        ended = [
            c.room_id for c in changes if c.meta is not None and c.meta["status"] == "finished"
        ]
        going = [
            c.room_id for c in changes if c.meta is not None and c.meta["status"] != "finished"
        ]
        if ended:  # one command each for the batch, not one a room
            commands.append(("SREM", live, *ended))
        if going:
            commands.append(("SADD", live, *going))
        if need:
            commands.append(("WAIT", need, self.replica_wait_ms))
        replies = await pipelined(self._redis, commands)
        saved: list[Any] = []
        for call, reply in zip(calls, replies, strict=False):
            saved.extend(reply if isinstance(reply, list) else [reply] * len(call))
        if need and not (isinstance(replies[-1], int) and replies[-1] >= need):
            short = NotReplicated(
                f"WAIT: {replies[-1]} of {need} replicas had the batch within "
                f"{self.replica_wait_ms} ms; the moves were not acknowledged"
            )
            saved = [r if isinstance(r, Exception) else short for r in saved]
        return saved

    def _save_command(self, rooms: list[tuple[list[str], list[Any]]]) -> tuple[Any, ...]:
        """The script call (``_SAVE``) saving these rooms' keys and arguments."""
        keys = [key for room_keys, _ in rooms for key in room_keys]
        return (
            "EVALSHA", self._script.sha, len(keys), *keys,
            self.replicas, len(rooms),
            *[len(room_keys) for room_keys, _ in rooms],
            *[len(args) for _, args in rooms],
            *[arg for _, args in rooms for arg in args],
        )  # fmt: skip

    async def load(self, room_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        blob = await self._load_meta(room_part(self._p, room_id, "meta"))
        if blob is None:
            return None
        meta = unpack(blob)
        raw = await self._redis.lrange(room_part(self._p, room_id, f"log:{meta['game_no']}"), 0, -1)
        return meta, [unpack(r) for r in raw]

    async def meta(self, room_id: str) -> dict[str, Any] | None:
        """The room's saved metadata, read as it is (for a look, not to show a room)."""
        blob = await self._redis.get(room_part(self._p, room_id, "meta"))
        return None if blob is None else cast(dict[str, Any], unpack(blob))

    async def _load_meta(self, key: str) -> bytes | None:
        """The room's metadata; with ``replicas``, only once the primary's writes so far
        (a batch whose WAIT fell short among them) are on that many replicas: what a
        room shows is never less safe than what it acknowledges."""
        if not self.replicas:
            return cast(bytes | None, await self._redis.get(key))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.eval(_TOUCH, 1, key)
            pipe.execute_command("WAIT", self.replicas, self.replica_wait_ms)
            blob, acked = await pipe.execute()
        if blob is not None and acked < self.replicas:
            raise NotReplicated(f"WAIT: {acked} of {self.replicas} replicas have the room")
        return cast(bytes | None, blob)

    async def live(self) -> list[str]:
        """Every room still waiting or playing, read a page at a time (SSCAN), so that
        a set of many rooms never holds Redis up for the others' commands."""
        found = {text(m) async for m in self._redis.sscan_iter(self._live, count=LIVE_PAGE)}
        return sorted(found)

    async def delete(self, room_id: str) -> None:
        """Forget the room (its lease is its owner's to give up)."""
        meta_key = room_part(self._p, room_id, "meta")
        blob = await self._redis.get(meta_key)
        keys = [meta_key, room_part(self._p, room_id, "epoch")]
        if blob is not None:
            game_no = unpack(blob)["game_no"]
            keys += [room_part(self._p, room_id, f"log:{g}") for g in (game_no - 1, game_no)]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(*keys)
            pipe.srem(self._live, room_id)
            await pipe.execute()


_RENEW = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not held and ARGV[3] ~= '0' and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
"""Keep our lease: renew it, or take it again if it lapsed and nobody claimed the room
since (its epoch is still ours: a claim makes a new one), as when Redis itself stalled
(an fsync behind a busy disk) for longer than a lease. KEYS: the lease, the room's
epoch; ARGV: our node id, the lease's time in ms, our epoch (0: never take it again)."""
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return redis.call('INCR', KEYS[2])
elseif held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local epoch = redis.call('GET', KEYS[2])
  if epoch then
    return tonumber(epoch)
  end
  return redis.call('INCR', KEYS[2])
end
return 0
"""
"""Take a free lease (a new fencing epoch) or keep ours (its epoch): KEYS: the lease,
the room's epoch; ARGV: our node id, the lease's time in ms. 0: someone else has it."""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLeases:
    """One owner per room: a key holding the owner's node id, renewed while it lives.

    Give it a client of its own (``services`` does): renewals then never wait behind
    the moves' traffic for a connection.
    """

    def __init__(self, redis: Redis, prefix: str, node: str, ttl: float) -> None:
        self._redis = redis
        self._p = prefix
        self.node = node
        self.ttl_ms = int(ttl * 1000)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._claim = redis.register_script(_CLAIM)

    def _key(self, room_id: str) -> str:
        return room_part(self._p, room_id, "lease")

    async def claim(self, room_id: str) -> int:
        """Take the room if nobody holds it, or keep it (renewed) if we already do: its
        fencing epoch (one more than the last owner's when taken), or 0 if another
        process holds it. The journal takes saves of the latest epoch only."""
        keys = [self._key(room_id), room_part(self._p, room_id, "epoch")]
        return int(await self._claim(keys=keys, args=[self.node, self.ttl_ms]))

    async def owner(self, room_id: str) -> str | None:
        value = await self._redis.get(self._key(room_id))
        return text(value) if value else None

    async def owners(self, room_ids: Sequence[str]) -> list[str | None]:
        """Each room's owner, in one round trip (a GET per room: their keys are in
        different hash slots)."""
        if not room_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.get(self._key(room_id))
            values = await pipe.execute()
        return [text(v) if v else None for v in values]

    async def renew(self, room_ids: Sequence[str], epochs: Sequence[int] = ()) -> list[bool]:
        """Extend our leases, in one round trip; False where a lease was lost (expired and
        taken). Given the epochs we claimed the rooms with, a lease that expired while
        nobody claimed the room is taken again."""
        if not room_ids:
            return []
        node, ttl, sha = self.node, self.ttl_ms, self._renew.sha
        replies = await self._each(_RENEW, [
            ("EVALSHA", sha, 2, self._key(r), room_part(self._p, r, "epoch"), node, ttl, e)
            for r, e in zip(room_ids, epochs or [0] * len(room_ids), strict=True)
        ])  # fmt: skip
        return [r == 1 for r in replies]

    async def release(self, room_id: str) -> None:
        await self._release(keys=[self._key(room_id)], args=[self.node])

    async def release_all(self, room_ids: Sequence[str]) -> None:
        """Give up these leases (the ones still ours), in one round trip."""
        if room_ids:
            sha, node = self._release.sha, self.node
            await self._each(_RELEASE, [("EVALSHA", sha, 1, self._key(r), node) for r in room_ids])

    async def release_if(self, room_id: str, owner: str) -> None:
        """Free a lease ``owner`` holds (an owner that is gone), not one taken since."""
        await self._release(keys=[self._key(room_id)], args=[owner])

    async def _each(self, script: str, commands: list[tuple[Any, ...]]) -> list[Any]:
        """``script`` called for each room's lease (``commands``) in one pipeline, loading
        it once if Redis lost it."""
        for attempt in range(2):
            replies = await pipelined(self._redis, commands)
            if attempt == 0 and any(isinstance(r, NoScriptError) for r in replies):
                await self._redis.script_load(script)
                continue
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return replies
        raise AssertionError("unreachable")


class RedisPushSubscriptions:
    """Per player a hash, endpoint -> the subscription (with when it was added)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix

    def _key(self, player_id: str) -> str:
        return f"{self._p}push:{{{player_id}}}"

    async def add(self, player_id: str, subscription: PushSubscription) -> None:
        key = self._key(player_id)
        value = pack({"sub": subscription, "at": time.time()})
        await self._redis.hset(key, subscription["endpoint"], value)
        if await self._redis.hlen(key) > MAX_PUSH_SUBSCRIPTIONS:
            kept = await self._redis.hgetall(key)
            oldest = sorted(kept, key=lambda e: unpack(kept[e])["at"])
            await self._redis.hdel(key, *oldest[: len(kept) - MAX_PUSH_SUBSCRIPTIONS])

    async def of(self, player_id: str) -> list[PushSubscription]:
        kept = await self._redis.hgetall(self._key(player_id))
        return [unpack(v)["sub"] for v in kept.values()]

    async def remove(self, player_id: str, endpoint: str) -> None:
        await self._redis.hdel(self._key(player_id), endpoint)


class RedisInvitations:
    """Per invitee a hash, room -> the invitation; the key lives as long as its newest.
    ``clock``: the Unix time invitations expire by (tests move one by hand)."""

    def __init__(self, redis: Redis, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._p = prefix
        self._clock = clock

    def _key(self, player_id: str) -> str:
        return f"{self._p}invitations:{{{player_id}}}"

    async def add(self, player_id: str, invitation: Invitation) -> None:
        key = self._key(player_id)
        ttl = max(1, math.ceil(invitation["expires_at"] - self._clock()))
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, invitation["room"], pack(invitation))
            pipe.expire(key, ttl, gt=True)
            pipe.expire(key, ttl, nx=True)
            pipe.hlen(key)
            *_, count = await pipe.execute()
        if count > MAX_INVITATIONS:
            kept = await self._invitations(key)
            await self._redis.hdel(key, *[i["room"] for i in kept[MAX_INVITATIONS:]])

    async def of(self, player_id: str) -> list[Invitation]:
        key = self._key(player_id)
        kept = await self._invitations(key)
        now = self._clock()
        expired = [i["room"] for i in kept if i["expires_at"] <= now]
        if expired:
            await self._redis.hdel(key, *expired)
        return [i for i in kept if i["expires_at"] > now]

    async def remove(self, player_id: str, room_id: str) -> None:
        await self._redis.hdel(self._key(player_id), room_id)

    async def _invitations(self, key: str) -> list[Invitation]:
        """Newest first."""
        kept = [unpack(v) for v in (await self._redis.hgetall(key)).values()]
        return sorted(kept, key=lambda i: i["at"], reverse=True)


class RedisPresence:
    """Per player a sorted set of nodes, each scored with until when it is there (Unix
    time): one key per player, so every command touches one slot. The key itself
    expires with the last renewal, so a player nobody renews leaves nothing behind.
    ``clock``: that Unix time (tests move one by hand)."""

    def __init__(self, redis: Redis, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._p = prefix
        self._clock = clock

    def _key(self, player_id: str) -> str:
        return f"{self._p}presence:{{{player_id}}}"

    async def renew(self, node: str, players: Sequence[str], ttl: float) -> None:
        if not players:
            return
        until = self._clock() + ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for player_id in players:
                key = self._key(player_id)
                pipe.zadd(key, {node: until})
                pipe.expire(key, math.ceil(ttl))
            await pipe.execute()

    async def leave(self, node: str, player_id: str) -> None:
        await self._redis.zrem(self._key(player_id), node)

    async def present(self, player_id: str) -> bool:
        return bool(await self._redis.zcount(self._key(player_id), f"({self._clock()!r}", "+inf"))


# Quick-match, records and ratings ---------------------------------------------------


def _ticket_data(ticket: Ticket) -> dict[str, Any]:
    return {f.name: getattr(ticket, f.name) for f in fields(Ticket)}


class RedisTicketQueue:
    """The quick-match queue shared by every process.

    Each step that reads and then changes the queue runs under one short Redis lock,
    so two processes never take the same ticket: a ticket leaves ``mm:waiting:{key}``
    and becomes ``matching`` in the same critical section. Tickets stuck ``matching``
    (their process died before settling them) expire like waiting ones.
    """

    def __init__(
        self, redis: Redis, prefix: str, keep_settled: float = 600.0, lock_ttl: float = 3.0
    ) -> None:
        self._redis = redis
        self._p = f"{prefix}mm:"
        self._keep_ms = int(keep_settled * 1000)
        self._lock_ms = int(lock_ttl * 1000)

    @contextlib.asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        # A lock left by a process that died inside a critical section expires after
        # lock_ttl, and waiting a little longer than that means a dead holder delays a
        # round instead of failing it. Only live processes holding it back to back can
        # keep us out that long.
        token = secrets.token_hex(8)
        key = f"{self._p}lock"
        deadline = time.monotonic() + self._lock_ms / 1000 + 0.5
        pause = 0.002
        while not await self._redis.set(key, token, nx=True, px=self._lock_ms):
            if time.monotonic() > deadline:
                raise TimeoutError("the quick-match queue stayed locked")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            await self._redis.eval(_RELEASE, 1, key, token)

    def _tkey(self, ticket_id: str) -> str:
        return f"{self._p}ticket:{ticket_id}"

    async def _load(self, ids: Sequence[Any]) -> list[Ticket]:
        if not ids:
            return []
        blobs = await self._redis.mget([self._tkey(text(i)) for i in ids])
        return [Ticket(**unpack(b)) for b in blobs if b is not None]

    def _write(self, pipe: Any, ticket: Ticket) -> None:
        pipe.set(self._tkey(ticket.id), pack(_ticket_data(ticket)))
        live = f"{self._p}live:{ticket.player_id}:{ticket.game}"
        if ticket.status == "waiting":
            pipe.zadd(f"{self._p}waiting:{ticket.key}", {ticket.id: ticket.created_at})
            pipe.sadd(f"{self._p}keys", ticket.key)
            pipe.zrem(f"{self._p}matching", ticket.id)
        elif ticket.status == "matching":
            pipe.zrem(f"{self._p}waiting:{ticket.key}", ticket.id)
            pipe.zadd(f"{self._p}matching", {ticket.id: ticket.expires_at})
        else:
            pipe.zrem(f"{self._p}waiting:{ticket.key}", ticket.id)
            pipe.zrem(f"{self._p}matching", ticket.id)
            pipe.pexpire(self._tkey(ticket.id), self._keep_ms)
            pipe.delete(live)

    async def add(self, ticket: Ticket) -> tuple[Ticket, bool]:
        live = f"{self._p}live:{ticket.player_id}:{ticket.game}"
        async with self._locked():
            current = await self._redis.get(live)
            if current is not None:
                existing = await self.get(text(current))
                if existing is not None and existing.status in LIVE_TICKET:
                    return existing, False
            async with self._redis.pipeline(transaction=True) as pipe:
                self._write(pipe, ticket)
                pipe.set(live, ticket.id)
                await pipe.execute()
        return ticket, True

    async def get(self, ticket_id: str) -> Ticket | None:
        found = await self._load([ticket_id])
        return found[0] if found else None

    async def cancel(self, ticket_id: str, now: float) -> Ticket | None:
        async with self._locked():
            ticket = await self.get(ticket_id)
            if ticket is None or ticket.status != "waiting":
                return ticket
            ticket = replace(ticket, status="cancelled", settled_at=now)
            async with self._redis.pipeline(transaction=True) as pipe:
                self._write(pipe, ticket)
                await pipe.execute()
            return ticket

    async def take_group(
        self, now: float, window: RatingWindow, games: Container[str] | None = None
    ) -> list[Ticket] | None:
        async with self._locked():
            for key in await self._redis.smembers(f"{self._p}keys"):
                waiting_key = f"{self._p}waiting:{text(key)}"
                tickets = await self._load(await self._redis.zrange(waiting_key, 0, -1))
                if not tickets:
                    await self._redis.srem(f"{self._p}keys", key)
                    continue
                if games is not None and tickets[0].game not in games:
                    continue
                group = pick_group(tickets, tickets[0].seats, now, window)
                if group is None:
                    continue
                taken = [replace(t, status="matching") for t in group]
                async with self._redis.pipeline(transaction=True) as pipe:
                    for ticket in taken:
                        self._write(pipe, ticket)
                    await pipe.execute()
                return taken
        return None

    async def settle(self, tickets: Sequence[Ticket]) -> None:
        async with self._locked(), self._redis.pipeline(transaction=True) as pipe:
            for ticket in tickets:
                self._write(pipe, ticket)
            await pipe.execute()

    async def expire(self, now: float) -> list[Ticket]:
        expired: list[Ticket] = []
        async with self._locked():
            candidates: list[Ticket] = []
            for key in await self._redis.smembers(f"{self._p}keys"):
                waiting_key = f"{self._p}waiting:{text(key)}"
                candidates += await self._load(await self._redis.zrange(waiting_key, 0, -1))
            stuck = await self._redis.zrangebyscore(f"{self._p}matching", "-inf", now - 30)
            candidates += await self._load(stuck)
            async with self._redis.pipeline(transaction=True) as pipe:
                for ticket in candidates:
                    if ticket.expires_at <= now:
                        gone = replace(ticket, status="expired", settled_at=now)
                        self._write(pipe, gone)
                        expired.append(gone)
                await pipe.execute()
        return expired


RECORD_DAYS = 90.0
"""How long Redis keeps a finished game's record, and a player's history after its last."""


class RedisRecordStore:
    """Finished games by id, and each player's as a sorted set by finishing time."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        keep_days: float = RECORD_DAYS,
        batch: Coalesced | None = None,
    ) -> None:
        self._redis = redis
        self._p = prefix
        self._keep_ms = int(keep_days * 86400 * 1000)
        self._batch = batch or Coalesced(redis)

    async def put(self, record: GameRecord) -> None:
        """Sent with every other write of this loop turn (``Coalesced``)."""
        keep = self._keep_ms
        writes: list[tuple[Any, ...]] = [
            ("SET", f"{self._p}record:{record['id']}", pack(record), "PX", keep)
        ]
        for seat in record.get("seats", ()):
            if seat.get("kind") == "human" and seat.get("player_id"):
                key = f"{self._p}player:{seat['player_id']}:records"
                writes.append(("ZADD", key, record["finished_at"], record["id"]))
                writes.append(("PEXPIRE", key, keep))
        await self._batch.many(writes)

    async def get(self, record_id: str) -> GameRecord | None:
        blob = await self._redis.get(f"{self._p}record:{record_id}")
        return dict(unpack(blob)) if blob else None

    async def for_player(
        self, player_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[GameRecord], str | None]:
        after = read_cursor(cursor) if cursor is not None else None
        records = await _page_by_score(
            self._redis,
            f"{self._p}player:{player_id}:records",
            after,
            limit,
            lambda ids: self._redis.mget([f"{self._p}record:{text(i)}" for i in ids]),
            lambda record: after is None or record_key(record) < after,
        )
        records.sort(key=record_key, reverse=True)
        if len(records) > limit:
            return records[:limit], make_cursor(*record_key(records[limit - 1]))
        return records, None

    async def rename_player(self, player_id: str, name: str) -> None:
        """Rare (an account's deletion): one read and one write per record, TTLs kept."""
        ids = await self._redis.zrange(f"{self._p}player:{player_id}:records", 0, -1)
        for record_id in ids:
            key = f"{self._p}record:{text(record_id)}"
            blob = await self._redis.get(key)
            if blob:
                await self._redis.set(
                    key, pack(renamed(unpack(blob), player_id, name)), keepttl=True
                )


class RedisRatingStore:
    """Ratings per game: a hash per player and a sorted set to rank them."""

    def __init__(self, redis: Redis, prefix: str, batch: Coalesced | None = None) -> None:
        self._redis = redis
        self._p = prefix
        self._batch = batch or Coalesced(redis)

    async def get(self, game: str, player_id: str) -> PlayerRating | None:
        """Sent with every other read and write of this loop turn (``Coalesced``)."""
        blob = await self._batch("GET", f"{self._p}rating:{game}:{player_id}")
        return PlayerRating(**unpack(blob)) if blob else None

    async def put_many(self, game: str, ratings: Sequence[PlayerRating]) -> None:
        writes: list[tuple[Any, ...]] = []
        ranking: list[Any] = []
        for r in ratings:
            data = {f.name: getattr(r, f.name) for f in fields(PlayerRating)}
            writes.append(("SET", f"{self._p}rating:{game}:{r.player_id}", pack(data)))
            ranking += [-r.rating, r.player_id]
        if ranking:
            writes.append(("ZADD", f"{self._p}ratings:{game}", *ranking))
        await self._batch.many(writes)

    async def rename_player(self, player_id: str, name: str) -> None:
        """Rare (an account's deletion): the player's ratings are found by a SCAN."""
        async for key in self._redis.scan_iter(f"{self._p}rating:*:{player_id}"):
            blob = await self._redis.get(key)
            if blob:
                await self._redis.set(key, pack({**unpack(blob), "name": name}))

    async def page(
        self, game: str, *, cursor: str | None, limit: int
    ) -> tuple[list[PlayerRating], str | None]:
        offset = int(cursor) if cursor else 0
        if offset < 0:
            raise ValueError("a cursor is not negative")
        key = f"{self._p}ratings:{game}"
        ids = await self._redis.zrange(key, offset, offset + limit - 1)
        blobs = (
            await self._redis.mget([f"{self._p}rating:{game}:{text(i)}" for i in ids])
            if ids
            else []
        )
        items = [PlayerRating(**unpack(b)) for b in blobs if b is not None]
        more = offset + limit < await self._redis.zcard(key)
        return items, str(offset + limit) if more else None


_FINISH = """
local keep, records = ARGV[1], tonumber(ARGV[2])
local k, a, known = 1, 3, {}
for r = 1, records do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    known[#known + 1] = r
  end
  k, a = k + 1 + tonumber(ARGV[a + 3]), a + 4
end
while k <= #KEYS do
  if (redis.call('GET', KEYS[k]) or '') ~= ARGV[a + 3] then
    return {0, known}
  end
  k, a = k + 2, a + 4
end
if #known > 0 then
  return {0, known}
end
k, a = 1, 3
for r = 1, records do
  local players = tonumber(ARGV[a + 3])
  redis.call('SET', KEYS[k], ARGV[a], 'PX', keep)
  for i = 1, players do
    redis.call('ZADD', KEYS[k + i], ARGV[a + 2], ARGV[a + 1])
    redis.call('PEXPIRE', KEYS[k + i], keep)
  end
  k, a = k + 1 + players, a + 4
end
while k <= #KEYS do
  redis.call('SET', KEYS[k], ARGV[a])
  redis.call('ZADD', KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
  k, a = k + 2, a + 4
end
return {1, known}
"""
"""Finished games' records and their players' new ratings, at once (every key is in the
``{lobby}`` slot of a Redis Cluster: ``shared_prefix``), or nothing: when a record is
there already (its room failed over and finished the game again) or a rating is no
longer what the new one was computed from (another process rated the player meanwhile),
it writes nothing and answers ``{0, the records already there}``, and the batch is read,
rated and sent again. KEYS: each record, then its human players' histories; then each
new rating and its game's ranking. ARGV: how long records are kept (ms), the number of
records, then record after record: the record, its id, when it finished, its number of
players; then rating after rating: the rating, its score in the ranking (minus the
rating), the player's id, the rating it was computed from ('' for none). Keys and TTLs
as ``RedisRecordStore.put`` and ``RedisRatingStore.put_many`` write them."""

ATTEMPTS = 5
"""How often ``RedisFinishedGames`` sends a batch that another writer overtook."""


class RedisFinishedGames:
    """The game-over hook with Redis for everything: the games that finish in one loop
    turn get their records and ratings written together, in two commands whatever their
    number (one read of the ratings they change, one script call writing records and
    new ratings), both sent with the turn's other writes (``Coalesced``). One game at a
    time, it was ten commands and three round trips in sequence a game (a record, its
    players' histories, each rating read and written), and redis-py's client work per
    command was the largest part of a finished game's cost. Ratings are computed in
    the order the games finished, so a player's games in one batch follow each other.
    As in SQL, a game is written once (a room that failed over finishing it again
    changes nothing) and no rating update is lost to another process's: the script
    writes only if no record is there yet and every rating is still the one read
    (``_FINISH``), else the batch is read and rated again without the games written."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        batch: Coalesced,
        rate: Rate,
        keep_days: float = RECORD_DAYS,
    ) -> None:
        self._redis = redis
        self._p = prefix
        self._batch = batch
        self._rate = rate
        self._keep_ms = int(keep_days * 86400 * 1000)
        self._script = redis.register_script(_FINISH)
        self._pending: list[GameRecord] = []
        self._done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def finish(self, record: GameRecord) -> asyncio.Future[None]:
        """Record and rate a finished game, with the rest of this loop turn's; done when
        written (its error if the batch failed)."""
        loop = asyncio.get_running_loop()
        if self._done is None:
            self._done = loop.create_future()
        self._pending.append(record)
        if self._task is None:
            self._task = loop.create_task(self._write())
        return self._done

    async def _write(self) -> None:
        try:
            await asyncio.sleep(0)  # the rest of this loop turn's games join in
            while self._pending:
                games, self._pending = self._pending, []
                done, self._done = self._done, None
                assert done is not None
                try:
                    await self._write_batch(games)
                except Exception as exc:
                    done.set_exception(exc)
                else:
                    done.set_result(None)
        finally:
            self._task = None

    def _rating_key(self, game: str, player_id: str) -> str:
        return f"{self._p}rating:{game}:{player_id}"

    async def _write_batch(self, games: list[GameRecord]) -> None:
        """Write the batch, leaving out its games already written; read, rated and sent
        again while another writer rated one of its players meanwhile."""
        for _ in range(ATTEMPTS):
            written, known = await self._try(games)
            if written:
                return
            games = [game for i, game in enumerate(games, start=1) if i not in known]
            if not games:
                return
        raise RuntimeError(f"ratings kept changing under {len(games)} finished games")

    async def _try(self, games: list[GameRecord]) -> tuple[bool, set[int]]:
        """One read of the ratings, one script call: whether it wrote, and which games
        (numbered from 1) were written before."""
        p, keep = self._p, self._keep_ms
        players = [(record.get("game", ""), human_players(record)) for record in games]
        wanted = list(dict.fromkeys(self._rating_key(g, i) for g, ids in players for i in ids))
        blobs = await self._batch("MGET", *wanted) if wanted else []
        read = dict(zip(wanted, blobs, strict=True))
        known = {
            key: None if blob is None else PlayerRating(**unpack(blob))
            for key, blob in read.items()
        }
        changed: dict[str, tuple[str, PlayerRating]] = {}
        keys: list[str] = []
        args: list[Any] = [keep, len(games)]
        for record, (game, ids) in zip(games, players, strict=True):
            before = {i: known[self._rating_key(game, i)] for i in ids}
            for rating in self._rate(record, before):
                key = self._rating_key(game, rating.player_id)
                known[key] = rating
                changed[key] = (game, rating)
            keys.append(f"{p}record:{record['id']}")
            keys += [f"{p}player:{i}:records" for i in ids]
            args += (pack(record), record["id"], record["finished_at"], len(ids))
        for key, (game, r) in changed.items():
            keys += (key, f"{p}ratings:{game}")
            data = {f.name: getattr(r, f.name) for f in fields(PlayerRating)}
            args += (pack(data), -r.rating, r.player_id, read.get(key) or b"")
        command = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        try:
            reply = await self._batch(*command)
        except NoScriptError:  # Redis restarted or its scripts were flushed
            await self._redis.script_load(_FINISH)
            reply = await self._batch(*command)
        return reply[0] == 1, {int(i) for i in reply[1]}


_LOGIN_FAILED = """
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local wait = 0
if count >= tonumber(ARGV[2]) then
  wait = math.min(tonumber(ARGV[3]), 2 ^ (count - tonumber(ARGV[2])))
end
redis.call('HSET', KEYS[1], 'until', tostring(tonumber(ARGV[1]) + wait))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return count
"""
"""One more failure for a key, and when its next attempt may come (``login_wait``).
KEYS: the key's hash. ARGV: now, free failures, the longest wait, how long it is kept (ms)."""


class RedisLoginFailures:
    """A hash per key (its failures in a row and when the next attempt may come), named by
    the key's SHA-256 (no username or address is stored), forgotten a day after its last
    failure. A failure is one script call, so processes counting at once lose none."""

    def __init__(self, redis: Redis, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._p = prefix
        self._clock = clock
        self._failed = redis.register_script(_LOGIN_FAILED)

    def _key(self, key: str) -> str:
        return f"{self._p}login:{hash_token(key)}"

    async def wait(self, keys: Sequence[str]) -> float:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hget(self._key(key), "until")
            found = await pipe.execute()
        now = self._clock()
        return max([0.0] + [float(text(u)) - now for u in found if u is not None])

    async def failed(self, key: str, free: int) -> None:
        await self._failed(
            keys=[self._key(key)],
            args=[repr(self._clock()), free, MAX_LOGIN_WAIT, int(LOGIN_FAILURES_KEPT * 1000)],
        )

    async def succeeded(self, key: str) -> None:
        await self._redis.delete(self._key(key))
