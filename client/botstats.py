"""What bots did (``BotStats``), and the failures a bot survives: shared by the
quick-match bots (``botrunner``) and the correspondence bot (``correspondence``)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from websockets.exceptions import WebSocketException

from meeple.client.connection import RoomConnection
from meeple.client.errors import ClientError

log = logging.getLogger("meeple.bots")

RECOVERABLE = (ClientError, httpx.HTTPError, OSError, WebSocketException, TimeoutError)
"""Failures a bot survives: it logs them, waits a little and asks for another match."""


@dataclass
class BotStats:
    """What a run did. ``games`` counts each finished game once, however many bots sat in it."""

    games: int = 0
    wins: int = 0
    losses: int = 0
    draws: int = 0
    moves: int = 0
    errors: int = 0
    last_errors: list[str] = field(default_factory=list)
    rooms: set[str] = field(default_factory=set, repr=False)

    def error(self, what: str) -> None:
        self.errors += 1
        self.last_errors = [*self.last_errors[-19:], what]
        log.warning("%s", what)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["rooms"]
        return out


def record_game(conn: RoomConnection, stats: BotStats) -> None:
    if conn.room_id is not None and conn.room_id not in stats.rooms:
        stats.rooms.add(conn.room_id)
        stats.games += 1
    result = conn.result
    if result is None or conn.seat is None:
        return
    if result.draw:
        stats.draws += 1
    elif conn.seat in result.winners:
        stats.wins += 1
    else:
        stats.losses += 1
