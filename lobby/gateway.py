"""The room WebSocket: the handshake's checks, then frames in and out.

Per connection, one reader (this handler); ``Connection`` writes. The
reader enforces the frame rules (binary, size, rate) and decodes; the room does the
rest. Nothing a client sends can raise out of here: a bad frame gets an ``err``, a
flood gets 1008, an oversize frame 1009.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.types import Message

from game.codec import DecodeError, decode
from game.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    SUBPROTOCOL,
    TOKEN_PREFIX,
)
from lobby.connection import Connection
from lobby.metrics import Stats
from lobby.origins import origin_allowed
from lobby.ratelimit import TokenBucket
from lobby.rooms import RoomError
from lobby.services import Services

log = logging.getLogger("meeple.gateway")
router = APIRouter()


def _offered(websocket: WebSocket) -> list[str]:
    header = websocket.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def _token(websocket: WebSocket, offered: list[str]) -> str | None:
    for protocol in offered:
        if protocol.startswith(TOKEN_PREFIX):
            return protocol[len(TOKEN_PREFIX) :]
    return websocket.query_params.get("token")


def _int_param(websocket: WebSocket, name: str) -> int | None:
    raw = websocket.query_params.get(name)
    if raw is None or not raw.lstrip("-").isdigit():
        return None
    return int(raw)


@router.websocket("/ws/rooms/{room_id}")
async def room_socket(websocket: WebSocket, room_id: str) -> None:
    services: Services = websocket.app.state.services
    settings = services.settings
    if not origin_allowed(
        websocket.headers.get("origin"), websocket.headers.get("host"), settings.origins
    ):
        await websocket.close(CLOSE_POLICY, "origin not allowed")  # before accept: HTTP 403
        return
    offered = _offered(websocket)
    token = _token(websocket, offered)
    session = await services.sessions.get(token) if token else None
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    if session is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "missing, unknown or expired session token")
        return
    target = await services.rooms.locate(room_id)
    if target is None:
        await websocket.close(CLOSE_NOT_FOUND, f"no room {room_id}")
        return
    conn = Connection(
        websocket,
        session.player_id,
        session.name,
        max_queue=settings.send_queue,
        messages=TokenBucket(settings.message_rate, settings.message_burst),
        chat=TokenBucket(settings.chat_rate, settings.chat_burst),
        refusals=TokenBucket(settings.refusal_rate, settings.refusal_burst),
        stats=services.rooms.stats,
    )
    since = _int_param(websocket, "since")
    invite = websocket.query_params.get("invite")
    if isinstance(target, str):
        # The room is owned by another process: this one relays.
        cluster = services.cluster
        assert cluster is not None
        await cluster.attach_remote(conn, room_id, target, since, invite)
        try:
            await _read(websocket, conn, cluster.forward, settings.max_frame, conn.stats)
        finally:
            cluster.detach_remote(conn)
            conn.close(1000, "")
            await conn.wait_closed()
        return
    room = target
    try:
        room.attach(conn, since, invite)
    except RoomError as exc:
        conn.close(CLOSE_FORBIDDEN, exc.message)
        await conn.wait_closed()
        return
    context = {"room": room.id, "seat": conn.seat, "conn": conn.id, "player": conn.player_id}
    log.info("connected", extra=context)
    try:
        await _read(websocket, conn, room.handle, settings.max_frame, conn.stats)
    finally:
        room.detach(conn)
        conn.close(1000, "")
        await conn.wait_closed()
        log.info("disconnected", extra=context)


async def _read(
    websocket: WebSocket,
    conn: Connection,
    handle: Callable[[Connection, dict[str, Any]], None],
    max_frame: int,
    stats: Stats,
) -> None:
    """Read frames until the client goes; only frame-level rules are checked here."""
    receive = websocket.receive
    clock = time.perf_counter
    stats.connections += 1
    try:
        await _read_frames(receive, conn, handle, max_frame, stats, clock)
    finally:
        stats.connections -= 1


async def _read_frames(
    receive: Callable[[], Awaitable[Message]],
    conn: Connection,
    handle: Callable[[Connection, dict[str, Any]], None],
    max_frame: int,
    stats: Stats,
    clock: Callable[[], float],
) -> None:
    while not conn.closed:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        stats.frames_in += 1
        if data is None:
            conn.error(None, "text_frame", "frames must be binary MessagePack, not text")
            continue
        if len(data) > max_frame:
            conn.close(CLOSE_TOO_BIG, f"frame over {max_frame} bytes")
            return
        stats.bytes_in += len(data)
        started = clock()
        try:
            decoded = decode(data, max_frame)
        except DecodeError as exc:
            conn.error(None, "bad_frame", str(exc))
            continue
        kind = decoded.get("t")
        if kind != "move" and not conn.messages.allow():
            conn.error(decoded.get("id"), "rate_limited", "too many messages; slow down")
            continue
        try:
            handle(conn, decoded)
        except Exception:  # contained: one bad room must not take the server down
            log.exception("room handler failed on %r", decoded.get("t"))
            conn.error(decoded.get("id"), "internal", "the server failed on this message")
        if kind == "move":
            stats.observe_move(clock() - started)
