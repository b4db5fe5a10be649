"""One room's WebSocket: the local game state, moves and their acks, heartbeats, resuming.

The protocol logic is plain methods with no I/O: ``handle(message)`` takes one decoded
server message, updates the state and queues any reply in ``outbox``;
``handle_close(code, reason)`` decides whether to reconnect. A thin loop
(``open``/``_run``) moves frames between those and the socket, sends heartbeats and
reconnects with backoff. So the state machine is tested without a network, and the
loop stays small enough to read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.typing import Subprotocol

from meeple.client.errors import ApiError, ClientError
from meeple.game.codec import DecodeError, decode, encode
from meeple.game.delta import apply_delta
from meeple.game.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_NORMAL,
    CLOSE_NOT_FOUND,
    CLOSE_REPLACED,
    CLOSE_UNAUTHORIZED,
    MAX_FRAME,
    SUBPROTOCOL,
    TOKEN_PREFIX,
    AckMsg,
    ChatOut,
    ChatsOut,
    Clocks,
    DeltaMsg,
    ErrMsg,
    MovesOut,
    PongMsg,
    Result,
    RoomMsg,
    SeatInfo,
    SnapMsg,
    server_message,
)

log = logging.getLogger("meeple.client")

Status = Literal["waiting", "playing", "finished"]

TERMINAL_CLOSES = frozenset(
    {CLOSE_NORMAL, CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_REPLACED}
)
"""Close codes after which reconnecting cannot help: we left, or we are not wanted."""

ABNORMAL_CLOSE = 1006
"""What the socket reports when it dropped without a close frame."""


class MoveRejected(ClientError):
    """The server refused a move (``err``); nothing changed. ``code`` is stable."""

    def __init__(self, code: str, msg: str, id: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.id = id


class ConnectionLost(ClientError):
    """The connection dropped before the answer came: the move may or may not have counted.

    The connection resumes by itself; wait on the state (``wait_for``) to see what happened.
    """


class RoomClosed(ClientError):
    """The connection is over for good (we left, or the server will not have us)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"room connection closed ({code}): {reason or 'no reason given'}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The connection dropped and will be retried after ``delay`` seconds."""

    attempt: int
    delay: float
    code: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Closed:
    """The last event: the connection is over for good."""

    code: int | None
    reason: str


Event = RoomMsg | SnapMsg | DeltaMsg | ChatOut | ErrMsg | Reconnecting | Closed
"""What ``RoomConnection.events()`` yields: server messages (typed) and local happenings."""


