"""The store interfaces. Both implementations (memory.py, redis.py) have this shape."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Protocol


def new_token() -> str:
    """A session token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    """Tokens are kept only as hashes: a leaked store leaks no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Session:
    player_id: str
    name: str
    expires_at: float
    """Unix time; slides forward on every use."""


class SessionStore(Protocol):
    async def create(self, name: str) -> tuple[str, Session]:
        """A new guest session and its token (the only time the token is seen)."""
        ...

    async def get(self, token: str) -> Session | None:
        """The live session for ``token``, its expiry slid forward; None if unknown or expired."""
        ...

    async def revoke(self, token: str) -> None: ...


RoomSummary = dict[str, Any]
"""What the lobby lists about a room: id, game, status, seats, free, private, created_at, …"""


class RoomDirectory(Protocol):
    """Every room of every process, as the lobby lists it."""

    async def put(self, summary: RoomSummary) -> None: ...

    async def get(self, room_id: str) -> RoomSummary | None: ...

    async def remove(self, room_id: str) -> None: ...

    async def page(
        self,
        *,
        game: str | None,
        status: str | None,
        free: bool | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[RoomSummary], str | None]:
        """Public rooms, newest first, after ``cursor``; and the cursor of the next page."""
        ...

    async def room_for_invite(self, code: str) -> str | None: ...
