"""Clocks in rooms, as players see them: ``k`` on ``snap`` and ``d``, the server's time
only (clients that lie about it, moves just before and just after the deadline, a
paused process), and clocks that go on across resume, rematch and failover."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from meeple.lobby.rooms import room as room_module
from meeple.lobby.settings import Settings
from tests.conftest import REDIS_URL, acked, of_type, open_peer
from tests.servers import LiveServer, ServerProcess, live_server
from tests.test_cluster import reconnect, session, started
from tests.test_resume import seat_players

finished = of_type("d", st="finished")


class FakeClock:
    """The rooms' clock, held still and moved by the test: the deadline to the ms."""

    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    clock = FakeClock()
    monkeypatch.setattr(room_module, "now_ms", clock)
    yield clock


@pytest.fixture
async def srv() -> AsyncIterator[LiveServer]:
    async with live_server(Settings()) as server:
        yield server


def refused_or_acked(msg_id: int) -> Any:
    return lambda m: acked(msg_id)(m) or of_type("err", id=msg_id)(m)


async def test_a_clock_is_a_room_option_shown_in_listings(srv: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=srv.http, timeout=10) as http:
        _, auth = await session(http, srv.http, "Ada")
        body = {"game": "chess", "clock": {"bank": 300, "inc": 2}}
        made = (await http.post("/api/rooms", json=body, headers=auth)).json()
        assert made["clock"] == {"bank": 300, "inc": 2}
        listed = (await http.get("/api/rooms", headers=auth)).json()["items"]
        assert [r["clock"] for r in listed if r["id"] == made["id"]] == [{"bank": 300, "inc": 2}]
        one = (await http.get(f"/api/rooms/{made['id']}", headers=auth)).json()
        assert one["clock"] == {"bank": 300, "inc": 2}
        plain = (await http.post("/api/rooms", json={"game": "chess"}, headers=auth)).json()
        assert plain["clock"] is None
        for bad in ({"bank": 0}, {"days": 4}, {"bank": 60, "now": 0}, {"inc": 2}):
            r = await http.post("/api/rooms", json={"game": "chess", "clock": bad}, headers=auth)
            assert r.status_code == 422, r.text  # the schema says what a clock is
            assert r.json()["code"] == "validation_error" and "clock" in r.text


async def test_snap_and_every_d_carry_the_clocks(srv: LiveServer, fake_clock: FakeClock) -> None:
    room, _, (a, b) = await seat_players(srv, clock={"bank": 60, "inc": 2})
    snap = next(m for m in a.seen if m["t"] == "snap" and m["st"] == "playing")
    start = fake_clock.now
    assert snap["k"] == {"ms": [60_000, 60_000], "run": [0]}
    assert snap["dl"] == start + 60_000
    fake_clock.now += 12_345
    await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
    for peer in (a, b):
        d = await peer.until(of_type("d", s=2))
        assert d["k"] == {"ms": [60_000 - 12_345 + 2000, 60_000], "run": [1]}
        assert d["dl"] == fake_clock.now + 60_000
    fake_clock.now += 1000
    await b.send({"t": "sync", "id": 2})
    resync = await b.until(of_type("snap"))
    assert resync["k"] == {"ms": [49_655, 59_000], "run": [1]}  # as of the snap
    watcher, _ = await srv.services.sessions.create("Cy")
    spectator = await open_peer(srv.ws, room.id, watcher)
    seen = await spectator.until(of_type("snap"))
    assert seen["k"] == resync["k"] and seen["seat"] is None


