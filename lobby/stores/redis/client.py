"""Redis clients as the stores use them: connecting (one server, Sentinel, Cluster),
pipelines that survive a stale pooled connection, ``Coalesced`` (one pipeline a loop
turn for the background writes), and what several stores share: a room's key
(``room_part``), a conditional delete (``RELEASE``), paging a sorted set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import msgpack
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from meeple.lobby.stores.base import unpack

try:
    import hiredis
except ImportError:  # pragma: no cover - installed with redis[hiredis]
    hiredis = None  # type: ignore[assignment]


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
    # Any: redis-py types Sentinel's constructor from 8.2 on, not before.
    sentinel = cast(Any, Sentinel)(sentinels, socket_timeout=1.0)
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


class Lane:
    """One connection for one sender with one batch in flight at a time (the journal
    writer, ``Coalesced``, the fan-out): a batch's commands are written in one go and
    their replies read back in order, without redis-py's pipeline, whose client work
    was more than the round trip's own (measured alone, one PUBLISH: 46 µs a
    pipeline against 21; taking a pooled connection is a lock, a condition and a
    health peek at the socket, then per command its bookkeeping). The connection is
    the pool's (closed with it), taken once and kept; the pool's cap grows by one
    for it, so the client's other users keep theirs. A connection that breaks is
    connected again for the next batch (``connect``: on a Sentinel pool, to the
    primary the sentinels name now); what broke is sent again once (``pipelined``'s
    rule). On a Redis Cluster, where a batch is split per node, and while a batch
    is out (a second caller), it is ``pipelined``."""

    def __init__(self, redis: Redis) -> None:
        from redis.asyncio.cluster import RedisCluster

        self._redis = redis
        self._direct = not isinstance(redis, RedisCluster)
        self._conn: AbstractConnection | None = None
        self._busy = False

    async def send(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The replies, in order, errors as exceptions (as ``pipelined``)."""
        if not self._direct or self._busy:
            return await pipelined(self._redis, commands)
        self._busy = True
        try:
            replies = await self._round_trip(commands)
            broken = [i for i, r in enumerate(replies) if isinstance(r, RedisConnectionError)]
            if broken:  # the second try: only the commands that broke, in their places
                again = await self._round_trip([commands[i] for i in broken])
                for i, reply in zip(broken, again, strict=True):
                    replies[i] = reply
            return replies
        finally:
            self._busy = False

    async def _round_trip(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        redis, conn = self._redis, self._conn
        if conn is None:
            pool = cast(Any, redis.connection_pool)
            conn = self._conn = await pool.get_connection()
            pool.max_connections += 1  # this one is ours for good
        replies: list[Any] = []
        try:
            if not conn.is_connected:  # connect() asks a Sentinel pool for the primary of now
                await conn.connect()
            await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
            parse = redis.parse_response
            for args in commands:
                try:  # (the client's own reply handling: RESP3, its callbacks)
                    replies.append(await parse(cast(Any, conn), args[0]))
                except ResponseError as exc:
                    replies.append(exc)
        except (RedisConnectionError, OSError) as exc:
            await conn.disconnect(nowait=True)
            broken = RedisConnectionError(f"{type(exc).__name__}: {exc}")
            replies += [broken] * (len(commands) - len(replies))
        except BaseException:  # cancelled, say: the replies left would be out of step
            await conn.disconnect(nowait=True)
            raise
        return replies


def text(value: Any) -> str:
    """A Redis reply as str (replies are bytes: the client does not decode)."""
    return value.decode() if isinstance(value, bytes) else str(value)


class Coalesced:
    """Commands that any number of callers issue in one loop turn, sent in one round trip.

    Finished games each write a record, read and write two ratings and a summary or
    two; awaited one by one, that was a round trip each, and at a thousand games a
    second more than the round trips themselves could keep up with. Callers issue
    them concurrently and each awaits its own reply; the turn's commands go out
    together, in the order they were issued, while the previous batch is out. One
    instance may serve several stores (``services`` gives them one, on a connection
    of its own), so that their commands share the round trip too.
    """

    def __init__(self, redis: Redis) -> None:
        self._lane = Lane(redis)
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
                    replies = await self._lane.send(queued)
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


def room_part(prefix: str, room_id: str, part: str) -> str:
    """A key of one room's own: its id is the hash tag (``meeple:room:{r_ab12}:meta``), so
    that every key of a room is in one hash slot of a Redis Cluster."""
    return f"{prefix}room:{{{room_id}}}:{part}"


RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
"""Delete a key if it holds ``ARGV[1]``: a lease given up, a ticket its holder ends."""


async def page_by_score(
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
