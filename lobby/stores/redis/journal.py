"""Each room's journal in Redis: its metadata and its current game's log, saved before
anyone hears of a change, a batch of rooms in one round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from meeple.lobby.stores.base import Changes, pack, unpack
from meeple.lobby.stores.redis.client import Lane, room_part, text

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

local function save(k, a, meta, n, before, epoch)
  if epoch ~= '' and (redis.call('GET', KEYS[k + 1]) or '0') ~= epoch then
    return redis.error_reply('FENCED the room has a newer owner (epoch ' ..
      (redis.call('GET', KEYS[k + 1]) or '0') .. '); this save is from epoch ' .. epoch)
  end
  if n > 0 then
    local log = KEYS[k]
    local have = redis.call('LLEN', log)
    if have == before then
      local last = a + n - 1
      for i = a, last, 4000 do
        redis.call('RPUSH', log, unpack(ARGV, i, math.min(i + 3999, last)))
      end
    elseif have ~= before + n or redis.call('LINDEX', log, before) ~= ARGV[a] then
      return redis.error_reply('ERR journal out of step: the log holds ' .. have ..
        ' entries, the owner thinks ' .. before)
    end
  end
  if meta then
    redis.call('SET', KEYS[k + 2], meta)
  end
  return n
end

local replies = {}
local k, a = 1, 3
for r = 1, rooms do
  local keys, m, n, before, epoch = string.match(ARGV[a], '^(%d) (%d) (%d+) (%d+) (%d*)$')
  keys, n, before = tonumber(keys), tonumber(n), tonumber(before)
  local meta = nil
  a = a + 1
  if m == '1' then
    meta = ARGV[a]
    a = a + 1
  end
  if short then
    replies[r] = short
  else
    replies[r] = save(k, a, meta, n, before, epoch)
    if keys > 2 + tonumber(m) and type(replies[r]) == 'number' then
      redis.call('DEL', KEYS[k + keys - 1])
    end
  end
  k, a = k + keys, a + n
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

KEYS: each room's log of this game, epoch[, meta if it changed][, the previous game's
log], room after room. ARGV: the replicas needed (0: none), the number of rooms, then
room after room: a head ``"<keys> <1 if the metadata follows, else 0> <entries>
<entries the log held before these> <epoch, or nothing where unfenced>"``, the metadata
if it changed, the entries. One head a room, not four numbers, and the metadata's key
only with the metadata: every argument costs the client its packing (about 2,000
instructions in hiredis) whatever its size. The reply: for each room, the entries
appended or its error.

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
        self._lane = Lane(redis)
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
                if type(reply) is int:  # saved: the entries appended
                    continue
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
        calls = [changes] if self.one_call else [[c] for c in changes]
        commands: list[tuple[Any, ...]] = [self._save_command(call) for call in calls]
        live, need = self._live, self.replicas
        ended: list[str] = []
        going: list[str] = []
        for c in changes:
            if c.meta is not None:
                (ended if c.meta["status"] == "finished" else going).append(c.room_id)
        if ended:  # one command each for the batch, not one a room
            commands.append(("SREM", live, *ended))
        if going:
            commands.append(("SADD", live, *going))
        if need:
            commands.append(("WAIT", need, self.replica_wait_ms))
        replies = await self._lane.send(commands)
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

    def _save_command(self, changes: Sequence[Changes]) -> tuple[Any, ...]:
        """The script call (``_SAVE``) saving these rooms' changes, built in one pass."""
        p, epochs = self._p, self.epochs
        keys: list[str] = []
        args: list[Any] = []
        for c in changes:
            room_id, game_no, meta, entries = c.room_id, c.game_no, c.meta, c.entries
            base = f"{p}room:{{{room_id}}}:"
            keys += (f"{base}log:{game_no}", base + "epoch")  # (meta only when written)
            count = 2 if meta is None else 3
            if count == 3:
                keys.append(base + "meta")
            if c.new_game and game_no > 0:
                keys.append(f"{base}log:{game_no - 1}")
                count += 1
            before = entries[0]["s"] - 2 if entries else 0  # the start is s=1, no entry
            epoch = "" if epochs is None else epochs.get(room_id, 0)
            if meta is None:
                args.append(f"{count} 0 {len(entries)} {before} {epoch}")
            else:
                args += (f"{count} 1 {len(entries)} {before} {epoch}", pack(meta))
            args += map(pack, entries)
        return ("EVALSHA", self._script.sha, len(keys), *keys, self.replicas, len(changes), *args)

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
