"""The room socket below ASGI (lobby/gateway.py) against a real uvicorn, with a raw TCP
client: what framing allows (fragments, pings), what it forbids (and the
close code that says so), the handshake's refusals, and going away in both directions.

test_gateway.py covers the messages; here it is the bytes under them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from typing import Any

import pytest

from meeple.game.codec import decode, encode
from meeple.lobby.edge.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    FrameReader,
    close_frame,
    encode_frame,
    parse_close,
)
from meeple.lobby.rooms.room import Room
from tests.conftest import MakeSettings, of_type, open_peer
from tests.servers import LiveServer, live_server

pytestmark = pytest.mark.both_stores
"""On the in-memory stores and on Redis: the two forms users deploy."""


class Raw:
    """A WebSocket client that writes exactly the bytes a test asks for."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader(masked=False, max_size=1 << 20)
        self.pending: list[tuple[int, bytes]] = []

    @classmethod
    async def open(
        cls, port: int, path: str, *, extra: str = "", version: str = "HTTP/1.1"
    ) -> tuple[Raw, bytes]:
        """Connect and send the handshake (``extra``: more header lines, each ending in
        CRLF); the client and the server's HTTP response head."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET {path} {version}\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n{extra}"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        return cls(reader, writer), head

    def send(self, frame: bytes) -> None:
        self.writer.write(frame)

    def send_message(self, message: dict[str, Any]) -> None:
        self.send(encode_frame(OP_BINARY, encode(message), mask=True))

    async def frame(self, timeout: float = 5) -> tuple[int, bytes]:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.pending += self.frames.feed(data)
        return self.pending.pop(0)

    async def message(self, kind: str, timeout: float = 5) -> dict[str, Any]:
        """The next binary message of type ``kind`` (others are skipped)."""
        while True:
            opcode, payload = await self.frame(timeout)
            if opcode == OP_BINARY and decode(payload)["t"] == kind:
                return decode(payload)

    async def closed(self) -> tuple[int, str]:
        """Read until the server's close frame; answer it and return its code and reason."""
        while True:
            opcode, payload = await self.frame()
            if opcode == OP_CLOSE:
                code, reason = parse_close(payload)
                with contextlib.suppress(ConnectionError):
                    self.send(close_frame(code, mask=True))
                return code, reason

    async def eof(self, timeout: float = 5) -> bool:
        """Whether the server ends the TCP connection within ``timeout``."""
        try:
            while await asyncio.wait_for(self.reader.read(65536), timeout):
                pass
        except (TimeoutError, ConnectionError):
            return False
        return True


def token_header(token: str) -> str:
    """The header line that carries a session token (how the SDK sends it)."""
    return f"Sec-WebSocket-Protocol: meeple.v1, token.{token}\r\n"


async def seated(srv: LiveServer) -> tuple[Room, str, str]:
    """A waiting tic-tac-toe room with two players' seats reserved; their tokens."""
    room = await srv.services.rooms.create("tictactoe")
    tokens = []
    for name in ("Ada", "Bo"):
        token, session = await srv.services.sessions.create(name)
        room.reserve(session.player_id, name)
        tokens.append(token)
    return room, tokens[0], tokens[1]


async def started(srv: LiveServer) -> tuple[Room, Raw, Raw]:
    room, a_token, b_token = await seated(srv)
    raws = []
    for token in (a_token, b_token):
        raw, head = await Raw.open(srv.port, f"/ws/rooms/{room.id}", extra=token_header(token))
        assert head.startswith(b"HTTP/1.1 101")
        raws.append(raw)
    for raw in raws:
        while (await raw.message("snap"))["st"] != "playing":
            pass
    return room, raws[0], raws[1]


