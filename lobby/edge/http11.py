"""HTTP/1.1 before the app or the room WebSocket: uvicorn's httptools protocol, bounded.

uvicorn gives a request's head all the time and memory a client likes: a connection
that sends nothing, or one byte a second, is held forever, and an endless header line
is buffered whole (httptools joins a header's pieces). ``BoundedHttp`` is uvicorn's
protocol with the bounds it lacks:

* a deadline for each request, head and body (``Settings.request_timeout``), from the
  moment the connection opens or the request's first byte arrives; an idle connection
  between requests is uvicorn's keep-alive timeout's;
* a cap on the head (``MAX_HEAD``): over it, 431 and the line is closed; a body over
  ``MAX_BODY`` gets 413;
* a WebSocket upgrade needs HTTP/1.1 (RFC 6455, 4.1): uvicorn hands every upgrade over
  as 1.1, so a 1.0 one is refused here, with 400.

``meeple.lobby.cli.uvicorn_options`` configures it as uvicorn's ``http`` protocol.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

if TYPE_CHECKING:
    from uvicorn import Config
    from uvicorn.server import ServerState

MAX_HEAD = 16 * 1024
"""Bytes of a request line and headers (nginx's default allows 8 KiB a line)."""
MAX_BODY = 1024 * 1024
"""Bytes of a request body: REST bodies are small (nginx in deploy/ allows 1 MiB too)."""
DEFAULT_TIMEOUT = 10.0
LINGER = 2.0
"""Seconds a refused client's bytes are read and dropped before the line is closed:
closing a socket with unread bytes resets it, and the reset can overtake the answer."""


class BoundedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and size caps; see the module docstring."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        services = app_state.get("services")
        self._timeout = services.settings.request_timeout if services else DEFAULT_TIMEOUT
        self._deadline: asyncio.TimerHandle | None = None
        self._in_head = True
        """Reading a request's head (or waiting for one): what ``MAX_HEAD`` bounds."""
        self._head_size = 0
        self._body_size = 0
        self._heard = False
        self._refused = False
        """An answer that ends the line was written: what the client still sends is
        discarded for a moment (``LINGER``) so that a reset does not destroy the answer."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._heard = True
        if self._in_head:
            self._head_size += len(data)
        super().data_received(data)
        if self._in_head and self._head_size > MAX_HEAD and not self.transport.is_closing():
            self._refuse(431, "the request's head is over 16 KiB")

    # Parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_size = self._body_size = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY:
            if not self.transport.is_closing():
                self._refuse(413, "the request's body is over 1 MiB")
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head = True
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        if self.scope.get("http_version") != "1.1":
            self._refuse(400, "a WebSocket handshake needs HTTP/1.1")
            return
        super().handle_websocket_upgrade()

    # The bounds ------------------------------------------------------------------------

    def _arm(self) -> None:
        if self._deadline is None and self._timeout > 0:
            self._deadline = self.loop.call_later(self._timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._heard and (self.cycle is None or not self.cycle.response_started):
            self._refuse(408, "the request did not arrive in time")
        else:
            self.transport.close()  # nothing was asked: nothing to answer

    def _refuse(self, status: int, text: str) -> None:
        """Answer ``status`` with a line of text and close, whatever the request was."""
        self._disarm()
        body = (text + "\n").encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        transport = self.transport
        transport.write(b"".join(head) + body)
        self._refused = True
        if transport.can_write_eof():
            transport.write_eof()  # the answer is complete; then read and drop the rest
            self.loop.call_later(LINGER, transport.close)
        else:
            transport.close()
