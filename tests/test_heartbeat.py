"""The heartbeat wheel on its own, with sockets we control: silent ones get pinged,
answering ones stay, talking ones need no ping, and dead ones are closed once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from meeple.lobby.edge.heartbeat import Heartbeat


class Sock:
    def __init__(self, *, answers: bool) -> None:
        self.answers = answers
        self.last_heard = asyncio.get_running_loop().time()
        self.pinged_at = 0.0
        self.heartbeat_slot = 0
        self.pings = 0
        self.timed_out = 0

    def ping(self) -> None:
        self.pings += 1
        if self.answers:  # the pong comes back at once, as the gateway records it
            self.heard()

    def heard(self) -> None:
        self.last_heard = asyncio.get_running_loop().time()
        self.pinged_at = 0.0

    def ping_timed_out(self) -> None:
        self.timed_out += 1


@contextlib.contextmanager
def beating(*socks: Sock, remove: tuple[Sock, ...] = ()) -> Iterator[Heartbeat]:
    """A 0.2 s heartbeat over ``socks`` (``remove``d again before it starts)."""
    beat = Heartbeat(0.2, 0.2)
    for sock in socks:
        beat.add(sock)
    for sock in remove:
        beat.discard(sock)
    beat.start()
    try:
        yield beat
    finally:
        beat.stop()


async def test_silent_sockets_are_pinged_and_the_dead_one_is_closed_once() -> None:
    alive, dead = Sock(answers=True), Sock(answers=False)
    with beating(alive, dead):
        await asyncio.sleep(1.0)
    assert 3 <= alive.pings <= 6 and alive.timed_out == 0  # about every 0.2 s
    assert dead.pings >= 1 and dead.timed_out == 1


async def test_a_socket_that_keeps_talking_needs_no_ping() -> None:
    talker = Sock(answers=False)
    with beating(talker):
        for _ in range(20):
            await asyncio.sleep(0.05)
            talker.heard()
    assert talker.pings == 0 and talker.timed_out == 0


async def test_a_discarded_socket_is_left_alone() -> None:
    gone = Sock(answers=False)
    with beating(gone, remove=(gone,)):
        await asyncio.sleep(0.5)
    assert gone.pings == 0


def test_interval_zero_turns_heartbeats_off() -> None:
    assert not Heartbeat(0, 10).enabled
