"""WebSocket frames (RFC 6455, section 5) after the handshake, sans I/O.

The handshake is HTTP and ``websockets`` does it (``meeple.lobby.edge.gateway``); what follows
is frames, and they are on the hot path: every move is one frame in and two out.
``websockets``' own protocol object spends about 7 µs parsing one small frame and
3 µs building one, more than the room spends on the move, so the frames are read
and written here instead, with ``websockets``' C routine for the masking.

No extensions are negotiated, so the reserved bits must be clear. A peer that breaks
the framing rules gets a ``FrameError`` carrying the close code to answer with, and the
whole frames that came before the violation (a segment may hold both). Nothing is read
after a close frame: the peer may send nothing more (RFC 6455, 5.5.1).
"""

from __future__ import annotations

import codecs
import os

from meeple.game.protocol import (
    CLOSE_INVALID_DATA,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TOO_BIG,
    MAX_FRAGMENTS,
)

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

__all__ = [
    "BINARY_HEADERS",
    "MAX_FRAGMENTS",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONT",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "FrameError",
    "FrameReader",
    "binary",
    "close_frame",
    "encode_frame",
    "parse_close",
]

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
_DATA_OPS = frozenset((OP_TEXT, OP_BINARY))
_CONTROL_OPS = frozenset((OP_CLOSE, OP_PING, OP_PONG))
_OPCODES = frozenset((OP_CONT, *_DATA_OPS, *_CONTROL_OPS))

_UTF8 = codecs.getincrementaldecoder("utf-8")
_CLOSED = -1

_NO_STATUS = 1005
"""A close frame without a code: reported as 1005, never sent (RFC 6455, 7.1.5)."""

BINARY_HEADERS = [bytes((0x80 | OP_BINARY, n)) for n in range(126)]
"""The header of a server's binary frame of ``n`` < 126 bytes: ``BINARY_HEADERS[n]``."""


