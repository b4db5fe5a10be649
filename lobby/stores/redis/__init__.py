"""Redis stores: the same shapes as memory.py, shared by every process on one Redis.

Keys all start with the configured prefix (``meeple:`` by default), so tests and
deployments can share a server. Values are MessagePack; listings are indexed by
sorted sets (one per game and status filter), never read whole. A module per kind of
state, as in ``stores.sql``; ``client`` connects and batches for all of them.
"""

from __future__ import annotations

from meeple.lobby.stores.redis.client import (
    Coalesced,
    Lane,
    connect,
    is_cluster_url,
    ping,
    prepare,
    room_part,
    shared_prefix,
    text,
    unpacker,
)
from meeple.lobby.stores.redis.directory import (
    INDEXED_AGAIN_AFTER,
    PLAYER_ROOMS_TTL,
    RedisRoomDirectory,
)
from meeple.lobby.stores.redis.finished import RedisFinishedGames
from meeple.lobby.stores.redis.journal import NotReplicated, RedisJournal
from meeple.lobby.stores.redis.leases import RedisLeases
from meeple.lobby.stores.redis.players import (
    RedisInvitations,
    RedisPresence,
    RedisPushSubscriptions,
)
from meeple.lobby.stores.redis.records import RedisRatingStore, RedisRecordStore
from meeple.lobby.stores.redis.sessions import (
    RedisConnectTickets,
    RedisLoginFailures,
    RedisSessionStore,
)
from meeple.lobby.stores.redis.tickets import RedisTicketQueue

__all__ = [
    "INDEXED_AGAIN_AFTER",
    "PLAYER_ROOMS_TTL",
    "Coalesced",
    "Lane",
    "NotReplicated",
    "RedisConnectTickets",
    "RedisFinishedGames",
    "RedisInvitations",
    "RedisJournal",
    "RedisLeases",
    "RedisLoginFailures",
    "RedisPresence",
    "RedisPushSubscriptions",
    "RedisRatingStore",
    "RedisRecordStore",
    "RedisRoomDirectory",
    "RedisSessionStore",
    "RedisTicketQueue",
    "connect",
    "is_cluster_url",
    "ping",
    "prepare",
    "room_part",
    "shared_prefix",
    "text",
    "unpacker",
]
