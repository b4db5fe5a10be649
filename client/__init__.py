"""The reference Python client: REST calls, the room WebSocket, and bots.

It speaks only the public protocol (docs/protocol.md) and never imports the server,
so anything it can do, any other client can do too. ``MeepleClient`` is the entry
point; ``client.bots`` holds the strategies and ``client.botrunner`` runs them.
"""

from client.connection import (
    Closed,
    ConnectionLost,
    Event,
    MoveRejected,
    Reconnecting,
    RoomClosed,
    RoomConnection,
)
from client.errors import ApiError, ClientError, MatchmakingError
from client.rest import Matched, MeepleClient

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
