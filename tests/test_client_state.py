"""The client's room connection: its protocol core without a network, then its loop
against a small in-process WebSocket server that plays the server's part.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from meeple.client.connection import (
    Closed,
    ConnectionLost,
    MoveRejected,
    Reconnecting,
    RoomClosed,
    RoomConnection,
    backoff_delay,
)
from meeple.game.codec import decode, encode
from meeple.game.protocol import DeltaMsg, RoomMsg, SnapMsg

SEATS = [
    {"kind": "human", "player_id": "p_1", "name": "Ada", "on": True},
    {"kind": "human", "player_id": "p_2", "name": "Bo", "on": True},
]
EMPTY = [-1] * 9


def snap(
    s: int, board: list[int] | None = None, a: list[int] | None = None, n: int = 0
) -> dict[str, Any]:
    return {
        "t": "snap",
        "s": s,
        "n": n,
        "room": "r_1",
        "g": "tictactoe",
        "seat": 0,
        "v": {"b": board or list(EMPTY)},
        "a": [0] if a is None else a,
        "st": "playing",
        "r": None,
        "dl": None,
        "seats": SEATS,
    }


def delta(s: int, cell: int, mark: int, a: list[int], **extra: Any) -> dict[str, Any]:
    return {"t": "d", "s": s, "o": [[["b", cell], mark]], "a": a, **extra}


def room(st: str = "playing", on: bool = True) -> dict[str, Any]:
    seats = [dict(SEATS[0]), dict(SEATS[1], on=on)]
    return {"t": "room", "room": "r_1", "st": st, "spec": 2, "rematch": [], "seats": seats}


def new_conn(**options: Any) -> RoomConnection:
    return RoomConnection("ws://example.invalid/ws/rooms/r_1", "tok", **options)


# The core, fed messages by hand --------------------------------------------------


async def test_snapshot_sets_the_whole_state() -> None:
    conn = new_conn()
    assert (conn.seq, conn.my_turn) == (None, False)
    conn.handle(snap(3))
    assert (conn.seq, conn.game, conn.seat, conn.room_id) == (3, "tictactoe", 0, "r_1")
    assert conn.view == {"b": EMPTY} and conn.to_act == [0]
    assert conn.my_turn and not conn.finished
    assert [s.name for s in conn.seats] == ["Ada", "Bo"]


async def test_deltas_in_order_apply_and_the_last_one_finishes() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    conn.handle(delta(2, 4, 0, [1]))
    assert conn.seq == 2 and conn.view["b"][4] == 0 and not conn.my_turn
    conn.handle(delta(2, 4, 0, [1]))  # a duplicate changes nothing
    assert conn.seq == 2
    result = {"winners": [0], "draw": False, "returns": [1.0, 0.0], "reason": "three in a row"}
    conn.handle(delta(3, 0, 1, [], st="finished", r=result, dl=None))
    assert conn.finished and conn.result is not None and conn.result.winners == [0]
    assert conn.view["b"][:5] == [1, -1, -1, -1, 0]
    assert not conn.outbox  # nothing needed asking for


async def test_a_gap_asks_for_a_snapshot_once_and_the_snapshot_repairs_it() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    conn.handle(delta(3, 4, 0, [1]))  # 2 went missing
    assert conn.seq == 1 and conn.view["b"] == EMPTY
    assert [m["t"] for m in conn.outbox] == ["sync"]
    conn.handle(delta(4, 5, 1, [0]))  # still behind: no second sync
    assert [m["t"] for m in conn.outbox] == ["sync"]
    board = list(EMPTY)
    board[4], board[0], board[5] = 0, 1, 1
    conn.handle(snap(4, board, [0]))
    assert conn.seq == 4 and conn.view["b"] == board
    conn.handle(delta(5, 8, 0, [1]))
    assert conn.seq == 5 and conn.view["b"][8] == 0


async def test_a_delta_before_any_snapshot_asks_for_one() -> None:
    conn = new_conn()
    conn.handle(delta(7, 4, 0, [1]))
    assert conn.seq is None and [m["t"] for m in conn.outbox] == ["sync"]


async def test_a_delta_that_does_not_apply_resyncs() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    conn.handle({"t": "d", "s": 2, "o": [[["nope", 3], 0]], "a": [1]})
    assert conn.seq == 1 and [m["t"] for m in conn.outbox] == ["sync"]


async def test_move_resolves_on_its_ack_after_its_delta() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    pending = conn.move({"cell": 4})
    sent = conn.outbox.popleft()
    assert sent == {"t": "move", "m": {"cell": 4}, "id": sent["id"]}
    conn.handle(delta(2, 4, 0, [1]))
    conn.handle({"t": "ack", "id": sent["id"], "s": 2})
    assert await pending == 2


async def test_an_ack_whose_delta_was_missed_waits_for_the_snapshot() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    pending = conn.move({"cell": 4})
    n = conn.outbox.popleft()["id"]
    conn.handle(delta(3, 4, 0, [1]))  # a gap: dropped, sync sent
    conn.handle({"t": "ack", "id": n, "s": 3})
    await asyncio.sleep(0)
    assert not pending.done()
    board = list(EMPTY)
    board[4] = 0
    conn.handle(snap(3, board, [1]))
    assert await pending == 3 and conn.view["b"][4] == 0


async def test_an_ack_from_a_game_that_is_over_resolves_on_the_next_games_snapshot() -> None:
    conn = new_conn()
    conn.handle(snap(5))
    pending = conn.move({"cell": 4})
    n = conn.outbox.popleft()["id"]
    conn.handle(delta(7, 4, 0, []))  # a gap: dropped, sync sent
    conn.handle({"t": "ack", "id": n, "s": 7})
    await asyncio.sleep(0)
    assert not pending.done()
    conn.handle(snap(1, n=1))  # a rematch: numbering starts again, below 7
    assert await pending == 7
    assert (conn.seq, conn.game_no) == (1, 1)


async def test_err_rejects_the_matching_move() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    first = conn.move({"cell": 4})
    second = conn.move({"cell": 4})
    ids = [m["id"] for m in conn.outbox]
    assert ids[1] == ids[0] + 1
    conn.handle({"t": "err", "id": ids[1], "code": "cell_taken", "msg": "cell 4 is taken"})
    with pytest.raises(MoveRejected) as caught:
        await second
    assert caught.value.code == "cell_taken" and caught.value.id == ids[1]
    assert not first.done()
    # An err for no pending move (e.g. a chat) is kept and streamed, not raised.
    conn.handle({"t": "err", "id": None, "code": "bad_frame", "msg": "?"})
    assert conn.last_error is not None and conn.last_error.code == "bad_frame"


async def test_room_and_chat_update_presence_and_the_chat_log() -> None:
    conn = new_conn()
    conn.handle(room("waiting", on=False))
    assert conn.status == "waiting" and conn.spectators == 2 and not conn.seats[1].on
    conn.handle({"t": "chat", "seat": 1, "name": "Bo", "text": "hi", "at": "2026-01-01T00:00:00Z"})
    assert conn.chats[-1].text == "hi"
    conn.handle({"t": "pong", "id": 3})
    conn.handle({"t": "bogus"})  # breaks the protocol: logged and ignored
    assert conn.status == "waiting"


async def test_a_drop_fails_pending_moves_and_reconnects() -> None:
    conn = new_conn()
    conn.handle(snap(1))
    pending = conn.move({"cell": 4})
    assert conn.handle_close(1006, "") is True
    with pytest.raises(ConnectionLost):
        await pending
    assert not conn.outbox and not conn.closed
    assert conn._url() == "ws://example.invalid/ws/rooms/r_1?since=1&game=0"


@pytest.mark.parametrize("code", [1000, 4401, 4403, 4404, 4409])
async def test_terminal_close_codes_end_the_connection(code: int) -> None:
    conn = new_conn()
    conn.handle(snap(1))
    pending = conn.move({"cell": 4})
    assert conn.handle_close(code, "bye") is False
    assert conn.closed and conn.close_code == code
    with pytest.raises(RoomClosed):
        await pending
    with pytest.raises(RoomClosed) as caught:
        await conn.wait_for(lambda c: c.finished, timeout=1)
    assert caught.value.code == code
    with pytest.raises(RoomClosed):
        conn.chat("anyone?")


@pytest.mark.parametrize("code", [1001, 1006, 1008, 1011, 4408, 4429])
async def test_other_close_codes_reconnect(code: int) -> None:
    assert new_conn().handle_close(code, "") is True


async def test_wait_for_wakes_on_change_and_times_out() -> None:
    conn = new_conn()
    conn.handle(snap(1, a=[1]))
    waiter = asyncio.create_task(conn.wait_for(lambda c: c.my_turn, timeout=1))
    await asyncio.sleep(0)
    assert not waiter.done()
    conn.handle(delta(2, 4, 1, [0]))
    await waiter
    with pytest.raises(TimeoutError):
        await conn.wait_for(lambda c: c.finished, timeout=0.01)


async def test_events_stream_typed_messages_and_end_with_closed() -> None:
    conn = new_conn()
    seen: list[Any] = []

    async def collect() -> None:
        async for event in conn.events():
            seen.append(event)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    conn.handle(room())
    conn.handle(snap(1))
    conn.handle(delta(2, 4, 0, [1]))
    conn.handle_close(4409, "replaced")
    await asyncio.wait_for(task, 1)
    assert [type(e) for e in seen] == [RoomMsg, SnapMsg, DeltaMsg, Closed]
    assert seen[-1] == Closed(4409, "replaced")


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(0)
    for attempt in range(12):
        ceiling = min(10.0, 0.25 * 2**attempt)
        for _ in range(20):
            assert ceiling / 2 <= backoff_delay(attempt, rng) <= ceiling
    assert backoff_delay(1000, rng) <= 10.0


# The loop, against a WebSocket server in the test --------------------------------

Handler = Callable[[ServerConnection, int], Awaitable[None]]


@asynccontextmanager
async def fake_server(handler: Handler) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A server calling ``handler(ws, n)`` for its n-th connection; yields its URL and a
    record of each connection's path, query and offered subprotocols."""
    seen: list[dict[str, Any]] = []

    async def serve_one(ws: ServerConnection) -> None:
        assert ws.request is not None
        parts = urlsplit(ws.request.path)
        seen.append(
            {
                "path": parts.path,
                "query": parse_qs(parts.query),
                "protocols": ws.request.headers.get("Sec-WebSocket-Protocol"),
                "selected": ws.subprotocol,
            }
        )
        await handler(ws, len(seen))

    async with serve(serve_one, "127.0.0.1", 0, subprotocols=[Subprotocol("meeple.v1")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws/rooms/r_1", seen


async def send(ws: ServerConnection, message: dict[str, Any]) -> None:
    await ws.send(encode(message))


async def test_connects_plays_a_move_and_leaves() -> None:
    async def handler(ws: ServerConnection, n: int) -> None:
        await send(ws, room())
        await send(ws, snap(1))
        async for frame in ws:
            assert isinstance(frame, bytes)
            msg = decode(frame)
            if msg["t"] == "move":
                await send(ws, delta(2, msg["m"]["cell"], 0, [1]))
                await send(ws, {"t": "ack", "id": msg["id"], "s": 2})
            elif msg["t"] == "leave":
                await ws.close(1000, "you left")

    async with fake_server(handler) as (url, seen), RoomConnection(url, "secret") as conn:
        await conn.wait_for(lambda c: c.my_turn, timeout=2)
        assert await asyncio.wait_for(conn.move({"cell": 4}), 2) == 2
        assert conn.view["b"][4] == 0 and not conn.my_turn
        await conn.leave(timeout=2)
        assert conn.closed and conn.close_code == 1000
    assert seen[0]["protocols"] == "meeple.v1, token.secret"
    assert seen[0]["selected"] == "meeple.v1" and seen[0]["query"] == {}


async def test_resumes_with_since_after_a_drop() -> None:
    async def handler(ws: ServerConnection, n: int) -> None:
        if n == 1:
            await send(ws, room())
            await send(ws, snap(5))
            await ws.close(1011, "oops")
            return
        await send(ws, room())
        await send(ws, delta(6, 4, 0, [1]))  # exactly what was missed
        await ws.wait_closed()

    async with fake_server(handler) as (url, seen):
        conn = RoomConnection(url, "t", backoff_base=0.01)
        events: list[Any] = []

        async def collect() -> None:
            async for event in conn.events():
                events.append(event)

        collector = asyncio.create_task(collect())
        async with conn:
            await conn.wait_for(lambda c: c.seq == 6, timeout=3)
            assert conn.view["b"][4] == 0 and conn.connected
        await asyncio.wait_for(collector, 1)
    assert seen[1]["query"] == {"since": ["5"], "game": ["0"]}
    assert any(isinstance(e, Reconnecting) and e.code == 1011 for e in events)


async def test_not_found_fails_open_without_retrying() -> None:
    async def handler(ws: ServerConnection, n: int) -> None:
        await ws.close(4404, "no such room")

    async with fake_server(handler) as (url, seen):
        with pytest.raises(RoomClosed) as caught:
            await RoomConnection(url, "t", backoff_base=0.01).open()
    assert caught.value.code == 4404 and caught.value.reason == "no such room"
    assert len(seen) == 1


async def test_a_silent_server_is_noticed_by_the_heartbeat() -> None:
    pings: list[int] = []

    async def handler(ws: ServerConnection, n: int) -> None:
        await send(ws, snap(1))
        async for frame in ws:  # reads, never answers: a dead server
            assert isinstance(frame, bytes)
            if decode(frame)["t"] == "ping":
                pings.append(n)

    async with fake_server(handler) as (url, seen):
        conn = RoomConnection(url, "t", heartbeat=0.05, heartbeat_timeout=0.05, backoff_base=0.01)
        async with conn:
            await conn.wait_for(lambda c: len(seen) >= 2, timeout=5)
    assert pings[0] == 1 and seen[1]["query"] == {"since": ["1"], "game": ["0"]}


async def test_an_unreachable_server_fails_open() -> None:
    conn = RoomConnection("ws://127.0.0.1:9/ws/rooms/r_1", "t", open_timeout=2)
    with pytest.raises(OSError):
        await conn.open()
    assert conn.closed