async def test_a_fragmented_move_is_one_message(server: LiveServer) -> None:
    room, a, b = await started(server)
    data = encode({"t": "move", "id": 1, "m": {"cell": 4}})
    first = bytearray(encode_frame(OP_BINARY, data[:5], mask=True))
    first[0] &= 0x7F  # not the last fragment
    a.send(bytes(first) + encode_frame(OP_CONT, data[5:], mask=True))
    delta = await a.message("d")
    assert delta["ack"] == 1 and delta["o"] == [[["b", 4], 0]]
    assert (await b.message("d"))["s"] == delta["s"] == room.match.seq


async def test_a_websocket_ping_gets_its_pong(server: LiveServer) -> None:
    _, a, _ = await started(server)
    a.send(encode_frame(OP_PING, b"are you there", mask=True))
    while (frame := await a.frame())[0] != OP_PONG:
        pass
    assert frame == (OP_PONG, b"are you there")


@pytest.mark.parametrize(
    "bad",
    [
        encode_frame(OP_BINARY, encode({"t": "ping"})),  # a client frame must be masked
        bytes((0xC2, 0x80)) + b"\0\0\0\0",  # reserved bit set, no extension agreed
        encode_frame(OP_CLOSE, b"\x03\xed", mask=True),  # close code 1005 may not be sent
    ],
)
async def test_broken_framing_closes_1002_and_changes_nothing(
    server: LiveServer, bad: bytes
) -> None:
    room, a, b = await started(server)
    seq = room.match.seq
    a.send(bad)
    code, _ = await a.closed()
    assert code == 1002
    assert await a.eof()
    b.send_message({"t": "ping", "id": 5})
    assert await b.message("pong") == {"t": "pong", "id": 5}
    assert room.match.seq == seq


async def test_a_client_close_is_answered_and_the_seat_shows_off(server: LiveServer) -> None:
    room, a, b = await started(server)
    a.send(close_frame(1000, "bye", mask=True))
    while (frame := await a.frame())[0] != OP_CLOSE:
        pass  # what was on its way before the close
    assert frame == (OP_CLOSE, (1000).to_bytes(2, "big"))
    assert await a.eof()
    while (update := await b.message("room"))["seats"][0]["on"] is not False:
        pass
    assert update["seats"][1]["on"] is True and room.match.seats[0].player_id is not None


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ws/elsewhere", b"404"), ("/ws/rooms/", b"404"), ("/ws/rooms/a/b", b"404")],
)
async def test_no_socket_outside_the_room_paths(
    server: LiveServer, path: str, status: bytes
) -> None:
    _, head = await Raw.open(server.port, path)
    assert head.split(b" ")[1] == status


async def test_a_handshake_without_its_key_is_400(server: LiveServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"GET /ws/rooms/r_x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.split(b" ")[1] == b"400"
    writer.close()


async def test_stopping_the_server_closes_sockets_1001(stores: MakeSettings) -> None:
    async with live_server(stores()) as srv:
        _, a, _ = await started(srv)
    code, reason = await a.closed()
    assert code == 1001 and "shutting down" in reason


@pytest.mark.server_errors("a room WebSocket reached the ASGI app")  # what the test provokes
async def test_served_without_the_room_socket_it_says_so(stores: MakeSettings) -> None:
    async with live_server(stores(), plain_websockets=True) as srv:
        room = await srv.services.rooms.create("tictactoe")
        token, _ = await srv.services.sessions.create("Ada")
        peer = await open_peer(srv.ws, room.id, token)
        code, reason = await peer.closed()
        assert code == 1011 and reason and "not set up for room sockets" in reason


async def test_a_spectator_over_the_sdk_and_a_raw_player_agree(server: LiveServer) -> None:
    room, a, b = await started(server)
    token, _ = await server.services.sessions.create("Watcher")
    watcher = await open_peer(server.ws, room.id, token)
    await watcher.until(of_type("snap"))
    a.send_message({"t": "move", "id": 3, "m": {"cell": 0}})
    mine, theirs = await a.message("d"), await watcher.until(of_type("d"))
    assert {k: v for k, v in mine.items() if k != "ack"} == theirs
    assert (await b.message("d")) == theirs
