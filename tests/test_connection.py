"""The send path of a connection, with a socket we control: frames go out at once while
the socket takes them, queue in order while it pushes back, and a client that stops
reading is closed with 4429 instead of piling up memory."""

from __future__ import annotations

import asyncio
from typing import Any

from lobby.connection import Connection
from lobby.metrics import Stats
from lobby.ratelimit import TokenBucket


class FakeSocket:
    """Takes frames at once, until ``block()``: then every send waits for ``unblock()``."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        self.open = asyncio.Event()
        self.open.set()

    def block(self) -> None:
        self.open.clear()

    def unblock(self) -> None:
        self.open.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.open.wait()
        self.sent.append(message["bytes"])

    async def close(self, code: int, reason: str) -> None:
        await self.open.wait()
        self.closed = (code, reason)


def connection(socket: FakeSocket, max_queue: int = 4) -> Connection:
    bucket = TokenBucket(10, 10)
    return Connection(
        socket,  # type: ignore[arg-type]
        "p_1",
        "Ada",
        max_queue=max_queue,
        messages=bucket,
        chat=bucket,
        refusals=TokenBucket(10, 10),
        stats=Stats(),
    )


async def test_frames_go_out_at_once_while_the_socket_takes_them() -> None:
    socket = FakeSocket()
    conn = connection(socket)
    conn.send(b"one")
    conn.send(b"two")
    assert socket.sent == [b"one", b"two"]  # no task switch needed
    assert conn.stats.frames_out == 2 and conn.stats.bytes_out == 6


async def test_frames_queue_in_order_while_the_socket_pushes_back() -> None:
    socket = FakeSocket()
    conn = connection(socket)
    socket.block()
    for frame in (b"a", b"b", b"c"):
        conn.send(frame)
    await asyncio.sleep(0)
    assert socket.sent == []
    socket.unblock()
    await asyncio.sleep(0.01)
    assert socket.sent == [b"a", b"b", b"c"]
    conn.send(b"d")  # back to sending at once
    assert socket.sent[-1] == b"d"


async def test_a_client_that_stops_reading_is_closed_4429() -> None:
    socket = FakeSocket()
    conn = connection(socket, max_queue=4)
    socket.block()
    for i in range(10):
        conn.send(bytes([i]))
    assert conn.closed
    socket.unblock()
    await conn.wait_closed()
    assert socket.closed is not None and socket.closed[0] == 4429
    assert len(socket.sent) == 5  # the one in flight and the four queued, then the close


async def test_close_goes_out_after_what_was_queued() -> None:
    socket = FakeSocket()
    conn = connection(socket)
    socket.block()
    conn.send(b"last words")
    conn.close(1000, "bye")
    conn.send(b"too late")
    socket.unblock()
    await conn.wait_closed()
    assert socket.sent == [b"last words"] and socket.closed == (1000, "bye")
