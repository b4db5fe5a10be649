"""Heartbeats for every room socket of a process, from one timer.

A timer per connection (uvicorn's way) costs 10,000 timer handles and wake-ups for
10,000 connections. Here one timer ticks every half second (a tenth of the interval
when that is shorter) and looks at a slice of the connections each time (a wheel), so
every connection is looked at twice per ping interval. One that has sent nothing for
``interval`` seconds gets a ping; one that then sends nothing (not even the pong) for
``timeout`` seconds is closed. A connection that is talking anyway needs no ping:
anything it sends proves it alive.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import Protocol


class Watched(Protocol):
    """What the heartbeat reads and calls on a socket."""

    last_heard: float
    """Loop time of the last bytes from the peer."""
    pinged_at: float
    """Loop time of the ping waiting for an answer; 0 when none is (the socket resets it
    whenever it hears from the peer)."""
    heartbeat_slot: int

    def ping(self) -> None: ...

    def ping_timed_out(self) -> None: ...


class Heartbeat:
    """Pings silent sockets and closes the ones that stay silent; see the module docstring."""

    def __init__(self, interval: float, timeout: float, *, tick: float = 0.5) -> None:
        self.interval = interval
        self.timeout = timeout
        self.tick = min(tick, interval / 10) if interval > 0 else tick
        slots = max(1, round(interval / 2 / self.tick)) if interval > 0 else 1
        self._slots: list[set[Watched]] = [set() for _ in range(slots)]
        self._next_slot = itertools.count()
        self._cursor = 0
        self._waiting: deque[tuple[float, float, Watched]] = deque()
        """(deadline, ping time, socket) for every ping sent, oldest first."""
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def start(self) -> None:
        if self.enabled and self._timer is None:
            loop = self._loop = asyncio.get_running_loop()
            due = loop.time() + self.tick
            self._timer = loop.call_at(due, self._tick, due)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def add(self, sock: Watched) -> None:
        slot = next(self._next_slot) % len(self._slots)
        sock.heartbeat_slot = slot
        self._slots[slot].add(sock)

    def discard(self, sock: Watched) -> None:
        self._slots[sock.heartbeat_slot].discard(sock)

    def _tick(self, scheduled: float) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        self.step(now)
        # Drift-free: the next tick is due a tick after this one was, not after now.
        due = max(scheduled + self.tick, now)
        self._timer = loop.call_at(due, self._tick, due)

    def step(self, now: float) -> None:
        """One look at the wheel at loop time ``now``: close the sockets whose ping went
        unanswered, ping the silent ones of the next slot. The timer calls it every tick;
        a test calls it with times of its own."""
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            _, sent, sock = waiting.popleft()
            if sock.pinged_at == sent:  # nothing heard since that ping
                sock.pinged_at = 0.0
                self.discard(sock)  # once: it is dead, whenever its transport says so
                sock.ping_timed_out()
        silent_since = now - self.interval + self.tick  # a tick's slack
        deadline = now + self.timeout
        slot = self._slots[self._cursor]
        self._cursor = (self._cursor + 1) % len(self._slots)
        for sock in list(slot):  # a ping may end a socket, which leaves its slot
            if not sock.pinged_at and sock.last_heard <= silent_since:
                sock.pinged_at = now
                waiting.append((deadline, now, sock))
                sock.ping()
