"""The room listing in Redis: a summary per room and sorted sets per game and status
(never one big hash read whole), and each player's "my games"."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from meeple.lobby.stores.base import (
    RoomSummary,
    make_cursor,
    pack,
    read_cursor,
    seated_players,
    unpack,
)
from meeple.lobby.stores.memory import room_key
from meeple.lobby.stores.redis.client import Coalesced, page_by_score, text

STATUSES = ("waiting", "playing", "finished")


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

        items = await page_by_score(
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
