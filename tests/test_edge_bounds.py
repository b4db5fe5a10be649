"""What no client may make the edge hold or get wrong (issue 16): floods of pings and
fragments, slow and endless requests, trickled frames, violations in the middle of a
segment, refused sockets, and handshakes RFC 6455 refuses. A real uvicorn, raw TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from meeple.lobby.edge.frames import (
    MAX_FRAGMENTS,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    close_frame,
    encode_frame,
    parse_close,
)
from meeple.lobby.edge.gateway import RoomSocket
from meeple.lobby.edge.http11 import MAX_HEAD
from meeple.lobby.settings import Settings
from tests.servers import LiveServer, live_server
from tests.test_websocket import Raw, seated, started, token_header


def fragment(opcode: int, payload: bytes, *, fin: bool) -> bytes:
    frame = bytearray(encode_frame(opcode, payload, mask=True))
    if not fin:
        frame[0] &= 0x7F
    return bytes(frame)


def sockets(srv: LiveServer) -> list[RoomSocket]:
    """The server's open room sockets (the heartbeat holds every one)."""
    found: list[RoomSocket] = []
    for slot in srv.services.heartbeat._slots:
        found += [s for s in slot if isinstance(s, RoomSocket)]
    return found


async def http_head(port: int, request: bytes, timeout: float = 5) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Everything the server sends until it ends the connection (within ``timeout``)."""
    data = b""
    async with asyncio.timeout(timeout):
        while chunk := await reader.read(65536):
            data += chunk
    return data


# 1. Pings -----------------------------------------------------------------------------


async def test_pings_in_one_segment_get_one_pong_for_the_last(server: LiveServer) -> None:
    _, a, _ = await started(server)
    a.send(b"".join(encode_frame(OP_PING, b"%d" % i, mask=True) for i in range(30)))
    a.send_message({"t": "ping", "id": 1})
    pongs = []
    while (frame := await a.frame())[0] != OP_BINARY or b"pong" not in frame[1]:
        if frame[0] == OP_PONG:
            pongs.append(frame[1])
    assert pongs == [b"29"]


async def test_a_ping_flood_from_a_client_that_never_reads_is_bounded(
    server: LiveServer,
) -> None:
    _, a, b = await started(server)
    ping = encode_frame(OP_PING, b"p" * 125, mask=True) * 500  # 66 KB a write
    [sock] = [s for s in sockets(server) if s.conn is not None and s.conn.seat == 0]
    transport = a.writer.transport
    assert isinstance(transport, asyncio.Transport)
    transport.pause_reading()  # never read what the server sends
    most = 0
    loop = asyncio.get_running_loop()
    until = loop.time() + 3
    with contextlib.suppress(ConnectionError):
        while loop.time() < until and not sock.transport.is_closing():
            a.writer.write(ping)
            with contextlib.suppress(TimeoutError):  # the server stopped reading us: good
                await asyncio.wait_for(a.writer.drain(), 0.05)
            most = max(most, sock.transport.get_write_buffer_size())
    # Before: every ping's pong went to the transport, as many bytes as the pings, and
    # the flood was read for as long as it lasted. Now: one pong per read, and past the
    # message rate the line is closed (1008).
    assert most < 64 * 1024, most
    assert sock.transport.is_closing()
    b.send_message({"t": "ping", "id": 7})
    assert await b.message("pong") == {"t": "pong", "id": 7}


async def test_pings_past_the_message_rate_close_1008(server: LiveServer) -> None:
    _, a, _ = await started(server)
    a.send(encode_frame(OP_PING, b"", mask=True) * 100)
    code, reason = await a.closed()
    assert (code, reason) == (1008, "too many pings and pongs")


async def test_connections_past_the_limit_close_1008(server: LiveServer) -> None:
    room, token, _ = await seated(server)
    codes = []
    for _ in range(22):
        raw, head = await Raw.open(server.port, f"/ws/rooms/{room.id}", extra=token_header(token))
        assert head.startswith(b"HTTP/1.1 101")
        raw.send(close_frame(1000, mask=True))
        while (frame := await raw.frame())[0] != OP_CLOSE:
            pass
        codes.append(parse_close(frame[1])[0])
    assert codes[:20] == [1000] * 20 and codes[20:] == [1008, 1008]


# 2. Fragments -------------------------------------------------------------------------


def test_a_message_in_too_many_fragments_is_refused_1009() -> None:
    reader = FrameReader(masked=True, max_size=1 << 16)
    stream = fragment(OP_BINARY, b"", fin=False)
    stream += fragment(OP_CONT, b"", fin=False) * (MAX_FRAGMENTS - 2)
    assert reader.feed(stream + fragment(OP_CONT, b"x", fin=True)) == [(OP_BINARY, b"x")]
    with pytest.raises(FrameError) as failed:
        reader.feed(stream + fragment(OP_CONT, b"", fin=False) * 2)
    assert failed.value.code == 1009


async def test_a_fragment_flood_is_closed_1009(server: LiveServer) -> None:
    _, a, b = await started(server)
    a.send(fragment(OP_BINARY, b"", fin=False) + fragment(OP_CONT, b"", fin=False) * 1000)
    code, _ = await a.closed()
    assert code == 1009
    b.send_message({"t": "ping", "id": 1})
    assert await b.message("pong") == {"t": "pong", "id": 1}


# 3. Before the handshake ----------------------------------------------------------------


@pytest.fixture
async def quick() -> LiveServer:  # type: ignore[misc]
    async with live_server(Settings(request_timeout=0.5)) as srv:
        yield srv


async def test_a_silent_connection_is_dropped(quick: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick.port)
    started_at = time.monotonic()
    assert await closed_by_server(reader, 3) == b""
    assert time.monotonic() - started_at < 2
    writer.close()


async def test_a_slow_request_gets_408(quick: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", quick.port)
    request = b"GET /ws/rooms/r_x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"

    async def trickle() -> None:
        for byte in request:
            writer.write(bytes((byte,)))
            await asyncio.sleep(0.05)

    task = asyncio.create_task(trickle())
    answer = await closed_by_server(reader, 3)
    task.cancel()
    assert answer.startswith(b"HTTP/1.1 408")
    writer.close()


@pytest.mark.parametrize("path", ["/api/games", "/ws/rooms/r_x"])
async def test_an_endless_header_line_gets_431(
    server: LiveServer, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "X-Long: ".encode()
    )

    async def endless() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(64):  # 1 MiB, never ending the line
                writer.write(b"a" * 16384)
                await writer.drain()

    task = asyncio.create_task(endless())
    answer = await reader.readuntil(b"\r\n\r\n")
    await task
    assert answer.startswith(b"HTTP/1.1 431")
    writer.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_websocket_header_line_over_8_kib_gets_431_once(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    assert MAX_HEAD > 9000  # within the HTTP bound; over websockets' line limit
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"GET /ws/rooms/r_x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n"
    )
    answer = await closed_by_server(reader, 5)
    assert answer.startswith(b"HTTP/1.1 431") and answer.count(b"HTTP/1.1") == 1
    writer.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_over_the_limit_gets_413(server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 3000000\r\n\r\n"
    )

    async def body() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(40):
                writer.write(b" " * 65536)
                await writer.drain()

    task = asyncio.create_task(body())
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    await task
    assert answer.startswith(b"HTTP/1.1 413")
    writer.close()


# 4. Only whole frames prove a client alive -----------------------------------------------


async def test_a_trickled_frame_does_not_keep_the_heartbeat_happy() -> None:
    async with live_server(Settings(ping_interval=0.3, ping_timeout=0.3)) as srv:
        _, a, _ = await started(srv)
        frame = encode_frame(OP_BINARY, b"x" * 1000, mask=True)

        async def trickle() -> None:
            for byte in frame:
                a.send(bytes((byte,)))
                await asyncio.sleep(0.05)

        task = asyncio.create_task(trickle())
        try:
            code, reason = await asyncio.wait_for(a.closed(), 30)  # the trickle takes 50 s
        finally:
            task.cancel()
        assert (code, reason) == (1011, "keepalive ping timeout")


# 5. Segments ------------------------------------------------------------------------------


async def test_what_came_before_a_violation_in_the_same_segment_is_answered(
    server: LiveServer,
) -> None:
    _, a, _ = await started(server)
    a.send(
        encode_frame(OP_PING, b"first", mask=True)
        + encode_frame(OP_BINARY, b"\x81\xa1t\xa4ping", mask=True)
        + encode_frame(OP_BINARY, b"unmasked")
    )
    seen = []
    while (frame := await a.frame())[0] != OP_CLOSE:
        seen.append(frame)
    assert (OP_PONG, b"first") in seen
    assert any(op == OP_BINARY and b"pong" in payload for op, payload in seen)
    assert parse_close(frame[1])[0] == 1002


async def test_bytes_after_a_close_frame_are_not_read(server: LiveServer) -> None:
    _, a, _ = await started(server)
    a.send(close_frame(1000, "bye", mask=True) + b"\xff\xff garbage after the close")
    while (frame := await a.frame())[0] != OP_CLOSE:
        pass
    assert parse_close(frame[1])[0] == 1000
    assert await a.eof()


# 6. Text frames ------------------------------------------------------------------------------


async def test_a_text_frame_that_is_not_utf8_is_closed_1007(server: LiveServer) -> None:
    _, a, b = await started(server)
    a.send(encode_frame(OP_TEXT, b"\xc3\x28 not utf-8", mask=True))
    code, _ = await a.closed()
    assert code == 1007
    b.send_message({"t": "ping", "id": 2})
    assert await b.message("pong") == {"t": "pong", "id": 2}


# 7. Refused sockets -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["4401", "4403", "4404"])
async def test_a_refused_socket_ends_when_the_client_answers_its_close(
    server: LiveServer, case: str
) -> None:
    room, token, _ = await seated(server)
    path = f"/ws/rooms/{room.id}"
    if case == "4401":
        extra = token_header("not-a-token")
    elif case == "4404":
        path, extra = "/ws/rooms/r_none", token_header(token)
    else:
        private = await server.services.rooms.create("tictactoe", private=True)
        other, _ = await server.services.sessions.create("Eve")
        path, extra = f"/ws/rooms/{private.id}", token_header(other)
    raw, head = await Raw.open(server.port, path, extra=extra)
    assert head.startswith(b"HTTP/1.1 101")
    started_at = time.monotonic()
    code, _ = await raw.closed()  # answers the close
    assert code == int(case)
    assert await raw.eof(timeout=2)
    assert time.monotonic() - started_at < 1  # not the 5 s close timeout


# 9. Handshakes RFC 6455 refuses -------------------------------------------------------------------


async def test_an_http_10_upgrade_is_refused(server: LiveServer) -> None:
    room, token, _ = await seated(server)
    _, head = await Raw.open(
        server.port, f"/ws/rooms/{room.id}", extra=token_header(token), version="HTTP/1.0"
    )
    assert head.split(b" ")[1] == b"400"


async def test_an_unsupported_version_gets_426_naming_13(server: LiveServer) -> None:
    head = await http_head(
        server.port,
        b"GET /ws/rooms/r_x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 8\r\n\r\n",
    )
    assert head.startswith(b"HTTP/1.1 426")
    assert b"\r\nsec-websocket-version: 13\r\n" in head.lower()
