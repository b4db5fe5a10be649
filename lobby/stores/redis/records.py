"""Finished games and ratings in Redis (with no SQL database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from redis.asyncio import Redis

from meeple.lobby.stores.base import (
    GameRecord,
    PlayerRating,
    make_cursor,
    pack,
    read_cursor,
    renamed,
    unpack,
)
from meeple.lobby.stores.memory import record_key
from meeple.lobby.stores.redis.client import Coalesced, page_by_score, text

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
        records = await page_by_score(
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
