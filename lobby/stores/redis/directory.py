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
local rooms, games = tonumber(ARGV[1]), tonumber(ARGV[2])
local k, a = 5 + 4 * games, 3
for r = 1, rooms do
  local id = ARGV[a + 1]
  local g, keys, status, score = string.match(ARGV[a + 2], '^(%d+) (%d) (%S+) (%S+)$')
  local base = 4 * tonumber(g)
  redis.call('SET', KEYS[k], ARGV[a])
  for i, s in ipairs({'waiting', 'playing', 'finished'}) do
    if s == status then
      redis.call('ZADD', KEYS[base + i], score, id)
      redis.call('ZADD', KEYS[i], score, id)
    else
      redis.call('ZREM', KEYS[base + i], id)
      redis.call('ZREM', KEYS[i], id)
    end
  end
  if status ~= '-' then
    redis.call('ZADD', KEYS[base + 4], score, id)
    redis.call('ZADD', KEYS[4], score, id)
  end
  if keys == '2' then
    redis.call('SET', KEYS[k + 1], id)
  end
  k, a = k + tonumber(keys), a + 3
end
return rooms
"""
"""Rooms' summaries and their places in the listings, at once: one call for all the
rooms of a write (every key of the directory is in one hash slot of a Redis Cluster:
``shared_prefix``). KEYS: every game's index per status (waiting, playing, finished,
any), then each game of the write's (the same four), then room after room: the
summary[, the invite code]. ARGV: the number of rooms, the number of games, then room
after room: the summary, the room's id, and a head ``"<its game: 1, 2...> <its keys: 1,
or 2 with an invite code> <its status, or - for a private room, listed nowhere> <the
score: its creation time>"``. The indexes go once a write, not once a room, and a room's
numbers in one head: every argument costs the client its packing (about 2,000
instructions in hiredis) whatever its size."""


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
        p = self._p
        games: dict[str, int] = {}
        keys = [self._index(None, s) for s in (*STATUSES, None)]
        rooms: list[str] = []
        args: list[Any] = []
        for summary in summaries:
            room_id, game = summary["id"], summary["game"]
            g = games.get(game)
            if g is None:
                g = games[game] = len(games) + 1
                keys += [self._index(game, s) for s in (*STATUSES, None)]
            rooms.append(f"{p}rooms:summary:{room_id}")
            count = 1
            if summary.get("invite"):
                rooms.append(f"{p}invite:{summary['invite']}")
                count = 2
            status = "-" if summary["private"] else summary["status"]
            args += (pack(summary), room_id, f"{g} {count} {status} {summary['created_at']}")
        keys += rooms
        return ("EVALSHA", self._put.sha, len(keys), *keys, len(summaries), len(games), *args)

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
