"""What Redis keeps per player besides sessions: push subscriptions, invitations and
presence."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

from meeple.lobby.stores.base import (
    MAX_INVITATIONS,
    MAX_PUSH_SUBSCRIPTIONS,
    Invitation,
    PushSubscription,
    pack,
    unpack,
)


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
