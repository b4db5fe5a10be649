"""Accounts in SQL: the username's unique form is a unique column, so two sign-ups with
one name race to a single winner in the database itself."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from meeple.lobby.stores.base import Account
from meeple.lobby.stores.sql.tables import accounts

_FIELDS = [f.name for f in fields(Account)]


def _account(row: sa.Row[Any]) -> Account:
    m = row._mapping
    return Account(**{name: m[name] for name in _FIELDS})


class SqlAccountStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, account: Account) -> bool:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(accounts.insert(), [asdict(account)])
        except sa.exc.IntegrityError:
            return False
        return True

    async def get(self, player_id: str) -> Account | None:
        return await self._one(accounts.c.player_id == player_id)

    async def by_username(self, username_key: str) -> Account | None:
        return await self._one(accounts.c.username_key == username_key)

    async def update(self, account: Account) -> None:
        values = asdict(account)
        async with self._engine.begin() as conn:
            await conn.execute(
                accounts.update().where(accounts.c.player_id == values.pop("player_id")),
                [values],
            )

    async def replace_hash(self, player_id: str, old: str, new: str) -> bool:
        async with self._engine.begin() as conn:
            done = await conn.execute(
                accounts.update()
                .where(accounts.c.player_id == player_id, accounts.c.password_hash == old)
                .values(password_hash=new)
            )
        return bool(done.rowcount)

    async def _one(self, where: sa.ColumnElement[bool]) -> Account | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(accounts).where(where))).first()
        return _account(row) if row is not None else None
