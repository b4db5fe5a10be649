"""One client's WebSocket as rooms see it: frames out, written once per loop turn.

Rooms never await a client. ``send`` frames the payload and keeps it; the frames a
connection collects in one turn of the event loop go out together in one ``write``
(``Outbox``): a new game's ``snap`` and the vote's ``ack``, say, cost one system call
instead of two. A socket that pushes back
(its transport's buffer is full) keeps its frames here, in order and bounded; a
client that reads too slowly is closed with 4429 instead of holding up the room or
eating memory.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Protocol

from meeple.game.protocol import CLOSE_TOO_SLOW
from meeple.lobby.edge.frames import BINARY_HEADERS as _BINARY_HEADERS
from meeple.lobby.edge.frames import binary, close_frame
from meeple.lobby.ops.metrics import Stats
from meeple.lobby.ratelimit import TokenBucket
from meeple.lobby.rooms.member import Member

_ids = itertools.count(1)


class Socket(Protocol):
    """What a connection needs of the socket under it (``meeple.lobby.edge.gateway.RoomSocket``)."""

    transport: asyncio.Transport

    def closing(self) -> None:
        """A close frame is on its way out: read only the peer's close from now on."""


class Outbox:
    """The connections with frames waiting, written together when the loop turn ends.

    The first frame a connection gets in a loop turn puts it here, and the first
    connection schedules one callback; that runs after every socket the turn had
    input from has been handled, and gives each connection one ``write``. Under load
    a turn handles hundreds of sockets, so a player whose vote and new game came in
    one turn gets one write, and a client process is woken once, not per frame.
    """

    __slots__ = ("_loop", "_pending", "_scheduled")

    def __init__(self) -> None:
        self._pending: list[Connection] = []
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def _schedule(self) -> None:
        """Write the pending connections when this loop turn ends (``Connection.send``
        puts a connection in ``_pending`` and calls this for the turn's first)."""
        self._scheduled = True
        loop = self._loop
        if loop is None:  # get_running_loop costs a getpid() system call: ask once
            loop = self._loop = asyncio.get_running_loop()
        loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, []
        _write(pending)


def _write(conns: Iterable[Connection]) -> None:
    """Hand what each connection kept to its transport in one write (one loop for all
    the connections of a turn: a call per connection cost more than its write)."""
    for conn in conns:
        out = conn._out
        if out and not conn._paused:
            transport = conn.socket.transport
            if not transport.is_closing():
                transport.write(out[0] if len(out) == 1 else b"".join(out))
            out.clear()


class Connection(Member):
    """A player's (or spectator's) live connection to one room, in this process."""

    __slots__ = ("_max_queue", "_out", "_paused", "id", "messages", "outbox", "socket", "stats")

    def __init__(
        self,
        socket: Socket,
        outbox: Outbox,
        player_id: str,
        name: str,
        *,
        max_queue: int,
        messages: TokenBucket,
        chat: TokenBucket,
        refusals: TokenBucket,
        stats: Stats,
    ) -> None:
        super().__init__(player_id, name, chat=chat, refusals=refusals)
        self.id = next(_ids)
        self.socket = socket
        self.messages = messages
        """Frames other than moves (moves are paced by the game's turns)."""
        self.stats = stats
        self.outbox = outbox
        self._max_queue = max_queue
        self._out: list[bytes] = []
        """Frames not yet handed to the transport."""
        self._paused = False
        """Set while the transport's buffer is over its high-water mark."""

    def send(self, frame: bytes) -> None:
        """Keep a frame for this turn's write; never blocks."""
        if self.closed:
            return
        size = len(frame)
        stats = self.stats
        stats.frames_out += 1
        stats.bytes_out += size
        out = self._out
        out.append(_BINARY_HEADERS[size] + frame if size < 126 else binary(frame))
        if self._paused:
            if len(out) > self._max_queue:
                self._out = []
                self.close(CLOSE_TOO_SLOW, "too slow: the send queue is full")
        elif len(out) == 1:  # the first this turn: the outbox writes it (added after, so
            outbox = self.outbox  # that an outbox writing at once finds it there)
            outbox._pending.append(self)  # (``Outbox.add``, without the call)
            if not outbox._scheduled:
                outbox._schedule()

    def flush(self) -> None:
        """Hand what was kept to the transport in one write now (the outbox does this for
        every connection at the end of a loop turn)."""
        _write((self,))

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already kept have gone out."""
        if self.closed:
            return
        self.closed = True
        self._out.append(close_frame(code, reason))
        self._paused = False  # the transport buffers it; the socket's close timer ends it
        self.flush()
        self.socket.closing()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self.flush()
