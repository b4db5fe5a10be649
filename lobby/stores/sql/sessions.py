"""Sessions in SQL, for servers without Redis: a player's token outlives a restart, so
that a correspondence game days long can be resumed with it after a deploy.

Answered from memory: a session is read from the database only the first time a process
sees its token, and its sliding expiry is written back only when it has moved on by
``ttl / SLIDE_WRITES`` (so a busy player costs no write per request). An expiry so
written may lag the true one by that much: a session idle for almost its whole ttl
may end up to that much early after a restart, never late.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from meeple.lobby.stores.base import Session, hash_token, new_id, new_token
from meeple.lobby.stores.sql.tables import sessions

SLIDE_WRITES = 24
"""How many expiry write-backs a session's ttl is divided into (an hour of 24 h)."""


class SqlSessionStore:
    def __init__(self, engine: AsyncEngine, ttl: float, clock: Callable[[], float] = time.time):
        self._engine = engine
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[Session, float]] = {}
        """Token hash -> the session, and the expiry the database has for it."""

    async def create(self, name: str, player_id: str | None = None) -> tuple[str, Session]:
        token = new_token()
        now = self._clock()
        session = Session(player_id or new_id("p"), name, now + self._ttl)
        key = hash_token(token)
        async with self._engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
            await conn.execute(
                sessions.insert(),
                {
                    "token_hash": key,
                    "player_id": session.player_id,
                    "name": name,
                    "expires_at": session.expires_at,
                },
            )
        self._known[key] = (session, session.expires_at)
        return token, session

    async def get(self, token: str) -> Session | None:
        key = hash_token(token)
        known = self._known.get(key)
        if known is None:
            async with self._engine.connect() as conn:
                row = (
                    await conn.execute(sa.select(sessions).where(sessions.c.token_hash == key))
                ).first()
            if row is None:
                return None
            m = row._mapping
            known = Session(m["player_id"], m["name"], m["expires_at"]), m["expires_at"]
        session, written = known
        now = self._clock()
        if session.expires_at <= now:
            await self.revoke(token)
            return None
        session = Session(session.player_id, session.name, now + self._ttl)
        if session.expires_at - written >= self._ttl / SLIDE_WRITES:
            async with self._engine.begin() as conn:
                await conn.execute(
                    sessions.update().where(sessions.c.token_hash == key),
                    {"expires_at": session.expires_at},
                )
            written = session.expires_at
        self._known[key] = (session, written)
        return session

    async def revoke(self, token: str) -> None:
        key = hash_token(token)
        self._known.pop(key, None)
        async with self._engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.token_hash == key))

    async def revoke_player(self, player_id: str) -> None:
        for key in [k for k, (s, _) in self._known.items() if s.player_id == player_id]:
            del self._known[key]
        async with self._engine.begin() as conn:
            await conn.execute(sessions.delete().where(sessions.c.player_id == player_id))
