"""Room ownership in Redis: one lease per room, fenced by an epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from meeple.lobby.stores.redis.client import RELEASE, pipelined, room_part, text

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
        self._release = redis.register_script(RELEASE)
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
            await self._each(RELEASE, [("EVALSHA", sha, 1, self._key(r), node) for r in room_ids])

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
