"""A room member: what a room may do with a connection, wherever the socket is.

``Connection`` (a socket in this process) and ``cluster.RemoteMember`` (a socket on
another process) both derive from ``Member``; rooms see only this.
"""

from __future__ import annotations

from typing import Any

from meeple.game.codec import encode
from meeple.game.protocol import CLOSE_POLICY
from meeple.lobby.ratelimit import TokenBucket


class Member:
    """A player or spectator in a room. Subclasses provide ``send`` and ``close``."""

    __slots__ = ("asked", "chat", "closed", "name", "player_id", "refusals", "seat")

    def __init__(
        self, player_id: str, name: str, *, chat: TokenBucket, refusals: TokenBucket
    ) -> None:
        self.player_id = player_id
        self.name = name
        self.seat: int | None = None
        self.chat = chat
        self.refusals = refusals
        """Refused messages a client may cause before it counts as flooding (1008)."""
        self.closed = False
        self.asked: tuple[int, int] | None = None
        """The (game number, sequence number) it last asked for its legal moves at."""

    def send(self, frame: bytes) -> None:
        raise NotImplementedError

    def close(self, code: int, reason: str) -> None:
        raise NotImplementedError

    def send_message(self, message: dict[str, Any]) -> None:
        self.send(encode(message))

    def error(self, msg_id: Any, code: str, text: str) -> None:
        """Tell this client (alone) that its message was refused; close it if it keeps on."""
        if not self.refusals.allow():
            self.close(CLOSE_POLICY, "too many refused messages")
            return
        self.send_message(
            {"t": "err", "id": msg_id if type(msg_id) is int else None, "code": code, "msg": text}
        )