class FrameError(Exception):
    """The peer broke the framing rules; close the connection with ``code``.

    ``frames`` are the whole frames the same ``feed`` read before the violation: they
    are the peer's as much as any, and are handled before the close.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.frames: list[tuple[int, bytes]] = []


class FrameReader:
    """Turns the bytes a peer sends into whole messages and control frames.

    ``feed`` returns ``(opcode, payload)`` pairs in order: a text or binary message
    (its fragments joined), or a close, ping or pong frame. A frame whose header
    says it is over ``max_size`` is refused before its payload is read, a message in
    more than ``MAX_FRAGMENTS`` frames as soon as the next one starts, and text that is
    not UTF-8 as soon as its bytes show it (1007), as ``websockets`` does.
    """

    __slots__ = ("_buffer", "_fragments", "_kind", "_masked", "_max_size", "_size", "_utf8")

    def __init__(self, *, masked: bool, max_size: int) -> None:
        self._masked = masked
        """True on the server: a client must mask every frame (RFC 6455, 5.1)."""
        self._max_size = max_size
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._kind = 0
        """The opcode of the message being reassembled (0: none; ``_CLOSED`` once a close
        frame or a violation ended the stream, which also keeps the shortcut off)."""
        self._size = 0
        self._utf8: codecs.IncrementalDecoder | None = None
        """Checks a text message's fragments as they come."""

    @property
    def idle(self) -> bool:
        """Nothing half-read: the next bytes start a frame outside any message."""
        return not self._buffer and not self._kind

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The whole frames ``data`` completes; raises ``FrameError`` (carrying those
        before it) at the first violation."""
        size = len(data) - 6  # the payload, if this is one frame with a 7-bit length
        if (
            0 < size < 126
            and data[0] == 0x80 | OP_BINARY
            and data[1] == 0x80 | size
            and size <= self._max_size
            and not self._buffer
            and not self._kind
            and self._masked
        ):  # one whole, small, masked binary frame: what a move is
            return [(OP_BINARY, apply_mask(data[6:], data[2:6]))]
        out: list[tuple[int, bytes]] = []
        try:
            self._parse(data, out)
        except FrameError as exc:
            exc.frames = out
            self._kind = _CLOSED  # the connection is failed: read nothing more
            raise
        return out

    def _parse(self, data: bytes, out: list[tuple[int, bytes]]) -> None:
        if self._kind == _CLOSED:
            return
        buf = self._buffer + data if self._buffer else data
        end = len(buf)
        pos = 0
        while end - pos >= 2:
            # The checks come in websockets' order (tests/test_frames_differential.py):
            # opcode and masking from the first two bytes, the size from the length, and
            # the rest once the payload is in.
            b0 = buf[pos]
            b1 = buf[pos + 1]
            opcode = b0 & 0x0F
            if opcode not in _OPCODES:
                raise FrameError(CLOSE_PROTOCOL_ERROR, f"reserved opcode {opcode}")
            masked = b1 & 0x80
            if not masked if self._masked else masked:
                raise FrameError(
                    CLOSE_PROTOCOL_ERROR, "client frames must be masked, server frames not"
                )
            length = b1 & 0x7F
            head = pos + 2
            if length == 126:
                if end - pos < 4:
                    break
                length = int.from_bytes(buf[head : head + 2], "big")
                head += 2
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(buf[head : head + 8], "big")
                head += 8
            if length + self._size > self._max_size:
                raise FrameError(CLOSE_TOO_BIG, f"frame over {self._max_size} bytes")
            if masked:
                head += 4
            stop = head + length
            if stop > end:
                break
            if b0 & 0x70:
                raise FrameError(CLOSE_PROTOCOL_ERROR, "reserved bits set; no extension agreed")
            if opcode in _CONTROL_OPS and (not b0 & 0x80 or length > 125):
                raise FrameError(CLOSE_PROTOCOL_ERROR, "control frames are short and whole")
            payload = buf[head:stop]
            if masked:
                payload = apply_mask(payload, buf[head - 4 : head])
            pos = stop
            if opcode in _DATA_OPS:
                if self._kind:
                    raise FrameError(CLOSE_PROTOCOL_ERROR, "a new message inside a fragmented one")
                fin = b0 & 0x80
                if opcode == OP_TEXT:
                    self._utf8 = _UTF8()
                    self._check_text(payload, fin)
                if fin:
                    out.append((opcode, payload))
                else:
                    self._kind, self._fragments, self._size = opcode, [payload], length
            elif opcode == OP_CONT:
                if not self._kind:
                    raise FrameError(
                        CLOSE_PROTOCOL_ERROR, "a continuation with nothing to continue"
                    )
                if len(self._fragments) >= MAX_FRAGMENTS:
                    raise FrameError(CLOSE_TOO_BIG, f"a message in over {MAX_FRAGMENTS} fragments")
                fin = b0 & 0x80
                if self._kind == OP_TEXT:
                    self._check_text(payload, fin)
                self._fragments.append(payload)
                self._size += length
                if fin:
                    out.append((self._kind, b"".join(self._fragments)))
                    self._kind, self._fragments, self._size = 0, [], 0
            else:  # a control frame
                out.append((opcode, payload))
                if opcode == OP_CLOSE:
                    self._kind, self._buffer = _CLOSED, b""
                    return
        self._buffer = buf[pos:] if pos < end else b""

    def _check_text(self, payload: bytes, fin: int) -> None:
        utf8 = self._utf8
        assert utf8 is not None
        try:
            utf8.decode(payload, bool(fin))
        except UnicodeDecodeError:
            raise FrameError(CLOSE_INVALID_DATA, "a text frame must be UTF-8") from None


def binary(payload: bytes) -> bytes:
    """A server's (unmasked) binary frame: the hot path's only frame builder."""
    n = len(payload)
    if n < 126:
        return BINARY_HEADERS[n] + payload
    return encode_frame(OP_BINARY, payload)


def encode_frame(opcode: int, payload: bytes, *, mask: bool = False) -> bytes:
    """One whole frame; ``mask`` for a client's frames (a fresh random key each)."""
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, n | (0x80 if mask else 0)))
    elif n < 65536:
        header = bytes((0x80 | opcode, 126 | (0x80 if mask else 0))) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 127 | (0x80 if mask else 0))) + n.to_bytes(8, "big")
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + apply_mask(payload, key)


def close_frame(code: int, reason: str = "", *, mask: bool = False) -> bytes:
    """A close frame; the reason is cut to fit a control frame's 125 bytes. 1005 (no
    status) may not be sent: echoing a close that had no code, the frame has none."""
    if code == _NO_STATUS:
        return encode_frame(OP_CLOSE, b"", mask=mask)
    data = reason.encode()[:123].decode(errors="ignore").encode()  # no half characters
    return encode_frame(OP_CLOSE, code.to_bytes(2, "big") + data, mask=mask)


def parse_close(payload: bytes) -> tuple[int, str]:
    """The code and reason of a close frame's payload (1005 when it has none)."""
    if not payload:
        return _NO_STATUS, ""
    if len(payload) == 1:
        raise FrameError(CLOSE_PROTOCOL_ERROR, "a close frame's code takes two bytes")
    code = int.from_bytes(payload[:2], "big")
    try:  # the reason first, as websockets does: a bad code with a bad reason is 1007
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(CLOSE_INVALID_DATA, "a close reason must be UTF-8") from None
    if not (code in _SENDABLE_CODES or 3000 <= code <= 4999):
        raise FrameError(CLOSE_PROTOCOL_ERROR, f"close code {code} is not one a peer may send")
    return code, reason


_SENDABLE_CODES = frozenset(
    (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014)
)
