"""In-memory stores: the default, for one process with nothing to set up."""

from __future__ import annotations

import time
from collections.abc import Callable

from lobby.stores.base import RoomSummary, Session, hash_token, new_id, new_token


class MemorySessionStore:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    async def create(self, name: str) -> tuple[str, Session]:
        token = new_token()
        session = Session(new_id("p"), name, self._clock() + self._ttl)
        self._sessions[hash_token(token)] = session
        return token, session

    async def get(self, token: str) -> Session | None:
        key = hash_token(token)
        session = self._sessions.get(key)
        now = self._clock()
        if session is None:
            return None
        if session.expires_at <= now:
            del self._sessions[key]
            return None
        session = Session(session.player_id, session.name, now + self._ttl)
        self._sessions[key] = session
        return session

    async def revoke(self, token: str) -> None:
        self._sessions.pop(hash_token(token), None)


def _matches(s: RoomSummary, game: str | None, status: str | None, free: bool | None) -> bool:
    if s["private"]:
        return False
    if game is not None and s["game"] != game:
        return False
    if status is not None and s["status"] != status:
        return False
    return free is None or (s["free"] > 0) == free


def cursor_of(summary: RoomSummary) -> str:
    """A page cursor: creation time and id, so rooms created meanwhile never shift a page."""
    return f"{summary['created_at']:.6f}:{summary['id']}"


class MemoryRoomDirectory:
    def __init__(self) -> None:
        self._rooms: dict[str, RoomSummary] = {}
        self._invites: dict[str, str] = {}

    async def put(self, summary: RoomSummary) -> None:
        self._rooms[summary["id"]] = summary
        if summary.get("invite"):
            self._invites[summary["invite"]] = summary["id"]

    async def get(self, room_id: str) -> RoomSummary | None:
        return self._rooms.get(room_id)

    async def remove(self, room_id: str) -> None:
        summary = self._rooms.pop(room_id, None)
        if summary and summary.get("invite"):
            self._invites.pop(summary["invite"], None)

    async def page(
        self,
        *,
        game: str | None,
        status: str | None,
        free: bool | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[RoomSummary], str | None]:
        ordered = sorted(self._rooms.values(), key=cursor_of, reverse=True)
        items: list[RoomSummary] = []
        for summary in ordered:
            if cursor is not None and cursor_of(summary) >= cursor:
                continue
            if _matches(summary, game, status, free):
                items.append(summary)
                if len(items) > limit:
                    break
        if len(items) > limit:
            return items[:limit], cursor_of(items[limit - 1])
        return items, None

    async def room_for_invite(self, code: str) -> str | None:
        return self._invites.get(code)