async def test_clients_lying_about_time_change_nothing(
    srv: LiveServer, fake_clock: FakeClock
) -> None:
    room, _, (a, b) = await seat_players(srv, clock={"bank": 10})
    fake_clock.now += 9_000
    lies: list[dict[str, Any]] = [
        {"t": "move", "id": 1, "m": {"cell": 4}, "k": {"ms": [10_000, 10_000]}},
        {"t": "move", "id": 2, "m": {"cell": 4}, "at": 0},
        {"t": "move", "id": 3, "m": {"cell": 4, "ms": 10_000}},
        {"t": "sync", "id": 4, "k": {"ms": [10_000]}},
    ]
    for lie in lies:
        await a.send(lie)
        err = await a.until(of_type("err", id=lie["id"]))
        assert err["code"] in ("bad_message", "bad_move"), err
    assert room.match.seq == 1
    fake_clock.now += 1_000  # the real time runs out, whatever the client said
    await a.send({"t": "move", "id": 5, "m": {"cell": 4}})
    err = await a.until(of_type("err", id=5))
    assert err["code"] == "time_up"
    end = await b.until(finished)
    assert end["r"]["reason"] == "timeout" and end["r"]["winners"] == [1]
    assert end["k"] == {"ms": [0, 10_000], "run": []}
    assert [e["k"] for e in room.match.log] == ["timeout"]


async def test_a_move_just_before_the_deadline_counts_and_just_after_flags(
    srv: LiveServer, fake_clock: FakeClock
) -> None:
    room, _, (a, b) = await seat_players(srv, clock={"bank": 30, "inc": 1})
    fake_clock.now += 29_999  # 1 ms left
    await a.send({"t": "move", "id": 1, "m": {"cell": 0}})
    d = await a.until(acked(1))
    assert d["k"] == {"ms": [1 + 1000, 30_000], "run": [1]}
    fake_clock.now += 30_000  # b's deadline to the ms: out
    await b.send({"t": "move", "id": 2, "m": {"cell": 4}})
    assert (await b.until(refused_or_acked(2)))["code"] == "time_up"
    end = await a.until(finished)
    assert end["r"]["winners"] == [0] and end["r"]["reason"] == "timeout"
    assert room.match.log[-1]["k"] == "timeout" and room.match.log[-1]["seat"] == 1


async def test_the_room_flags_a_seat_that_never_moves(srv: LiveServer) -> None:
    """The real clock, no client help: the flag falls on the room's own timer."""
    _, _, (_, b) = await seat_players(srv, clock={"bank": 0.3, "inc": 0})
    end = await b.until(finished, timeout=5)
    assert end["r"]["winners"] == [1] and end["r"]["reason"] == "timeout"
    assert end["k"]["ms"][0] == 0 and end["k"]["run"] == []


async def test_a_rematch_starts_the_clocks_afresh(srv: LiveServer, fake_clock: FakeClock) -> None:
    _, _, (a, b) = await seat_players(srv, clock={"bank": 20, "inc": 0})
    for i, (peer, cell) in enumerate([(a, 0), (b, 3), (a, 1), (b, 4), (a, 2)]):
        fake_clock.now += 1000
        await peer.send({"t": "move", "id": i, "m": {"cell": cell}})
        await peer.until(acked(i))
    end = await b.until(finished)
    assert end["k"] == {"ms": [17_000, 18_000], "run": []}
    for peer in (a, b):
        await peer.send({"t": "rematch"})
    snap = await a.until(lambda m: m["t"] == "snap" and m["n"] == 1)
    assert snap["k"]["ms"] == [20_000, 20_000] and len(snap["k"]["run"]) == 1


