"""The room WebSocket, served below ASGI: handshake checks, then frames in and out.

uvicorn hands every WebSocket upgrade to the protocol class it is configured with
(``lobby.server`` configures this one). ``RoomSocket`` owns its transport: a frame
that arrives is parsed (``meeple.lobby.edge.frames``), decoded and given to the room within
the same ``data_received`` call, with no queue or task switch on the way, and the
frames it causes go out as one ``write`` per connection when the loop turn ends
(``meeple.lobby.edge.connection.Outbox``). Through ASGI every frame took an ``asyncio.Queue``
hand-off in and three layers of coroutines out: most of the server's CPU.

The handshake itself is ``websockets``' (``ServerProtocol``): HTTP parsing, the
accept key, subprotocols. Then the checks: the Origin (refused with HTTP 403), the
session token and the room (accepted, then closed with 4401 or 4404, because a browser
cannot read an HTTP refusal). Nothing a client sends can raise out of here: a bad
message gets an ``err``, a flood 1008, an oversize frame 1009, broken framing 1002.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, unquote

from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from meeple.game.codec import DecodeError, decode
from meeple.game.protocol import (
    CLIENT_TYPES,
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_MOVED,
    CLOSE_NOT_FOUND,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    SUBPROTOCOL,
    TOKEN_PREFIX,
)
from meeple.lobby.edge.connection import Connection
from meeple.lobby.edge.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    close_frame,
    encode_frame,
    parse_close,
)
from meeple.lobby.edge.origins import origin_allowed
from meeple.lobby.ratelimit import TokenBucket
from meeple.lobby.rooms.room import Room, RoomError

if TYPE_CHECKING:
    from uvicorn import Config
    from uvicorn.server import ServerState

    from meeple.lobby.services import Services
    from meeple.lobby.stores.base import Session

log = logging.getLogger("meeple.gateway")

TURN_PACED = frozenset({"move", "moves"})
"""Messages the game's turns pace (the room refuses a second ``moves`` in one turn),
left out of the per-connection message rate."""

ROOM_PATH = "/ws/rooms/"
WEBSOCKET_VERSION = "13"
AFTER_CLOSE = 64
"""Messages read and ignored after our close frame before the line is dropped."""
CLOSE_TIMEOUT = 5.0
"""Seconds to wait for the peer's close frame (or for a full buffer to drain) after
sending ours, before the TCP connection is dropped."""
_PING = encode_frame(OP_PING, b"")

Handler = Callable[[Connection, dict[str, Any]], None]


def _untyped(conn: Connection, message: dict[Any, Any]) -> None:
    """A map without a string ``t``: a key that is not a string makes it no message at all."""
    if not all(type(key) is str for key in message):
        conn.error(None, "bad_frame", "a frame must hold a map with string keys")
        return
    expected = ", ".join(sorted(CLIENT_TYPES))
    conn.error(message.get("id"), "unknown_type", f"t must be one of {expected}")


def _select_subprotocol(_: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """``meeple.v1`` when offered; the ``token.…`` entries are credentials, never chosen."""
    return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None


def _offered(request: Request) -> list[str]:
    return [
        p.strip()
        for header in request.headers.get_all("Sec-WebSocket-Protocol")
        for p in header.split(",")
        if p.strip()
    ]


def _token(request: Request) -> str | None:
    """The session token from the headers: a ``token.…`` subprotocol (browsers' way) or
    ``Authorization: Bearer``. Never from the URL, which logs keep: that is for tickets."""
    for protocol in _offered(request):
        if protocol.startswith(TOKEN_PREFIX):
            return protocol[len(TOKEN_PREFIX) :]
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _session(
    services: Services, request: Request, params: dict[str, list[str]]
) -> Session | None:
    """Who connects: by connect ticket (``?ticket=``, spent here) or by session token."""
    ticket = _param(params, "ticket")
    if ticket is not None:
        return await services.connect_tickets.redeem(ticket)
    token = _token(request)
    return await services.sessions.get(token) if token else None


def _param(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


def _unauthorized(params: dict[str, list[str]]) -> str:
    if "token" in params:
        return "a session token never goes in the URL: send ?ticket= or a token.<token> subprotocol"
    if "ticket" in params:
        return "unknown, used or expired connect ticket"
    return "missing, unknown or expired session token"


def _int_param(params: dict[str, list[str]], name: str) -> int | None:
    raw = _param(params, name)
    if raw is None or not raw.lstrip("-").isdigit():
        return None
    return int(raw)


class RoomSocket(asyncio.Protocol):
    """One client's room WebSocket: uvicorn's ``ws`` protocol class for this server."""

    __slots__ = (
        "_after_close",
        "_close_timer",
        "_detach",
        "_handle",
        "_handshake",
        "_loop",
        "_lost",
        "_reader",
        "_server_state",
        "_services",
        "conn",
        "context",
        "heartbeat_slot",
        "last_heard",
        "pinged_at",
        "transport",
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._server_state = server_state
        self._services: Services | None = app_state.get("services")
        self._loop = _loop or asyncio.get_running_loop()
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.conn: Connection | None = None
        self.context: dict[str, Any] = {}
        """Log fields: room, seat, connection and player ids."""
        self._handshake: ServerProtocol | None = None
        self._reader: FrameReader | None = None
        """Set once the handshake is answered with 101: frames may come."""
        self._handle: Handler | None = None
        self._detach: Callable[[Connection], None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._lost = False
        self._after_close = 0
        self.last_heard = 0.0
        self.pinged_at = 0.0
        self.heartbeat_slot = 0

    # asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._server_state.connections.add(self)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        handle = self._handle
        if handle is None:
            self._not_open(data)
            return
        reader = self._reader
        conn = self.conn
        assert reader is not None and conn is not None  # set with _handle
        if data[0] == 0x8A and len(data) == 6 and data[1] == 0x80 and reader.idle:
            # A bare pong, the answer to our heartbeat: hearing it was the point.
            self.last_heard = self._loop.time()
            self.pinged_at = 0.0
            if not conn.messages.allow():
                self._fail(CLOSE_POLICY, "too many pings and pongs")
            return
        error: FrameError | None = None
        try:
            frames = reader.feed(data)
        except FrameError as exc:
            frames, error = exc.frames, exc
        if frames:  # only a whole frame proves the peer alive, not a trickle of bytes
            self.last_heard = self._loop.time()
            self.pinged_at = 0.0
        ping: bytes | None = None
        for opcode, payload in frames:
            if opcode == OP_BINARY:
                if not conn.closed:
                    self._message(conn, handle, payload)
                elif self._ignored(conn):  # our close is out: only the peer's matters
                    return
            elif opcode == OP_CLOSE:
                self._peer_closed(payload)
                return
            elif opcode == OP_TEXT:
                self._text()
            elif not conn.messages.allow():  # pings and pongs are paced like messages
                error = FrameError(CLOSE_POLICY, "too many pings and pongs")
                break
            elif opcode == OP_PING:
                ping = payload  # one pong answers them all (RFC 6455, 5.5.3)
            # a pong: hearing it was the point
        if ping is not None and not conn.closed:
            self.transport.write(encode_frame(OP_PONG, ping))
        if error is not None:
            self._fail(error.code, error.reason)

    def _ignored(self, conn: Connection) -> bool:
        """A message after our close frame: ignored, up to ``AFTER_CLOSE`` of them; then
        the line is dropped rather than read for the whole close timeout."""
        conn.stats.frames_in += 1
        self._after_close += 1
        if self._after_close > AFTER_CLOSE:
            self.transport.close()
            return True
        return False

    def _not_open(self, data: bytes) -> None:
        """Bytes before the socket is open: the handshake (which uvicorn hands over as
        the first data). Reading is paused until the socket is admitted, and a client
        must not send before the answer (RFC 6455, 4.1), so anything else is ignored;
        on a socket refused after the handshake (4401, 4403, 4404) the client's close
        frame (or anything it sends) ends the line at once."""
        if self._reader is not None:
            # Refused: its close reply, or anything else it had no call to send, ends the
            # line; none of it needs reading.
            self.transport.close()
        elif self._handshake is None and not self._lost:
            self._start_handshake(data)

    def eof_received(self) -> bool | None:
        return None  # the transport closes; connection_lost follows

    def pause_writing(self) -> None:
        """The client reads less than it makes us write: read nothing more from it until
        it catches up, so that no request of its (a ping, say) can grow our buffers."""
        if self.conn is not None:
            self.conn.pause_writing()
        if not self.transport.is_closing():
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.conn is not None:
            self.conn.resume_writing()
        if not self.transport.is_closing() and self._handle is not None:
            self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self._server_state.connections.discard(self)
        conn = self.conn
        if conn is None or self._detach is None:
            return
        services = self._services
        assert services is not None
        services.heartbeat.discard(self)
        services.rooms.stats.connections -= 1
        services.presence.closed(conn.player_id)
        conn.closed = True
        try:
            self._detach(conn)
        except Exception:
            log.exception("detaching a connection failed", extra=self.context)
        log.info("disconnected", extra=self.context)

    # uvicorn -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """The server is stopping: say so to an open socket, drop one still being admitted."""
        self._end(CLOSE_GOING_AWAY, "the server is shutting down")

    # The heartbeat (edge.heartbeat) ------------------------------------------------------

    def ping(self) -> None:
        if self._close_timer is None:
            self.transport.write(_PING)

    def ping_timed_out(self) -> None:
        log.info("keepalive ping timeout", extra=self.context)
        if self.conn is not None:
            self.conn.close(CLOSE_INTERNAL, "keepalive ping timeout")
        # The peer is not answering: do not wait for its close frame, nor for it to read
        # what we hold for it.
        transport = self.transport
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()

    # Connection's side --------------------------------------------------------------------

    def closing(self) -> None:
        """Our close frame is written: wait a while for the peer's, then drop the line."""
        if self._close_timer is None and not self._lost:
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self.transport.abort)

    # The handshake ------------------------------------------------------------------------

    def _start_handshake(self, data: bytes) -> None:
        handshake = self._handshake = ServerProtocol(select_subprotocol=_select_subprotocol)
        handshake.receive_data(data)
        events = handshake.events_received()
        request = events[0] if events else None
        if not isinstance(request, Request):
            # websockets refused the bytes: with its own answer when it has one (431 for
            # a header line over 8 KiB, 414 for a long request line), else ours.
            answer = b"".join(handshake.data_to_send())
            if not answer:
                answer = handshake.reject(400, "a WebSocket handshake was expected\n").serialize()
            self.transport.write(answer)
            self._handshake = None
            self.transport.close()
            return
        services = self._services
        if services is None:
            self._refuse(503, "the server is starting or stopping")
            return
        path, _, query = request.path.partition("?")
        room_id = unquote(path[len(ROOM_PATH) :]) if path.startswith(ROOM_PATH) else ""
        if not room_id or "/" in room_id:
            self._refuse(404, "no WebSocket here; rooms are at /ws/rooms/{room_id}")
            return
        headers = request.headers
        if not origin_allowed(
            headers.get("Origin"), headers.get("Host"), services.settings.origins
        ):
            self._refuse(403, "origin not allowed")  # before accept: HTTP 403
            return
        versions = headers.get_all("Sec-WebSocket-Version")
        if versions and versions != [WEBSOCKET_VERSION]:
            refusal = handshake.reject(426, f"this server speaks WebSocket {WEBSOCKET_VERSION}\n")
            refusal.headers["Sec-WebSocket-Version"] = WEBSOCKET_VERSION  # RFC 6455, 4.4
            self._answer(refusal, close=True)
            return
        response = handshake.accept(request)
        if response.status_code != 101:
            self._answer(response, close=True)
            return
        self.transport.pause_reading()
        task = asyncio.get_running_loop().create_task(
            self._admit(services, request, response, room_id, parse_qs(query))
        )
        tasks = self._server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def _refuse(self, status: int, text: str) -> None:
        assert self._handshake is not None
        self._answer(self._handshake.reject(status, text + "\n"), close=True)

    def _answer(self, response: Response, *, close: bool = False) -> None:
        handshake = self._handshake
        assert handshake is not None
        handshake.send_response(response)
        self.transport.write(b"".join(handshake.data_to_send()))
        self._handshake = None  # its parser and buffers are not needed any more
        if close:
            self.transport.close()

    async def _admit(
        self,
        services: Services,
        request: Request,
        response: Response,
        room_id: str,
        params: dict[str, list[str]],
    ) -> None:
        """Who is this and which room: then accept, and join the room (or close saying why)."""
        try:
            session = await _session(services, request, params)
            target: Room | str | RoomError | None
            try:
                target = await services.rooms.locate(room_id) if session is not None else None
            except RoomError as exc:  # no process can host the room now (its game)
                target = exc
            if self._lost:
                return
            self._answer(response)
            settings = services.settings
            self._reader = FrameReader(masked=True, max_size=settings.max_frame)
            if session is None:
                self._close(CLOSE_UNAUTHORIZED, _unauthorized(params))
                return
            if not services.limits.allow("connections", session.player_id):
                self._close(CLOSE_POLICY, "too many connections; wait a few seconds")
                return
            if target is None:
                self._close(CLOSE_NOT_FOUND, f"no room {room_id}")
                return
            if isinstance(target, RoomError):
                self._close(CLOSE_TRY_AGAIN, target.message)
                return
            conn = Connection(
                self,
                services.outbox,
                session.player_id,
                session.name,
                max_queue=settings.send_queue,
                messages=TokenBucket(settings.message_rate, settings.message_burst),
                chat=TokenBucket(settings.chat_rate, settings.chat_burst),
                refusals=TokenBucket(settings.refusal_rate, settings.refusal_burst),
                stats=services.rooms.stats,
            )
            since, game = _int_param(params, "since"), _int_param(params, "game")
            invite = _param(params, "invite")
            if invite is not None and not services.limits.allow("invite attempts", conn.player_id):
                conn.close(CLOSE_POLICY, "too many invite attempts; wait a minute")
                return
            if isinstance(target, str):  # another process owns the room: relay to it
                cluster = services.cluster
                assert cluster is not None
                self._start(services, conn, cluster.forward, cluster.detach_remote)
                await cluster.attach_remote(conn, room_id, target, since, invite, game)
            else:
                try:
                    target.attach(conn, since, invite, game)
                except RoomError as exc:
                    code = CLOSE_MOVED if exc.code == "moved" else CLOSE_FORBIDDEN
                    conn.close(code, exc.message)
                    return
                self._start(services, conn, target.handle, target.detach)
            self.context = {"room": room_id, "seat": conn.seat, "conn": conn.id}
            self.context["player"] = conn.player_id
            log.info("connected", extra=self.context)
        except Exception:
            log.exception("admitting a connection to room %.64r failed", room_id)
            self._end(CLOSE_INTERNAL, "the server failed to admit this connection")
        finally:
            if not self._lost:
                self.transport.resume_reading()

    def _start(
        self,
        services: Services,
        conn: Connection,
        handle: Handler,
        detach: Callable[[Connection], None],
    ) -> None:
        self.conn = conn
        self._handle = handle
        self._detach = detach
        services.rooms.stats.connections += 1
        services.presence.opened(conn.player_id)
        self.last_heard = self._loop.time()
        services.heartbeat.add(self)

    # Frames ---------------------------------------------------------------------------------

    def _message(self, conn: Connection, handle: Handler, data: bytes) -> None:
        """One binary message: only frame-level rules are checked here, the room does the rest."""
        stats = conn.stats
        stats.frames_in += 1
        stats.bytes_in += len(data)
        started = perf_counter()
        try:
            decoded = decode(data, len(data))
        except DecodeError as exc:
            conn.error(None, "bad_frame", str(exc))
            return
        kind = decoded.get("t")
        typed = type(kind) is str  # a list or map as t is no type (nor hashable)
        if not (typed and kind in TURN_PACED) and not conn.messages.allow():
            conn.error(decoded.get("id"), "rate_limited", "too many messages; slow down")
            return
        if not typed:
            _untyped(conn, decoded)
            return
        try:
            handle(conn, decoded)
        except Exception:  # contained: one bad room must not take the server down
            # Never the message itself: what a client sends is logged by size and kind.
            shown = kind if kind in CLIENT_TYPES else "unknown"
            log.exception(
                "room handler failed on a %s message (%d bytes)",
                shown,
                len(data),
                extra=self.context,
            )
            conn.error(decoded.get("id"), "internal", "the server failed on this message")
        if kind == "move":
            stats.observe_move(perf_counter() - started)

    def _text(self) -> None:
        conn = self.conn
        assert conn is not None
        if not conn.closed:
            conn.stats.frames_in += 1
            conn.error(None, "text_frame", "frames must be binary MessagePack, not text")

    def _peer_closed(self, payload: bytes) -> None:
        """The peer's close frame: answer it (unless it answers ours) and end the line."""
        if self.conn is not None and not self.conn.closed:
            self.conn.closed = True
            try:
                code, _ = parse_close(payload)
            except FrameError as exc:
                code = exc.code
            self.transport.write(close_frame(code))
        elif self._close_timer is None:
            self.transport.write(close_frame(1000))
        self.transport.close()

    def _close(self, code: int, reason: str) -> None:
        """Close a socket that has no connection (not admitted, or refused)."""
        self.transport.write(close_frame(code, reason))
        self.closing()

    def _end(self, code: int, reason: str) -> None:
        """Close through the connection (after what it keeps), with a bare close frame if
        the socket is open without one, or by dropping a line not open yet."""
        if self.conn is not None:
            self.conn.close(code, reason)
        elif self._reader is not None:
            self._close(code, reason)
        else:
            self.transport.close()

    def _fail(self, code: int, reason: str) -> None:
        """The peer broke the framing: say how, and end the line without waiting for it."""
        log.info("closing %s: %s", code, reason, extra=self.context)
        self._end(code, reason)
        self.transport.close()
