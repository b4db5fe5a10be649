"""With Redis for everything: the games that finish in a loop turn recorded and rated
together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from meeple.lobby.stores.base import GameRecord, PlayerRating, Rate, human_players, pack, unpack
from meeple.lobby.stores.finished import FinishedGames
from meeple.lobby.stores.redis.client import Coalesced
from meeple.lobby.stores.redis.records import RECORD_DAYS

_FINISH = """
local keep, records = ARGV[1], tonumber(ARGV[2])
local k, a, known = 1, 3, {}
for r = 1, records do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    known[#known + 1] = r
  end
  k, a = k + 1 + tonumber(ARGV[a + 3]), a + 4
end
while k <= #KEYS do
  if (redis.call('GET', KEYS[k]) or '') ~= ARGV[a + 3] then
    return {0, known}
  end
  k, a = k + 2, a + 4
end
if #known > 0 then
  return {0, known}
end
k, a = 1, 3
for r = 1, records do
  local players = tonumber(ARGV[a + 3])
  redis.call('SET', KEYS[k], ARGV[a], 'PX', keep)
  for i = 1, players do
    redis.call('ZADD', KEYS[k + i], ARGV[a + 2], ARGV[a + 1])
    redis.call('PEXPIRE', KEYS[k + i], keep)
  end
  k, a = k + 1 + players, a + 4
end
while k <= #KEYS do
  redis.call('SET', KEYS[k], ARGV[a])
  redis.call('ZADD', KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
  k, a = k + 2, a + 4
end
return {1, known}
"""
"""Finished games' records and their players' new ratings, at once (every key is in the
``{lobby}`` slot of a Redis Cluster: ``shared_prefix``), or nothing: when a record is
there already (its room failed over and finished the game again) or a rating is no
longer what the new one was computed from (another process rated the player meanwhile),
it writes nothing and answers ``{0, the records already there}``, and the batch is read,
rated and sent again. KEYS: each record, then its human players' histories; then each
new rating and its game's ranking. ARGV: how long records are kept (ms), the number of
records, then record after record: the record, its id, when it finished, its number of
players; then rating after rating: the rating, its score in the ranking (minus the
rating), the player's id, the rating it was computed from ('' for none). Keys and TTLs
as ``RedisRecordStore.put`` and ``RedisRatingStore.put_many`` write them."""

ATTEMPTS = 5
"""How often ``RedisFinishedGames`` sends a batch that another writer overtook."""


class RedisFinishedGames(FinishedGames):
    """The finished games with Redis for everything: the games that end in one loop
    turn get their records and ratings written together, in two commands whatever their
    number (one read of the ratings they change, one script call writing records and
    new ratings), both sent with the turn's other writes (``Coalesced``). One game at a
    time, it was ten commands and three round trips in sequence a game (a record, its
    players' histories, each rating read and written), and redis-py's client work per
    command was the largest part of a finished game's cost. As in SQL, a game is written
    once (a room that failed over finishing it again changes nothing) and no rating
    update is lost to another process's: the script writes only if no record is there
    yet and every rating is still the one read (``_FINISH``), else the batch is read and
    rated again without the games written."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        batch: Coalesced,
        rate: Rate,
        failed: Callable[[], None],
        keep_days: float = RECORD_DAYS,
    ) -> None:
        super().__init__(failed)
        self._redis = redis
        self._p = prefix
        self._send = batch
        self._rate = rate
        self._keep_ms = int(keep_days * 86400 * 1000)
        self._script = redis.register_script(_FINISH)

    def _rating_key(self, game: str, player_id: str) -> str:
        return f"{self._p}rating:{game}:{player_id}"

    async def _write_batch(self, games: list[GameRecord]) -> None:
        """Write the batch, leaving out its games already written; read, rated and sent
        again while another writer rated one of its players meanwhile."""
        for _ in range(ATTEMPTS):
            written, known = await self._try(games)
            if written:
                return
            games = [game for i, game in enumerate(games, start=1) if i not in known]
            if not games:
                return
        raise RuntimeError(f"ratings kept changing under {len(games)} finished games")

    async def _try(self, games: list[GameRecord]) -> tuple[bool, set[int]]:
        """One read of the ratings, one script call: whether it wrote, and which games
        (numbered from 1) were written before."""
        p, keep = self._p, self._keep_ms
        players = [(record.get("game", ""), human_players(record)) for record in games]
        wanted = list(dict.fromkeys(self._rating_key(g, i) for g, ids in players for i in ids))
        blobs = await self._send("MGET", *wanted) if wanted else []
        read = dict(zip(wanted, blobs, strict=True))
        known = {
            key: None if blob is None else PlayerRating(**unpack(blob))
            for key, blob in read.items()
        }
        changed: dict[str, tuple[str, PlayerRating]] = {}
        keys: list[str] = []
        args: list[Any] = [keep, len(games)]
        for record, (game, ids) in zip(games, players, strict=True):
            before = {i: known[self._rating_key(game, i)] for i in ids}
            for rating in self._rate(record, before):
                key = self._rating_key(game, rating.player_id)
                known[key] = rating
                changed[key] = (game, rating)
            keys.append(f"{p}record:{record['id']}")
            keys += [f"{p}player:{i}:records" for i in ids]
            args += (pack(record), record["id"], record["finished_at"], len(ids))
        for key, (game, r) in changed.items():
            keys += (key, f"{p}ratings:{game}")
            data = {f.name: getattr(r, f.name) for f in fields(PlayerRating)}
            args += (pack(data), -r.rating, r.player_id, read.get(key) or b"")
        command = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        try:
            reply = await self._send(*command)
        except NoScriptError:  # Redis restarted or its scripts were flushed
            await self._redis.script_load(_FINISH)
            reply = await self._send(*command)
        return reply[0] == 1, {int(i) for i in reply[1]}
