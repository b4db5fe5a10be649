"""Sessions, connect tickets and log-in failures in Redis: one key per operation, so
they spread over a Redis Cluster."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from meeple.lobby.stores.base import (
    LOGIN_FAILURES_KEPT,
    MAX_LOGIN_WAIT,
    Session,
    hash_token,
    new_id,
    new_token,
    pack,
    unpack,
)
from meeple.lobby.stores.redis.client import text


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
