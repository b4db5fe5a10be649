"""Redis stores: the same shapes as memory.py, shared by every process on one Redis.

Keys all start with the configured prefix (``meeple:`` by default), so tests and
deployments can share a server. Values are MessagePack; listings are indexed by
sorted sets (one per game and status filter), never read whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgpack
from redis.asyncio import Redis

from lobby.stores.base import RoomSummary, Session, hash_token, new_id, new_token
from lobby.stores.memory import cursor_of

STATUSES = ("waiting", "playing", "finished")


def pack(value: Any) -> bytes:
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


def unpack(data: Any) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def text(value: Any) -> str:
    """A Redis reply as str (replies are bytes: the client does not decode)."""
    return value.decode() if isinstance(value, bytes) else str(value)


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

    async def create(self, name: str) -> tuple[str, Session]:
        token = new_token()
        session = Session(new_id("p"), name, self._clock() + self._ttl_ms / 1000)
        async with self._redis.pipeline(transaction=True) as pipe:
            key = self._key(token)
            pipe.hset(key, mapping={"player_id": session.player_id, "name": name})
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
        return Session(
            text(fields[b"player_id"]),
            text(fields[b"name"]),
            self._clock() + self._ttl_ms / 1000,
        )

    async def revoke(self, token: str) -> None:
        await self._redis.delete(self._key(token))


class RedisRoomDirectory:
    """Summaries by id, plus sorted sets by creation time for each filter the lobby offers."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix

    def _index(self, game: str | None, status: str | None) -> str:
        return f"{self._p}rooms:index:{game or '*'}:{status or '*'}"

    async def put(self, summary: RoomSummary) -> None:
        room_id, game = summary["id"], summary["game"]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self._p}rooms:summary:{room_id}", pack(summary))
            for status in STATUSES:
                pipe.zrem(self._index(game, status), room_id)
                pipe.zrem(self._index(None, status), room_id)
            if not summary["private"]:
                score = summary["created_at"]
                for g in (game, None):
                    for s in (summary["status"], None):
                        pipe.zadd(self._index(g, s), {room_id: score})
            if summary.get("invite"):
                pipe.set(f"{self._p}invite:{summary['invite']}", room_id)
            await pipe.execute()

    async def get(self, room_id: str) -> RoomSummary | None:
        data = await self._redis.get(f"{self._p}rooms:summary:{room_id}")
        return unpack(data) if data else None

    async def remove(self, room_id: str) -> None:
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

    async def page(
        self,
        *,
        game: str | None,
        status: str | None,
        free: bool | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[RoomSummary], str | None]:
        index = self._index(game, status)
        top: str | float = "+inf"
        if cursor is not None:
            top = float(cursor.split(":", 1)[0])
        items: list[RoomSummary] = []
        offset = 0
        batch = max(limit * 2, 20)
        while len(items) <= limit:
            ids = await self._redis.zrevrangebyscore(index, top, "-inf", start=offset, num=batch)
            if not ids:
                break
            offset += len(ids)
            blobs = await self._redis.mget([f"{self._p}rooms:summary:{text(i)}" for i in ids])
            for blob in blobs:
                if blob is None:
                    continue
                summary = unpack(blob)
                if cursor is not None and cursor_of(summary) >= cursor:
                    continue
                if free is not None and (summary["free"] > 0) != free:
                    continue
                items.append(summary)
        if len(items) > limit:
            return items[:limit], cursor_of(items[limit - 1])
        return items, None

    async def room_for_invite(self, code: str) -> str | None:
        room_id = await self._redis.get(f"{self._p}invite:{code}")
        return text(room_id) if room_id else None


class RedisJournal:
    """Each room's metadata and the log of its current game, saved before anyone hears of it.

    ``room:{id}:meta`` holds the metadata, ``room:{id}:log:{game_no}`` the game's log
    (appended, never rewritten: a move costs one RPUSH however long the game), and
    ``rooms:live`` the rooms still waiting or playing, which some process must own.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._p = prefix

    async def save(self, room_id: str, meta: dict[str, Any], entries: list[dict[str, Any]]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"{self._p}room:{room_id}:meta", pack(meta))
            if entries:
                pipe.rpush(
                    f"{self._p}room:{room_id}:log:{meta['game_no']}", *[pack(e) for e in entries]
                )
            if meta["status"] == "finished":
                pipe.srem(f"{self._p}rooms:live", room_id)
            else:
                pipe.sadd(f"{self._p}rooms:live", room_id)
            await pipe.execute()

    async def load(self, room_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        blob = await self._redis.get(f"{self._p}room:{room_id}:meta")
        if blob is None:
            return None
        meta = unpack(blob)
        raw = await self._redis.lrange(f"{self._p}room:{room_id}:log:{meta['game_no']}", 0, -1)
        return meta, [unpack(r) for r in raw]

    async def live(self) -> list[str]:
        return [text(m) for m in await self._redis.smembers(f"{self._p}rooms:live")]

    async def delete(self, room_id: str) -> None:
        keys = [k async for k in self._redis.scan_iter(f"{self._p}room:{room_id}:*")]
        async with self._redis.pipeline(transaction=True) as pipe:
            if keys:
                pipe.delete(*keys)
            pipe.srem(f"{self._p}rooms:live", room_id)
            await pipe.execute()


_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLeases:
    """One owner per room: a key holding the owner's node id, renewed while it lives."""

    def __init__(self, redis: Redis, prefix: str, node: str, ttl: float) -> None:
        self._redis = redis
        self._p = prefix
        self.node = node
        self.ttl_ms = int(ttl * 1000)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def _key(self, room_id: str) -> str:
        return f"{self._p}room:{room_id}:lease"

    async def claim(self, room_id: str) -> bool:
        """Take the room if nobody holds it (or we already do)."""
        key = self._key(room_id)
        if await self._redis.set(key, self.node, nx=True, px=self.ttl_ms):
            return True
        return await self.owner(room_id) == self.node

    async def owner(self, room_id: str) -> str | None:
        value = await self._redis.get(self._key(room_id))
        return text(value) if value else None

    async def owners(self, room_ids: list[str]) -> list[str | None]:
        if not room_ids:
            return []
        values = await self._redis.mget([self._key(r) for r in room_ids])
        return [text(v) if v else None for v in values]

    async def renew(self, room_ids: list[str]) -> list[bool]:
        """Extend our leases; False where a lease was lost (expired and taken)."""
        if not room_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                await self._renew(
                    keys=[self._key(room_id)], args=[self.node, self.ttl_ms], client=pipe
                )
            results = await pipe.execute()
        return [bool(r) for r in results]

    async def release(self, room_id: str) -> None:
        await self._release(keys=[self._key(room_id)], args=[self.node])
