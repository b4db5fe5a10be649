"""Chess clocks as arithmetic: a time control and the clock state it runs, no clock read.

Three kinds of control, chosen per room:

* Fischer: every seat starts with a bank, spends it while it is to act, and gets the
  increment back after each of its moves (``{"bank": 300, "inc": 2}``, seconds);
* a limit per move: every turn starts afresh with the same time (``{"move": 30}``);
* correspondence: a limit per move in days (``{"days": 3}``), where being away is normal.

A ``ClockState`` is the remaining time of every seat as of ``at`` (ms since the Unix
epoch) and the seats whose clocks run from then. The caller (the room) says what time it
is: every function here takes ``now`` as an argument, so the same log of times replays to
the same clocks, and a client's idea of the time never enters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DAY_MS = 86_400_000
CORRESPONDENCE_DAYS = (1, 2, 3, 5, 7, 14)
MAX_BANK_S = 86_400 * 14
"""The longest bank or limit per move, in seconds (two weeks)."""
MAX_INC_S = 3_600


@dataclass(frozen=True, slots=True)
class TimeControl:
    """How a room's clocks run. ``limit_ms`` is the bank (Fischer) or the time per move."""

    limit_ms: int
    inc_ms: int = 0
    per_move: bool = False
    days: int | None = None
    """Correspondence: the time per move in days (``per_move`` is then true)."""

    @property
    def correspondence(self) -> bool:
        return self.days is not None

    @classmethod
    def per_move_seconds(cls, seconds: float) -> TimeControl:
        """The games' ``turn_seconds`` option: a limit per move."""
        return cls(max(1, round(seconds * 1000)), per_move=True)

    @classmethod
    def parse(cls, data: Any) -> TimeControl:
        """A control from its room option; ValueError says what is wrong."""
        if not isinstance(data, Mapping) or not data:
            raise ValueError('clock must be {"bank", "inc"}, {"move"} or {"days"}')
        keys = set(data)
        if keys == {"days"}:
            days = data["days"]
            if type(days) is not int or days not in CORRESPONDENCE_DAYS:
                choices = ", ".join(map(str, CORRESPONDENCE_DAYS))
                raise ValueError(f"clock.days must be one of {choices}")
            return cls(days * DAY_MS, per_move=True, days=days)
        if keys == {"move"}:
            return cls(_ms(data["move"], "clock.move", MAX_BANK_S), per_move=True)
        if keys in ({"bank"}, {"bank", "inc"}):
            inc = data.get("inc", 0)
            inc_ms = 0 if inc == 0 else _ms(inc, "clock.inc", MAX_INC_S)
            return cls(_ms(data["bank"], "clock.bank", MAX_BANK_S), inc_ms)
        raise ValueError('clock must be {"bank", "inc"}, {"move"} or {"days"}, nothing else')

    def as_view(self) -> dict[str, Any]:
        """The room option as it was given (seconds, or days)."""
        if self.days is not None:
            return {"days": self.days}
        if self.per_move:
            return {"move": self.limit_ms / 1000}
        return {"bank": self.limit_ms / 1000, "inc": self.inc_ms / 1000}


def _ms(value: Any, where: str, most: int) -> int:
    if type(value) not in (int, float) or not 0 < value <= most:
        raise ValueError(f"{where} must be a number of seconds above 0, at most {most}")
    ms: int = max(1, round(value * 1000))
    return ms


@dataclass(frozen=True, slots=True)
class ClockState:
    """Each seat's remaining ms as of ``at``; the clocks of ``run`` run from ``at``."""

    ms: tuple[int, ...]
    run: tuple[int, ...]
    at: int

    def remaining(self, seat: int, now: int) -> int:
        """What ``seat`` has left at ``now`` (never below 0)."""
        left = self.ms[seat]
        if seat in self.run:
            left -= max(0, now - self.at)
        return max(0, left)

    def deadline(self) -> int | None:
        """When the first running clock reaches 0, or None if none runs."""
        if not self.run:
            return None
        return self.at + min(self.ms[s] for s in self.run)

    def flagged(self, now: int) -> int | None:
        """The running seat whose time is out at ``now`` (the one that ran out first)."""
        if not self.run:
            return None
        seat = min(self.run, key=lambda s: (self.ms[s], s))
        # As ``remaining`` counts (a clock stepped back spends nothing, and gives nothing back).
        return seat if self.remaining(seat, now) == 0 else None

    def wire(self, now: int) -> dict[str, list[int]]:
        """The ``k`` field of ``snap`` and ``d``: remaining ms as of ``now``, and who runs."""
        return {"ms": [self.remaining(s, now) for s in range(len(self.ms))], "run": list(self.run)}

    def as_data(self) -> dict[str, Any]:
        """For the journal: ``from_data`` gives it back."""
        return {"ms": list(self.ms), "run": list(self.run), "at": self.at}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ClockState:
        return cls(tuple(data["ms"]), tuple(data["run"]), int(data["at"]))


def start(control: TimeControl, seat_count: int, to_act: Sequence[int], now: int) -> ClockState:
    """A new game's clocks: everyone's bank (or time per move), the first to act running."""
    return ClockState((control.limit_ms,) * seat_count, tuple(to_act), now)


def advance(
    control: TimeControl,
    clock: ClockState,
    mover: int | None,
    moved: bool,
    to_act: Sequence[int],
    now: int,
) -> ClockState:
    """The clocks after a change at ``now``: running seats pay for the time since ``at``;
    the seat that moved (``moved``: a move, not a forfeit or timeout) gets its increment;
    with a time per move, every seat but those still in the middle of their turn shows a
    fresh turn's time; ``to_act`` run from ``now``.

    ``now`` before ``at`` (a clock stepped back) charges nothing rather than paying back.
    """
    spent = max(0, now - clock.at)
    ms = list(clock.ms)
    for seat in clock.run:
        ms[seat] = max(0, ms[seat] - spent)
    if moved and mover is not None and mover in clock.run:
        ms[mover] += control.inc_ms
    run = tuple(to_act)
    if control.per_move and run:  # (a finished game keeps what each seat had left)
        for seat in range(len(ms)):
            if seat == mover or seat not in clock.run or seat not in run:
                ms[seat] = control.limit_ms  # a fresh turn's time, now or next turn
    return ClockState(tuple(ms), run, max(now, clock.at))
