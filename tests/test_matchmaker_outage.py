"""The matchmaking loop while its store is down: it backs off, and it logs the outage as
one (``ops.logs.Outage``, as the cluster's beat and the presence writes do): a line when
it starts, one every 30 s while it lasts, one when it ends; not a line a round."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest

from meeple.lobby.rooms.manager import RoomManager
from meeple.lobby.rooms.matchmaker import RETRY_MAX, Matchmaker
from meeple.lobby.stores.base import RatingStore, TicketQueue
from meeple.lobby.stores.memory import MemoryTicketQueue

DOWN_FOR = 70.0
"""Seconds, on the hand-moved clock, that the store stays down from the start."""
INTERVAL = 0.125
"""The rounds' interval (a binary fraction: the clock's sums are exact)."""


class FlakyQueue(MemoryTicketQueue):
    """A ticket queue whose store is down until ``up`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False
        self.calls = 0

    async def expire(self, now: float) -> list[Any]:
        self.calls += 1
        if not self.up:
            raise ConnectionError("store down")
        return await super().expire(now)


class Stop(Exception):
    """Ends the loop, from inside a rest."""


class HandTimed(Matchmaker):
    """A matchmaker whose rests between rounds take no real time: each moves the
    hand-moved clock on by the rest's length. The store comes back ``DOWN_FOR`` seconds
    in; the loop stops after ``rounds_after`` rounds with the store up."""

    def __init__(self, queue: FlakyQueue, rounds_after: int) -> None:
        rooms = cast(RoomManager, type("NoRooms", (), {"games": {}})())
        self.now = 1_000.0
        super().__init__(
            cast(TicketQueue, queue),
            rooms,
            cast(RatingStore, object()),
            interval=INTERVAL,
            clock=lambda: self.now,
        )
        self.flaky = queue
        self.rests: list[float] = []
        self.rounds_after = rounds_after

    async def rest(self, seconds: float) -> None:
        if self.flaky.up:
            if self.rounds_after == 0:
                raise Stop
            self.rounds_after -= 1
        self.rests.append(seconds)
        self.now += seconds
        self.flaky.up = self.now >= 1_000.0 + DOWN_FOR


async def test_a_store_outage_backs_off_and_is_logged_as_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FlakyQueue()
    maker = HandTimed(queue, rounds_after=3)
    caplog.set_level(logging.INFO, logger="meeple.matchmaker")
    with pytest.raises(Stop):
        await maker.run()
    # Waits that double from the first failure up to RETRY_MAX: 18 rounds failed in the
    # 73 s the store was down (eight a second would be 584), then the usual interval.
    failed = queue.calls - 4
    assert failed == 18
    doubling = [INTERVAL * 2**k for k in range(6)]  # 1/8 s to 4 s
    assert maker.rests == doubling + [RETRY_MAX] * (failed - 5) + [INTERVAL] * 3
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "matchmaking failed: ConnectionError('store down')"),
        (
            "WARNING",
            "matchmaking still failing: 11 attempts in 33 s, the last: "
            "ConnectionError('store down')",
        ),
        (
            "WARNING",
            "matchmaking still failing: 17 attempts in 63 s, the last: "
            "ConnectionError('store down')",
        ),
        ("WARNING", "matchmaking works again, after 18 failed attempts in 73 s"),
    ]
