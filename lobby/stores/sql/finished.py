"""A finished game, durably: its record and what it changes, in one transaction.

The record's id is its room and game number, so a room that failed over between
processes and finishes the same game again writes nothing twice: the second insert
finds the record there and nothing else runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from meeple.lobby.stores.base import GameRecord, RatingStore
from meeple.lobby.stores.sql.ratings import TransactionRatings, lock_ratings
from meeple.lobby.stores.sql.records import human_players, insert_record

ATTEMPTS = 5
"""PostgreSQL may abort one of two transactions that wait on each other (a deadlock)
or find a serialization failure; the loser is run again."""


async def record_finished_game(
    engine: AsyncEngine, record: GameRecord, then: Callable[[RatingStore], Awaitable[Any]]
) -> bool:
    """Write the record and run ``then`` (the rating update) on the same transaction;
    False when the record was already written, and ``then`` did not run."""
    for attempt in range(ATTEMPTS):
        try:
            async with engine.begin() as conn:
                if not await insert_record(conn, record):
                    return False
                await lock_ratings(conn, record.get("game", ""), human_players(record))
                await then(TransactionRatings(conn))
                return True
        except sa.exc.DBAPIError as exc:
            if attempt == ATTEMPTS - 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    """Deadlock detected (40P01) or serialization failure (40001)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001")
