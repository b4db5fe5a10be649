"""The heartbeat wheel on its own, with sockets we control: silent ones get pinged,
answering ones stay, talking ones need no ping, and dead ones are closed once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from meeple.lobby.edge.heartbeat import Heartbeat
from tests.servers import until


class Sock:
    def __init__(self, *, answers: bool, clock: Callable[[], float]) -> None:
        self.answers = answers
        self.clock = clock
        self.last_heard = clock()
        self.pinged_at = 0.0
        self.heartbeat_slot = 0
        self.pings = 0
        self.timed_out = 0

    def ping(self) -> None:
        self.pings += 1
        if self.answers:  # the pong comes back at once, as the gateway records it
            self.heard()

    def heard(self) -> None:
        self.last_heard = self.clock()
        self.pinged_at = 0.0

    def ping_timed_out(self) -> None:
        self.timed_out += 1


class Steps:
    """The loop's clock as the test moves it: the wheel stepped tick by tick, no timer."""

    def __init__(self, beat: Heartbeat) -> None:
        self.beat = beat
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def run(self, seconds: float, each: Callable[[], None] = lambda: None) -> None:
        for _ in range(round(seconds / self.beat.tick)):
            self.now += self.beat.tick
            each()
            self.beat.step(self.now)


def stepped() -> tuple[Heartbeat, Steps]:
    """An 8 s heartbeat (half-second ticks, eight slots): times exact in binary."""
    beat = Heartbeat(8, 8, tick=0.5)
    return beat, Steps(beat)


def test_silent_sockets_are_pinged_each_interval_and_the_dead_one_is_closed_once() -> None:
    beat, steps = stepped()
    alive, dead = Sock(answers=True, clock=steps), Sock(answers=False, clock=steps)
    beat.add(alive)  # slot 0: looked at every 4 s, from 0.5 s on
    beat.add(dead)  # slot 1: from 1 s on
    steps.run(40)
    assert alive.pings == 4 and alive.timed_out == 0  # at 8.5, 16.5, 24.5 and 32.5 s
    assert dead.pings == 1 and dead.timed_out == 1  # pinged at 9 s, closed at 17 s


def test_a_socket_that_keeps_talking_needs_no_ping() -> None:
    beat, steps = stepped()
    talker = Sock(answers=False, clock=steps)
    beat.add(talker)
    steps.run(40, each=talker.heard)
    assert talker.pings == 0 and talker.timed_out == 0


def test_a_discarded_socket_is_left_alone() -> None:
    beat, steps = stepped()
    gone = Sock(answers=False, clock=steps)
    beat.add(gone)
    beat.discard(gone)
    steps.run(40)
    assert gone.pings == 0 and gone.timed_out == 0


async def test_the_timer_pings_and_closes_on_the_loop() -> None:
    """The same wheel on its own timer: the dead socket is closed (waited for, not slept
    on), the answering one stays."""
    loop = asyncio.get_running_loop()
    alive, dead = Sock(answers=True, clock=loop.time), Sock(answers=False, clock=loop.time)
    beat = Heartbeat(0.2, 0.2)
    beat.add(alive)
    beat.add(dead)
    beat.start()
    try:
        await until(lambda: dead.timed_out, what="the dead socket's close")
    finally:
        beat.stop()
    assert alive.pings >= 1 and alive.timed_out == 0
    assert dead.timed_out == 1


def test_interval_zero_turns_heartbeats_off() -> None:
    assert not Heartbeat(0, 10).enabled
