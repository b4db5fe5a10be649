"""The matchmaking loop while its store is down: it backs off and keeps the log readable."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from meeple.lobby.rooms.manager import RoomManager
from meeple.lobby.rooms.matchmaker import Matchmaker
from meeple.lobby.stores.base import RatingStore, TicketQueue
from meeple.lobby.stores.memory import MemoryTicketQueue


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


@pytest.mark.server_errors("matchmaking round failed")
async def test_a_store_outage_backs_off_and_logs_one_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FlakyQueue()
    rooms = cast(RoomManager, type("NoRooms", (), {"games": {}})())
    maker = Matchmaker(cast(TicketQueue, queue), rooms, cast(RatingStore, object()), interval=0.01)
    caplog.set_level(logging.INFO, logger="meeple.matchmaker")
    recovered = asyncio.Event()
    handler = logging.Handler()
    handler.emit = lambda record: recovered.set() if "work again" in record.msg else None  # type: ignore[method-assign]
    logging.getLogger("meeple.matchmaker").addHandler(handler)
    task = asyncio.create_task(maker.run())
    try:
        await asyncio.sleep(1.0)
        failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
        # Ten rounds a second would be a hundred tries; doubling waits make about seven.
        assert 3 <= queue.calls <= 10, queue.calls
        assert len(failed) == queue.calls
        assert [r.exc_info is not None for r in failed] == [True] + [False] * (len(failed) - 1)
        assert "store down" in failed[-1].getMessage()
        queue.up = True
        maker._wake.set()
        async with asyncio.timeout(5):
            await recovered.wait()
    finally:
        logging.getLogger("meeple.matchmaker").removeHandler(handler)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
