"""One client's WebSocket, as rooms see it: a bounded send queue and a writer task.

Rooms never await a client. They put encoded frames on the connection's queue and
go on; the writer task sends them. A client that reads too slowly fills its queue
and is closed (4429) instead of holding up the room or eating memory.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque

from starlette.websockets import WebSocket

from game.protocol import CLOSE_TOO_SLOW
from lobby.member import Member
from lobby.metrics import Stats
from lobby.ratelimit import TokenBucket

log = logging.getLogger("meeple.connection")

_ids = itertools.count(1)


class Connection(Member):
    """A player's (or spectator's) live connection to one room, in this process."""

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
        self._max_queue = max_queue
        self.stats = stats
        self._frames: deque[bytes | tuple[int, str]] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def send(self, frame: bytes) -> None:
        """Queue a frame; never blocks."""
        if self.closed:
            return
        if len(self._frames) >= self._max_queue:
            self.close(CLOSE_TOO_SLOW, "too slow: the send queue is full")
            return
        self._push(frame)
        self.stats.frames_out += 1
        self.stats.bytes_out += len(frame)

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued have gone out."""
        if self.closed:
            return
        self.closed = True
        self._push((code, reason))

    def _push(self, item: bytes | tuple[int, str]) -> None:
        # A deque and one future: lighter than asyncio.Queue on the hot path.
        self._frames.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def run_writer(self) -> None:
        """Send queued frames until the connection closes."""
        send = self.websocket.send
        frames = self._frames
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not frames:
                    self._waiter = loop.create_future()
                    await self._waiter
                    continue
                item = frames.popleft()
                if isinstance(item, tuple):
                    code, reason = item
                    await self.websocket.close(code, reason)
                    return
                await send({"type": "websocket.send", "bytes": item})
        except Exception as exc:  # the peer went away mid-send: the reader sees it too
            log.debug("connection %s writer stopped: %r", self.id, exc)
            self.closed = True
