"""Finished games, durably: each one's record, history rows and rating updates in one
transaction, and a batch of them in one transaction together.

The record's id is its room and game number, so a room that failed over between
processes and finishes the same game again writes nothing twice: the insert returns
the records it wrote, and a game whose record was there changes nothing else.

A server writes the games that finish while its last write is under way together
(``SqlFinishedGames``), in a fixed number of statements whatever their number: the records
(one multi-row insert that says which are new), their players' history rows, a lock on
the ratings they change (PostgreSQL), one read of those ratings, and one upsert of the
new ones, computed here game after game in the order the games finished
(``write_games``), ``TRANSACTION_GAMES`` at most a transaction. On an SQLite file a
transaction runs on the event loop, and in a thread only while another connection holds
the lock (``database.Transactions``). A transaction per game, each statement handed to
aiosqlite's thread and back, cost a busy server more than the game's moves (3.7 ms of
CPU a game at 150 games a second; bench/README.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from meeple.lobby.stores.base import GameRecord, PlayerRating, Rate, human_players
from meeple.lobby.stores.finished import FinishedGames
from meeple.lobby.stores.sql.database import Transactions
from meeple.lobby.stores.sql.ratings import Key, lock_ratings, read_ratings, write_ratings
from meeple.lobby.stores.sql.records import insert_records

ATTEMPTS = 5
"""PostgreSQL may abort one of two transactions that wait on each other (a deadlock)
or find a serialization failure; the loser is run again."""


BATCH_SECONDS = 0.05
"""How long the first game of a batch waits for others: at 150 games a second, 8 share
a transaction; a record is readable this much later."""

TRANSACTION_GAMES = 20
"""The most games one transaction writes: on SQLite a transaction runs on the event
loop (``database.Transactions``), about 100 µs of CPU a tic-tac-toe game, so a batch of
more is written in several, with a loop turn between them, and no move waits more than
about 2 ms for a write."""


def write_games(conn: sa.Connection, games: Sequence[GameRecord], rate: Rate) -> list[bool]:
    """Write these finished games in the connection's transaction, in order; for each,
    False when its record was already written (or earlier in ``games``): then it
    changed nothing."""
    written = insert_records(conn, games)
    fresh = [
        (record, record.get("game", ""), human_players(record))
        for record, new in zip(games, written, strict=True)
        if new
    ]
    keys = sorted({(game, player) for _, game, players in fresh for player in players})
    lock_ratings(conn, keys)
    known: dict[Key, PlayerRating | None] = dict.fromkeys(keys)
    known.update(read_ratings(conn, keys))
    changed: dict[Key, PlayerRating] = {}
    for record, game, players in fresh:  # in order: a player's games follow each other
        for item in rate(record, {player: known[(game, player)] for player in players}):
            known[(game, item.player_id)] = changed[(game, item.player_id)] = item
    write_ratings(conn, ((game, item) for (game, _), item in changed.items()))
    return written


async def record_finished_games(
    transactions: Transactions, games: Sequence[GameRecord], rate: Rate
) -> list[bool]:
    """``write_games`` in one transaction of its own: all of them or none (run again
    when PostgreSQL ends it for a deadlock or a serialization failure)."""
    for attempt in range(ATTEMPTS):
        try:
            return await transactions.run(write_games, games, rate)
        except sa.exc.DBAPIError as exc:
            if attempt == ATTEMPTS - 1 or not _retryable(exc):
                raise
    raise AssertionError("unreachable")


class SqlFinishedGames(FinishedGames):
    """The finished games of a server, in SQL: a transaction for each
    ``TRANSACTION_GAMES`` of a batch; a transaction that fails is written again one game
    at a time, so that one bad game costs only its own record."""

    delay = BATCH_SECONDS

    def __init__(self, transactions: Transactions, rate: Rate, failed: Callable[[], None]) -> None:
        super().__init__(failed)
        self._transactions = transactions
        self._rate = rate

    async def _write_batch(self, games: list[GameRecord]) -> None:
        for at in range(0, len(games), TRANSACTION_GAMES):
            if at:
                await asyncio.sleep(0)  # the moves that came meanwhile go first
            await self._write_transaction(games[at : at + TRANSACTION_GAMES])

    async def _write_transaction(self, games: list[GameRecord]) -> None:
        try:
            await record_finished_games(self._transactions, games, self._rate)
            return
        except Exception:
            if len(games) == 1:
                self.failed()
                return
        for game in games:  # one at a time: the bad one fails alone
            try:
                await record_finished_games(self._transactions, [game], self._rate)
            except Exception:
                self.failed()


def _retryable(exc: sa.exc.DBAPIError) -> bool:
    """Deadlock detected (40P01) or serialization failure (40001)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001")