def backoff_delay(attempt: int, rng: random.Random, base: float = 0.25, cap: float = 10.0) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, so clients spread out."""
    ceiling = min(cap, base * (1 << min(attempt, 30)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class RoomConnection:
    """A connection to one room that keeps its state current and survives drops.

    Use it as ``async with conn:`` (or ``await conn.open()`` / ``await conn.close()``).
    The attributes (``seq``, ``view``, ``change``, ``to_act``, ``status``, ``result``,
    ``deadline``, ``seats``, ``seat``) always hold the latest state;
    ``wait_for`` waits for a condition on them and ``events()`` streams what happens.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        ticket: Callable[[], Awaitable[str]] | None = None,
        heartbeat: float = 15.0,
        heartbeat_timeout: float = 10.0,
        backoff_base: float = 0.25,
        backoff_cap: float = 10.0,
        max_reconnects: int | None = None,
        open_timeout: float = 10.0,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.ticket = ticket
        """Gets a fresh connect ticket (``MeepleClient.connect_ticket``): then each
        (re)connection spends one in its URL, and the token goes only to the REST API."""
        self.heartbeat = heartbeat
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_reconnects = max_reconnects
        self.open_timeout = open_timeout
        self._rng = rng or random.Random()

        # The state, as the server last described it.
        self.room_id: str | None = None
        self.game: str | None = None
        self.seat: int | None = None
        """Our seat; None for a spectator (or before the first snapshot)."""
        self.seq: int | None = None
        """The last sequence number applied; None until the first snapshot."""
        self.game_no: int | None = None
        """The number of the game ``seq`` counts in (each rematch is one more)."""
        self.view: dict[str, Any] = {}
        self.change: list[list[Any]] | None = None
        """The operations of the last change in this game that altered ``view`` (a
        ``d``'s ``o``, or a snapshot's ``lo``): what moved last; None before the first."""
        self.to_act: list[int] = []
        self.status: Status = "waiting"
        self.result: Result | None = None
        self.deadline: int | None = None
        """The turn deadline in ms since the Unix epoch, when a turn timer runs."""
        self.clocks: Clocks | None = None
        """The room's clocks as last told (``k``), if it has any: see ``clock_left``."""
        self._clocks_at = 0.0
        """When ``clocks`` arrived (``time.monotonic``): running clocks count from then."""
        self.seats: list[SeatInfo] = []
        self.spectators = 0
        self.rematch_votes: list[int] = []
        self.chats: deque[ChatOut] = deque(maxlen=100)
        self.last_error: ErrMsg | None = None
        """The last ``err`` that answered no pending move."""

        # The connection.
        self.connected = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.outbox: deque[dict[str, Any]] = deque()
        """Messages waiting to be written; the writer drains it while connected."""
        self._closed = False
        self._failure: BaseException | None = None
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._asked: dict[int, asyncio.Future[list[dict[str, Any]]]] = {}
        """``moves`` requests waiting for their answer."""
        self._acked: list[tuple[int, int, asyncio.Future[int]]] = []
        """(game number, sequence number, future) of accepted moves not yet in the state."""
        self._syncing = False
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._closing = False
        self._last_rx = 0.0
        self._got_frame = False

    # Convenience views of the state ------------------------------------------

    @property
    def my_turn(self) -> bool:
        return self.status == "playing" and self.seat is not None and self.seat in self.to_act

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def closed(self) -> bool:
        return self._closed

    # Sending -------------------------------------------------------------------

    def move(self, m: dict[str, Any]) -> asyncio.Future[int]:
        """Send a move; await the result for its sequence number, or ``MoveRejected``.

        The future resolves only once the state includes the move, so after
        ``await conn.move(...)`` the view already shows it.
        """
        n = self._send({"t": "move", "m": m})
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[n] = future
        return future

    def legal_moves(self) -> asyncio.Future[list[dict[str, Any]]]:
        """Ask the server for our legal moves now (for a client that does not know the
        game's rules); await the list, or ``MoveRejected`` (not our turn, a spectator)."""
        n = self._send({"t": "moves"})
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._asked[n] = future
        return future

    def chat(self, text: str) -> int:
        """Say something to the room; a refusal arrives as an ``ErrMsg`` event."""
        return self._send({"t": "chat", "text": text})

    def resign(self) -> int:
        return self._send({"t": "resign"})

    def rematch(self) -> int:
        """Vote for another game once this one is over."""
        return self._send({"t": "rematch"})

    def sync(self) -> int:
        """Ask for a full snapshot."""
        self._syncing = True
        return self._send({"t": "sync"})

    def _send(self, message: dict[str, Any]) -> int:
        if self._closed:
            raise RoomClosed(self.close_code, self.close_reason)
        n = self._next_id = self._next_id + 1
        message["id"] = n
        self.outbox.append(message)
        self._wake.set()
        return n

    # The protocol core: no I/O below until the loop ---------------------------

    def handle(self, raw: dict[str, Any]) -> None:
        """Take one decoded server message: update the state, queue replies, wake waiters."""
        try:
            msg = server_message.validate_python(raw)
        except ValidationError as exc:
            log.warning("ignoring a message that breaks the protocol: %s (%s)", raw.get("t"), exc)
            return
        if isinstance(msg, DeltaMsg):
            self._on_delta(msg)
        elif isinstance(msg, SnapMsg):
            self._on_snap(msg)
        elif isinstance(msg, RoomMsg):
            self.room_id = msg.room
            self.status = msg.st
            self.seats = msg.seats
            self.spectators = msg.spec
            self.rematch_votes = msg.rematch
            self._emit(msg)
        elif isinstance(msg, AckMsg):
            self._on_ack(msg)
        elif isinstance(msg, ErrMsg):
            self._on_err(msg)
        elif isinstance(msg, ChatOut):
            self.chats.append(msg)
            self._emit(msg)
        elif isinstance(msg, ChatsOut):
            self.chats.clear()  # the room's history on (re)connect: it has every line kept
            self.chats.extend(msg.l)
        elif isinstance(msg, MovesOut):
            asked = self._asked.pop(msg.id, None) if msg.id is not None else None
            if asked is not None and not asked.done():
                asked.set_result(msg.m)
        elif isinstance(msg, PongMsg):
            pass  # liveness is any frame at all; the loop notes the time
        self._notify()

    def _on_snap(self, msg: SnapMsg) -> None:
        self.seq = msg.s
        self.game_no = msg.n
        self.room_id = msg.room
        self.game = msg.g
        self.seat = msg.seat
        self.view = msg.v
        self.change = msg.lo
        self.to_act = msg.a
        self.status = msg.st
        self.result = msg.r
        self.deadline = msg.dl
        self._set_clocks(msg.k)
        self.seats = msg.seats
        if msg.st == "playing":
            self.rematch_votes = []  # votes stand only while a game is over
        self._syncing = False
        self._settle_acks()
        self._emit(msg)

    def _on_delta(self, msg: DeltaMsg) -> None:
        if msg.ack is not None:
            self._ack(msg.ack, msg.s)  # our move: settled once the state includes it
        if self.seq is not None and msg.s <= self.seq:
            self._settle_acks()
            return  # already applied (e.g. resent while resuming)
        if self.seq is None or msg.s != self.seq + 1:
            log.info("gap in sequence numbers (have %s, got %s): resyncing", self.seq, msg.s)
            self._resync()
            return
        try:
            self.view = apply_delta(self.view, msg.o)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("delta %s does not apply (%r): resyncing", msg.s, exc)
            self._resync()
            return
        if msg.o:
            self.change = msg.o
        self.seq = msg.s
        self.to_act = msg.a
        if msg.st is not None:
            self.status = msg.st
        if msg.r is not None:
            self.result = msg.r
        self.deadline = msg.dl
        if msg.k is not None:
            self._set_clocks(msg.k)
        self._settle_acks()
        self._emit(msg)

    def _set_clocks(self, clocks: Clocks | None) -> None:
        self.clocks = clocks
        self._clocks_at = time.monotonic()

    def clock_left(self, seat: int) -> float | None:
        """Seconds ``seat`` has left now, by the server's last word and our own clock
        since (never the wall clock); None in a room without clocks."""
        clocks = self.clocks
        if clocks is None or not 0 <= seat < len(clocks.ms):
            return None
        left = clocks.ms[seat] / 1000
        if seat in clocks.run:
            left -= time.monotonic() - self._clocks_at
        return max(0.0, left)

    def _resync(self) -> None:
        if not self._syncing:
            self.sync()

    def _on_ack(self, msg: AckMsg) -> None:
        if msg.id is not None:
            self._ack(msg.id, msg.s)
            self._settle_acks()

    def _ack(self, msg_id: int, seq: int) -> None:
        """Our message ``msg_id`` was accepted as ``seq``. If we dropped the delta that
        says so (a gap), the answer waits until the snapshot brings the state up to it."""
        future = self._pending.pop(msg_id, None)
        if future is not None and self.game_no is not None:
            self._acked.append((self.game_no, seq, future))

    def _settle_acks(self) -> None:
        """Answer the moves the state now includes: those up to ``seq`` in this game,
        and every one from a game that is over (numbering starts again in each game)."""
        if self.seq is None or self.game_no is None:
            return
        game_no, seq, waiting = self.game_no, self.seq, self._acked
        self._acked = [(g, s, f) for g, s, f in waiting if g == game_no and s > seq]
        for g, s, future in waiting:
            if (g != game_no or s <= seq) and not future.done():
                future.set_result(s)

    def _on_err(self, msg: ErrMsg) -> None:
        future: asyncio.Future[Any] | None = None
        if msg.id is not None:
            future = self._pending.pop(msg.id, None) or self._asked.pop(msg.id, None)
        if future is not None:
            if not future.done():
                future.set_exception(MoveRejected(msg.code, msg.msg, msg.id))
            return
        log.info("server refused message %s: %s (%s)", msg.id, msg.code, msg.msg)
        self.last_error = msg
        self._emit(msg)

    def handle_close(self, code: int | None, reason: str) -> bool:
        """The socket closed with ``code``: fail what waited on it; True to reconnect."""
        self.connected = False
        self._syncing = False  # resuming brings us up to date instead
        terminal = self._closing or code in TERMINAL_CLOSES
        error: ClientError = (
            RoomClosed(code, reason)
            if terminal
            else ConnectionLost(f"connection dropped ({code}) before the answer came")
        )
        # Unsent messages go too: their callers are told they failed, so sending
        # them after a reconnect could make a move twice.
        self.outbox.clear()
        self._fail_pending(error)
        if terminal:
            self._finish(code, reason)
        self._notify()
        return not terminal

    def _fail_pending(self, error: BaseException) -> None:
        futures: list[asyncio.Future[Any]] = [
            *self._pending.values(),
            *self._asked.values(),
            *(f for _, _, f in self._acked),
        ]
        self._pending.clear()
        self._asked.clear()
        self._acked.clear()
        for future in futures:
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a caller who never awaits gets no warning

    def _finish(self, code: int | None, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self.close_code = code
        self.close_reason = reason
        self._fail_pending(RoomClosed(code, reason))
        self._emit(Closed(code, reason))

    def _emit(self, event: Event) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # Waiting -------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[RoomConnection], bool],
        timeout: float | None = None,  # noqa: ASYNC109 (the convenience is the point)
    ) -> None:
        """Wait until ``predicate(self)`` holds; ``RoomClosed`` if the room closes first."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                if self._failure is not None:
                    raise self._failure
                if self._closed:
                    raise RoomClosed(self.close_code, self.close_reason)
                await self._changed.wait()

    async def events(self) -> AsyncIterator[Event]:
        """What happens from now on, in order, ending with ``Closed``.

        Nothing from before the iteration started is replayed: the attributes hold
        the state so far. Each iterator gets every event; with none, none are kept.
        """
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while not (self._closed and queue.empty()):
                event = await queue.get()
                yield event
                if isinstance(event, Closed):
                    return
        finally:
            self._subscribers.discard(queue)

    # The loop: sockets, heartbeats, reconnects --------------------------------

    async def open(self) -> None:
        """Connect and return once the first snapshot is in; raise if that fails."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"meeple-room {self.url}")
        try:
            await self.wait_for(lambda c: c.seq is not None, timeout=self.open_timeout)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close without leaving the seat (the server keeps it for the grace period)."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.connected = False
        self._finish(self.close_code or CLOSE_NORMAL, self.close_reason or "closed by the client")
        self._notify()

    async def leave(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Give up the seat (resigning a game in play) and close."""
        if not self._closed:
            self._send({"t": "leave"})
            with contextlib.suppress(TimeoutError):
                await self.wait_for(lambda c: c.closed, timeout=timeout)
        await self.close()

    async def __aenter__(self) -> RoomConnection:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _url(self) -> str:
        """The URL to dial: with ``since`` and ``game`` once we have state, so we get only
        what we missed."""
        if self.seq is None or self.game_no is None:
            return self.url
        parts = urlsplit(self.url)
        resume = urlencode({"since": self.seq, "game": self.game_no})
        query = "&".join(q for q in (parts.query, resume) if q)
        return urlunsplit(parts._replace(query=query))

    async def _dial(self) -> tuple[str, list[Subprotocol]]:
        """Where to connect and with which subprotocols: a ticket in the URL, or the token
        in a subprotocol (a header, which logs do not keep)."""
        url = self._url()
        if self.ticket is None:
            return url, [Subprotocol(SUBPROTOCOL), Subprotocol(TOKEN_PREFIX + self.token)]
        ticket = await self.ticket()
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode({"ticket": ticket})) if q)
        return urlunsplit(parts._replace(query=query)), [Subprotocol(SUBPROTOCOL)]

    async def _run(self) -> None:
        attempt = 0
        ever_connected = False
        while True:
            code: int | None = None
            reason = ""
            try:
                url, protocols = await self._dial()
                ws = await connect(
                    url,
                    subprotocols=protocols,
                    open_timeout=self.open_timeout,
                    ping_interval=None,  # our own heartbeat below is the one that counts
                    close_timeout=2,
                    max_size=MAX_FRAME,
                )
            except (OSError, TimeoutError, WebSocketException, ApiError, httpx.HTTPError) as exc:
                refused = (isinstance(exc, InvalidStatus) and exc.response.status_code < 500) or (
                    isinstance(exc, ApiError) and exc.status < 500 and exc.status != 429
                )
                if not ever_connected or refused:
                    self._failure = exc
                    self._finish(None, f"could not connect: {exc}")
                    self._notify()
                    return
                reason = str(exc)
            else:
                ever_connected = True
                code, reason = await self._session(ws)
                if not self.handle_close(code, reason):
                    return
                if self._got_frame:
                    attempt = 0
            if self.max_reconnects is not None and attempt >= self.max_reconnects:
                self._failure = ConnectionLost(f"gave up after {attempt} reconnects: {reason}")
                self._finish(code, reason)
                self._notify()
                return
            delay = backoff_delay(attempt, self._rng, self.backoff_base, self.backoff_cap)
            attempt += 1
            log.info("room connection dropped (%s %s); retrying in %.2f s", code, reason, delay)
            self._emit(Reconnecting(attempt, delay, code, reason))
            await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection) -> tuple[int, str]:
        """Serve one socket until it closes or goes quiet; the close code and reason."""
        self._ws = ws
        self.connected = True
        self._got_frame = False
        self._last_rx = asyncio.get_running_loop().time()
        beat = asyncio.create_task(self._heartbeat())
        tasks = [asyncio.create_task(self._reader(ws)), asyncio.create_task(self._writer(ws)), beat]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._ws = None
            with contextlib.suppress(Exception):
                await ws.close()
        if beat in done:  # we hung up on a silent server: its close code means nothing
            return ABNORMAL_CLOSE, "no answer to ping"
        return ws.close_code or ABNORMAL_CLOSE, ws.close_reason or ""

    async def _reader(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(WebSocketException):
            async for frame in ws:
                self._last_rx = loop.time()
                self._got_frame = True
                if isinstance(frame, str):
                    log.warning("ignoring a text frame; the protocol is binary")
                    continue
                try:
                    message = decode(frame)
                except DecodeError as exc:
                    log.warning("ignoring an undecodable frame: %s", exc)
                    continue
                self.handle(message)

    async def _writer(self, ws: ClientConnection) -> None:
        with contextlib.suppress(WebSocketException):
            while True:
                self._wake.clear()
                while self.outbox:
                    await ws.send(encode(self.outbox[0]))
                    self.outbox.popleft()
                await self._wake.wait()

    async def _heartbeat(self) -> None:
        """Return when the server has gone quiet: no frame within the timeout after a ping."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.heartbeat)
            sent = loop.time()
            self._send({"t": "ping"})
            await asyncio.sleep(self.heartbeat_timeout)
            if self._last_rx < sent:
                log.info(
                    "no answer to ping in %.1f s: the connection is dead", self.heartbeat_timeout
                )
                return
