"""The send path of a connection, over a transport we control: a loop turn's frames go
out in one write, frames wait in order while the transport pushes back, and a client
that stops reading is closed with 4429 instead of piling up memory."""

from __future__ import annotations

import asyncio

from meeple.lobby.edge.connection import Connection, Outbox
from meeple.lobby.edge.frames import OP_BINARY, OP_CLOSE, FrameReader, parse_close
from meeple.lobby.ops.metrics import Stats
from meeple.lobby.ratelimit import TokenBucket


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing


class FakeSocket:
    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.closing_called = False

    def closing(self) -> None:
        self.closing_called = True

    def frames(self) -> list[tuple[int, bytes]]:
        """Everything written, as the client would read it."""
        reader = FrameReader(masked=False, max_size=1 << 20)
        return reader.feed(b"".join(self.transport.writes))


def connection(socket: FakeSocket, outbox: Outbox, max_queue: int = 4) -> Connection:
    bucket = TokenBucket(10, 10)
    return Connection(
        socket,  # type: ignore[arg-type]
        outbox,
        "p_1",
        "Ada",
        max_queue=max_queue,
        messages=bucket,
        chat=bucket,
        refusals=TokenBucket(10, 10),
        stats=Stats(),
    )


async def next_turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_a_turns_frames_go_out_in_one_write_per_connection() -> None:
    outbox = Outbox()
    a, b = FakeSocket(), FakeSocket()
    ca, cb = connection(a, outbox), connection(b, outbox)
    ca.send(b"one")
    cb.send(b"for b")
    ca.send(b"two")
    assert a.transport.writes == [] and b.transport.writes == []  # not before the turn ends
    await next_turn()
    assert len(a.transport.writes) == 1 and len(b.transport.writes) == 1
    assert a.frames() == [(OP_BINARY, b"one"), (OP_BINARY, b"two")]
    assert b.frames() == [(OP_BINARY, b"for b")]
    assert ca.stats.frames_out == 2 and ca.stats.bytes_out == 6


async def test_big_frames_get_the_longer_header() -> None:
    outbox = Outbox()
    sock = FakeSocket()
    conn = connection(sock, outbox)
    payloads = [b"x" * 125, b"y" * 126, b"z" * 70_000]
    for payload in payloads:
        conn.send(payload)
    await next_turn()
    assert sock.frames() == [(OP_BINARY, p) for p in payloads]


async def test_frames_wait_in_order_while_the_transport_pushes_back() -> None:
    outbox = Outbox()
    sock = FakeSocket()
    conn = connection(sock, outbox)
    conn.pause_writing()
    for frame in (b"a", b"b", b"c"):
        conn.send(frame)
    await next_turn()
    assert sock.transport.writes == []
    conn.resume_writing()
    assert sock.frames() == [(OP_BINARY, b"a"), (OP_BINARY, b"b"), (OP_BINARY, b"c")]
    conn.send(b"d")  # back to one write per turn
    await next_turn()
    assert sock.frames()[-1] == (OP_BINARY, b"d") and len(sock.transport.writes) == 2


async def test_a_client_that_stops_reading_is_closed_4429() -> None:
    outbox = Outbox()
    sock = FakeSocket()
    conn = connection(sock, outbox, max_queue=4)
    conn.pause_writing()
    for i in range(10):
        conn.send(bytes([i]))
    assert conn.closed and sock.closing_called
    frames = sock.frames()
    assert frames[-1][0] == OP_CLOSE and parse_close(frames[-1][1])[0] == 4429
    assert all(op == OP_CLOSE for op, _ in frames)  # what could not be read is dropped


async def test_close_goes_out_after_what_was_kept() -> None:
    outbox = Outbox()
    sock = FakeSocket()
    conn = connection(sock, outbox)
    conn.send(b"last words")
    conn.close(1000, "bye")
    conn.send(b"too late")
    await next_turn()
    assert sock.frames() == [(OP_BINARY, b"last words"), (OP_CLOSE, b"\x03\xe8bye")]


async def test_nothing_is_written_to_a_closing_transport() -> None:
    outbox = Outbox()
    sock = FakeSocket()
    conn = connection(sock, outbox)
    conn.send(b"late")
    sock.transport.closing = True
    await next_turn()
    assert sock.transport.writes == []