async def test_a_paused_process_does_not_stop_the_clock() -> None:
    """SIGSTOP the server while a clock runs: the time passes anyway, and a move sent
    during the pause arrives too late, however quickly the client sent it."""
    proc = ServerProcess({})
    await proc.start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            token_a, auth_a = await session(http, proc.http, "Ada")
            token_b, auth_b = await session(http, proc.http, "Bo")
            body = {"game": "tictactoe", "clock": {"bank": 2, "inc": 0}}
            room = (await http.post(f"{proc.http}/api/rooms", json=body, headers=auth_a)).json()
            r = await http.post(f"{proc.http}/api/rooms/{room['id']}/seats", headers=auth_b)
            r.raise_for_status()
        a = await open_peer(proc.ws, room["id"], token_a)
        b = await open_peer(proc.ws, room["id"], token_b)
        await started(a)
        await started(b)
        await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
        await b.until(of_type("d", s=2))
        assert proc.proc is not None
        os.kill(proc.proc.pid, signal.SIGSTOP)
        try:
            await b.send({"t": "move", "id": 2, "m": {"cell": 0}})  # waits in the socket
            await asyncio.sleep(2.5)  # the pause under test: past the 2 s bank
        finally:
            os.kill(proc.proc.pid, signal.SIGCONT)
        answer = await b.until(refused_or_acked(2), timeout=10)
        # Whichever the resumed process saw first, its flag timer or the move, the move
        # arrived after the time was out: refused, and the game ends on the clock.
        assert answer["t"] == "err" and answer["code"] in ("time_up", "game_over"), answer
        end = await a.until(finished, timeout=10)
        assert end["r"]["winners"] == [0] and end["r"]["reason"] == "timeout"
        assert end["k"]["ms"][1] == 0
    finally:
        proc.stop()


@pytest.mark.redis
async def test_kill_9_the_owner_mid_clock_and_the_clock_goes_on(redis_prefix: str) -> None:
    """The owner dies while seat 0's clock runs: the other process takes the room from
    the journal with the clocks as saved, and the time since still counts."""
    env = {
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        "MEEPLE_LEASE_SECONDS": "2",
        "MEEPLE_GRACE_SECONDS": "30",
    }
    one, two = ServerProcess(env), ServerProcess(env)
    await asyncio.gather(one.start(), two.start())
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            token_a, auth_a = await session(http, one.http, "Ada")
            token_b, auth_b = await session(http, two.http, "Bo")
            body = {"game": "tictactoe", "clock": {"bank": 60, "inc": 0}}
            r = await http.post(f"{one.http}/api/rooms", json=body, headers=auth_a)
            room_id = r.json()["id"]
            r = await http.post(f"{two.http}/api/rooms/{room_id}/seats", headers=auth_b)
            r.raise_for_status()
        a = await open_peer(one.ws, room_id, token_a)
        b = await open_peer(two.ws, room_id, token_b)
        await started(a)
        await started(b)
        await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
        await a.until(acked(1))
        # Bo thinks for (at least) half a second: the time under test, in another process
        # whose clock no test can move; a loaded machine only makes it longer.
        await asyncio.sleep(0.5)
        await b.send({"t": "move", "id": 2, "m": {"cell": 0}})
        last = await b.until(acked(2))
        told = time.monotonic()
        ms_a, ms_b = last["k"]["ms"]
        assert last["k"]["run"] == [0] and ms_b <= 60_000 - 500 and ms_a < 60_000

        one.kill()  # mid-clock: seat 0's runs

        await b.closed(timeout=15)
        b2 = await reconnect(two, room_id, token_b, since=3)
        await b2.send({"t": "sync", "id": 3})
        snap = await b2.until(of_type("snap"))
        waited = int((time.monotonic() - told) * 1000)
        assert snap["s"] == 3 and snap["k"]["run"] == [0]
        assert snap["k"]["ms"][1] == ms_b  # not running: kept to the ms, not reset
        # seat 0's clock ran all along: what the owner saved, less the time since.
        assert ms_a - waited - 1000 <= snap["k"]["ms"][0] <= ms_a - waited + 1000
        a2 = await reconnect(two, room_id, token_a, since=3)
        await a2.send({"t": "move", "id": 4, "m": {"cell": 8}})
        d = await a2.until(refused_or_acked(4))
        assert d["t"] == "d" and d["k"]["run"] == [1] and d["k"]["ms"][1] == ms_b
    finally:
        one.stop()
        two.stop()
