"""The reference Python client: REST calls, the room WebSocket, and bots.

It speaks only the public protocol (docs/protocol.md) and never imports the server,
so anything it can do, any other client can do too. ``MeepleClient`` is the entry
point; ``meeple.client.bots`` holds the strategies and ``meeple.client.botrunner`` runs them.
"""

from meeple.client.connection import (
    Closed,
    ConnectionLost,
    Event,
    MoveRejected,
    Reconnecting,
    RoomClosed,
    RoomConnection,
)
from meeple.client.errors import ApiError, ClientError, MatchmakingError
from meeple.client.rest import Matched, MeepleClient

__all__ = [
    "ApiError",
    "ClientError",
    "Closed",
    "ConnectionLost",
    "Event",
    "Matched",
    "MatchmakingError",
    "MeepleClient",
    "MoveRejected",
    "Reconnecting",
    "RoomClosed",
    "RoomConnection",
]
