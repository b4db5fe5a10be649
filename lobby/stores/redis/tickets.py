"""The quick-match queue in Redis."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Container, Sequence
from dataclasses import fields, replace
from typing import Any

from redis.asyncio import Redis

from meeple.lobby.stores.base import LIVE_TICKET, RatingWindow, Ticket, pack, unpack
from meeple.lobby.stores.memory import pick_group
from meeple.lobby.stores.redis.client import RELEASE, text


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
            await self._redis.eval(RELEASE, 1, key, token)

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
