"""Background tasks log a store outage as one outage: a line when it starts, a line every
30 s while it lasts, a line when it ends; not a line an attempt."""

from __future__ import annotations

import logging

import pytest

from meeple.lobby.ops.logs import Outage


def test_an_outage_is_three_lines_however_many_attempts_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    log = logging.getLogger("meeple.test-outage")
    caplog.set_level(logging.WARNING, logger=log.name)
    beats = Outage(log, "saying we are alive", every=30.0, clock=lambda: now[0])
    beats.worked()  # nothing failed: nothing to say
    for _ in range(120):  # 30 s of a beat four times a second
        beats.failed(ConnectionError("Redis is gone"))
        now[0] += 0.25
    beats.failed(ConnectionError("Redis is still gone"))
    beats.worked()
    beats.worked()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "saying we are alive failed: ConnectionError('Redis is gone')",
        "saying we are alive still failing: 121 attempts in 30 s, the last: "
        "ConnectionError('Redis is still gone')",
        "saying we are alive works again, after 121 failed attempts in 30 s",
    ]
    caplog.clear()
    beats.failed(TimeoutError())  # the next outage starts afresh
    assert [r.getMessage() for r in caplog.records] == [
        "saying we are alive failed: TimeoutError()"
    ]
