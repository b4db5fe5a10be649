"""The clock arithmetic (game/clock.py): pure, so checked over arbitrary times."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meeple.game import clock as clocks
from meeple.game.clock import DAY_MS, ClockState, TimeControl


def test_the_three_kinds_of_control_parse_and_show_as_given() -> None:
    fischer = TimeControl.parse({"bank": 300, "inc": 2})
    assert (fischer.limit_ms, fischer.inc_ms, fischer.per_move) == (300_000, 2000, False)
    assert fischer.as_view() == {"bank": 300, "inc": 2}
    assert TimeControl.parse({"bank": 0.5}).as_view() == {"bank": 0.5, "inc": 0}
    move = TimeControl.parse({"move": 30})
    assert move.per_move and move.as_view() == {"move": 30}
    days = TimeControl.parse({"days": 3})
    assert days.correspondence and days.per_move and days.limit_ms == 3 * DAY_MS
    assert days.as_view() == {"days": 3}


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {},
        [],
        {"days": 4},
        {"days": 3.0},
        {"days": True},
        {"bank": 0},
        {"bank": -5},
        {"bank": True},
        {"bank": "300"},
        {"bank": 86_400 * 15},
        {"bank": 60, "inc": -1},
        {"bank": 60, "inc": 7200},
        {"move": 0},
        {"move": 30, "bank": 60},
        {"bank": 60, "now": 1},
        {"inc": 2},
    ],
)
def test_a_bad_control_says_what_is_wrong(bad: Any) -> None:
    with pytest.raises(ValueError, match="clock"):
        TimeControl.parse(bad)


def test_fischer_charges_the_mover_and_pays_the_increment() -> None:
    control = TimeControl.parse({"bank": 10, "inc": 2})
    c = clocks.start(control, 2, [0], now=1000)
    assert c.wire(4000) == {"ms": [7000, 10000], "run": [0]}
    c = clocks.advance(control, c, 0, True, [1], now=4000)
    assert c == ClockState((9000, 10000), (1,), 4000)
    assert c.deadline() == 14000
    assert c.flagged(13999) is None and c.flagged(14000) == 1


def test_a_limit_per_move_starts_every_turn_afresh() -> None:
    control = TimeControl.parse({"move": 5})
    c = clocks.start(control, 2, [0], now=0)
    c = clocks.advance(control, c, 0, True, [1], now=4500)
    assert c.ms == (5000, 5000) and c.deadline() == 9500
    c = clocks.advance(control, c, 1, True, [0], now=9000)
    assert c.ms == (5000, 5000) and c.deadline() == 14000
    c = clocks.advance(control, c, 0, True, [], now=13000)
    assert c.ms == (1000, 5000)  # the game is over: what was left stays


def test_a_finished_game_stops_every_clock() -> None:
    control = TimeControl.parse({"bank": 10})
    c = clocks.advance(control, clocks.start(control, 2, [0], 0), 0, True, [], 2500)
    assert c.run == () and c.deadline() is None and c.flagged(10**12) is None
    assert c.wire(10**12)["ms"] == [7500, 10000]


def test_simultaneous_turns_charge_every_running_clock() -> None:
    control = TimeControl.parse({"bank": 10})
    c = clocks.start(control, 3, [0, 1, 2], 0)
    c = clocks.advance(control, c, 1, True, [0, 2], 3000)
    assert c.ms == (7000, 7000, 7000) and c.run == (0, 2)
    assert c.flagged(10_000) == 0  # the lower seat first when both are out together


times = st.lists(st.integers(min_value=-5000, max_value=20_000), min_size=1, max_size=30)


@given(
    bank=st.integers(1, 60_000),
    inc=st.integers(0, 5000),
    per_move=st.booleans(),
    steps=times,
    seats=st.integers(2, 4),
)
def test_clocks_never_pay_back_time_and_never_go_negative(
    bank: int, inc: int, per_move: bool, steps: list[int], seats: int
) -> None:
    """Whatever order the times come in (a clock stepped back included), a running
    clock only goes down between changes, no seat is ever below 0 or above its bank
    plus what it earned, and the flag falls exactly when the time is out."""
    control = TimeControl(bank, 0 if per_move else inc, per_move)
    now = 0
    c = clocks.start(control, seats, [0], now)
    moves = [0] * seats
    for i, step in enumerate(steps):
        now += step
        mover = c.run[0]
        assert c.remaining(mover, now) == max(0, c.ms[mover] - max(0, now - c.at))
        assert (c.flagged(now) is not None) == (c.remaining(mover, now) == 0)
        nxt = (mover + 1) % seats
        before = c
        c = clocks.advance(control, c, mover, True, [nxt], now)
        moves[mover] += 1
        assert c.at >= before.at
        for seat in range(seats):
            assert 0 <= c.ms[seat] <= bank + moves[seat] * control.inc_ms
            if seat != mover and seat != nxt and not per_move:
                assert c.ms[seat] == before.ms[seat]
        if per_move:
            assert c.ms[nxt] == bank
        later = now + i
        assert c.remaining(nxt, later) <= c.ms[nxt]
        assert ClockState.from_data(c.as_data()) == c
