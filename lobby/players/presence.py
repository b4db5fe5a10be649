"""Presence: whether a player has an open connection anywhere, so that a Web Push goes
only to a player who has none (one with a page open hears it on the event stream or
in the room).

Each process counts its own open event streams and room sockets per player and keeps
them in the presence store (memory, or Redis for every process): a player's first
connection here is written at once, the last one's end too, and every ``RENEW_SECONDS``
(the event stream's keep-alive) this process's players are renewed together, in one
round trip, for three times that. A process that dies leaves its players present for
that long at most. Nothing here is on the move path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from meeple.lobby.ops.logs import Outage
from meeple.lobby.stores.base import PresenceStore

log = logging.getLogger("meeple.presence")

RENEW_SECONDS = 15.0
"""As often as an idle event stream's keep-alive (``matchmaker.KEEPALIVE``); kept for
three times that, so two renewals may be missed (a busy store) before a player looks away."""


class Presence:
    """This process's connected players, kept in the presence store."""

    def __init__(
        self, store: PresenceStore, node: str = "local", renew: float = RENEW_SECONDS
    ) -> None:
        self.store = store
        self.node = node
        self.renew_seconds = renew
        self.ttl = 3 * renew
        self._open: Counter[str] = Counter()
        self._dirty: set[str] = set()
        """Players whose first connection opened or last closed since the last write."""
        self._writer: asyncio.Task[None] | None = None
        self._outage = Outage(log, "writing presence")

    def opened(self, player_id: str) -> None:
        self._open[player_id] += 1
        if self._open[player_id] == 1:
            self._write(player_id)

    def closed(self, player_id: str) -> None:
        left = self._open[player_id] - 1
        if left > 0:
            self._open[player_id] = left
            return
        del self._open[player_id]
        self._write(player_id)

    async def present(self, player_id: str) -> bool:
        """Connected here, or (as the store says) to another process."""
        return player_id in self._open or await self.store.present(player_id)

    async def run(self) -> None:
        """The renewals: every ``renew_seconds``, every player connected here."""
        while True:
            await asyncio.sleep(self.renew_seconds)
            try:
                await self.store.renew(self.node, list(self._open), self.ttl)
            except Exception as exc:  # presence is advisory: a push too many, not an outage
                self._outage.failed(exc)
            else:
                self._outage.worked()

    def stop(self) -> None:
        if self._writer is not None:
            self._writer.cancel()

    def _write(self, player_id: str) -> None:
        """Coalesced, one write task at a time: a player's changes are written in order."""
        self._dirty.add(player_id)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._dirty:
                dirty, self._dirty = self._dirty, set()
                here = [p for p in dirty if p in self._open]
                try:
                    await self.store.renew(self.node, here, self.ttl)
                    for player_id in dirty.difference(here):
                        await self.store.leave(self.node, player_id)
                except Exception as exc:
                    self._outage.failed(exc)
                else:
                    self._outage.worked()
        finally:
            self._writer = None
