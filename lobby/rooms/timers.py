"""A room's timers: seat reservations, the reconnection grace period, the turn clock;
and the time the room's clocks read (``now_ms``).

They are event-loop callbacks (``call_later``), one per (kind, seat): setting one
replaces the one before. Each callback checks that what it was set for still holds
before it acts (the room may have moved on), and one that fails is logged, never
raised into the loop, where it would reach other rooms.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("meeple.room")

_EPOCH_OFFSET = time.time() - time.monotonic()
"""The event loop's clock (``time.monotonic``) as wall time, fixed when the process
starts: clocks never jump with the system clock, and processes agree to within their
clocks' sync (a room's clock state, saved in ms since the epoch, moves between them)."""


def now_ms() -> int:
    """The time for the room clocks, ms since the Unix epoch: read once per change."""
    return int((time.monotonic() + _EPOCH_OFFSET) * 1000)


TimerKey = tuple[str, int]
"""(kind, seat): "reservation", "grace" or "turn" (the turn clock uses seat 0)."""


class Timers:
    """The timers of one room. ``close`` ends them all and refuses new ones."""

    __slots__ = ("_handles", "closed", "room_id")

    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self._handles: dict[TimerKey, asyncio.TimerHandle] = {}
        self.closed = False

    def set(
        self, kind: str, seat: int, delay: float, callback: Callable[..., None], *args: Any
    ) -> None:
        self.cancel(kind, seat)
        if self.closed:
            return
        loop = asyncio.get_running_loop()
        self._handles[(kind, seat)] = loop.call_later(delay, self._fire, kind, seat, callback, args)

    def left(self, kind: str, seat: int) -> float | None:
        """Seconds until this timer fires; None if it is not set."""
        handle = self._handles.get((kind, seat))
        if handle is None:
            return None
        return max(0.0, handle.when() - asyncio.get_running_loop().time())

    def cancel(self, kind: str, seat: int) -> None:
        handle = self._handles.pop((kind, seat), None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        self.closed = True
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()

    def _fire(self, kind: str, seat: int, callback: Callable[..., None], args: tuple[Any]) -> None:
        self._handles.pop((kind, seat), None)
        try:
            callback(*args)
        except Exception:  # a failing timer must not take the loop's other rooms down
            log.exception("room %s: %s timer failed", self.room_id, kind)
