"""One client's WebSocket, as rooms see it: send now, or queue when it pushes back.

Rooms never await a client. ``send`` writes a frame at once when the socket takes
it; when the socket pushes back, frames wait in a bounded queue that a task drains
in order. A client that reads too slowly fills its queue and is closed (4429)
instead of holding up the room or eating memory.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Coroutine, Generator
from typing import Any

from starlette.websockets import WebSocket

from game.protocol import CLOSE_TOO_SLOW
from lobby.member import Member
from lobby.metrics import Stats
from lobby.ratelimit import TokenBucket

log = logging.getLogger("meeple.connection")

_ids = itertools.count(1)


class _Resume:
    """Await a coroutine that was started by hand and stopped at ``blocked``.

    ``Connection.send`` drives the ASGI send coroutine one step itself; when the socket
    is writable that step finishes it. When it does not (the transport is paused),
    a task takes the coroutine over from where it stopped through this awaitable.
    """

    __slots__ = ("blocked", "coro")

    def __init__(self, coro: Coroutine[Any, Any, None], blocked: Any) -> None:
        self.coro = coro
        self.blocked = blocked

    def __await__(self) -> Generator[Any, Any, None]:
        coro, waiting_on = self.coro, self.blocked
        while True:
            try:
                sent = yield waiting_on
            except BaseException as exc:
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting_on = coro.send(sent)
            except StopIteration:
                return


class Connection(Member):
    """A player's (or spectator's) live connection to one room, in this process.

    A frame is written at once when the socket can take it: no task switch, no queue.
    Only when the socket pushes back do frames queue (bounded), drained by a task.
    """

    def __init__(
        self,
        websocket: WebSocket,
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
        self.websocket = websocket
        self.messages = messages
        """Frames other than moves (moves are paced by the game's turns)."""
        self.stats = stats
        self._max_queue = max_queue
        self._queue: deque[bytes | tuple[int, str]] = deque()
        self._drain: asyncio.Task[None] | None = None
        """Set while the socket pushes back: it sends the queue in order."""

    def send(self, frame: bytes) -> None:
        """Send a frame now if the socket takes it, else queue it; never blocks."""
        if self.closed:
            return
        self.stats.frames_out += 1
        self.stats.bytes_out += len(frame)
        if self._drain is not None:
            if len(self._queue) >= self._max_queue:
                self.close(CLOSE_TOO_SLOW, "too slow: the send queue is full")
                return
            self._queue.append(frame)
            return
        coro = self.websocket.send({"type": "websocket.send", "bytes": frame})
        try:
            blocked = coro.send(None)
        except StopIteration:
            return
        except Exception as exc:  # the peer is gone: the reader sees it too
            log.debug("connection %s: send failed: %r", self.id, exc)
            self.closed = True
            return
        self._drain = asyncio.get_running_loop().create_task(self._run_drain(coro, blocked))

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have gone out."""
        if self.closed:
            return
        self.closed = True
        if self._drain is not None:
            self._queue.append((code, reason))
        else:
            self._drain = asyncio.get_running_loop().create_task(self._run_drain(None, None))
            self._queue.append((code, reason))

    async def wait_closed(self) -> None:
        """Until what was queued (and the close) has gone out."""
        if self._drain is not None:
            await self._drain

    async def _run_drain(self, coro: Coroutine[Any, Any, None] | None, blocked: Any) -> None:
        try:
            if coro is not None:
                await _Resume(coro, blocked)
            queue, websocket = self._queue, self.websocket
            while queue:
                item = queue.popleft()
                if isinstance(item, tuple):
                    await websocket.close(*item)
                    return
                await websocket.send({"type": "websocket.send", "bytes": item})
        except Exception as exc:  # the peer went away mid-send: the reader sees it too
            log.debug("connection %s: send failed: %r", self.id, exc)
            self.closed = True
        finally:
            self._drain = None
