"""MessagePack encoding of wire messages, and its limits.

One frame carries one map. Decoding is bounded: a frame's size is checked by the
caller before it gets here, and the unpacker refuses non-string map keys and
oversized containers, so hostile bytes cost little and raise ``DecodeError``.
"""

from __future__ import annotations

from typing import Any

import msgpack

from meeple.game.protocol import MAX_FRAME

__all__ = ["DecodeError", "canonical", "decode", "encode", "with_field"]


class DecodeError(ValueError):
    """The bytes are not one MessagePack map with string keys."""


_packer = msgpack.Packer(use_bin_type=True)
_BYTES = [bytes((i,)) for i in range(256)]
_KEYS = {key: _packer.pack(key) for key in ("ack", "seat")}
"""The encodings of the keys ``with_field`` adds on the hot path."""


def encode(message: Any) -> bytes:
    """Encode one message; dict keys keep their insertion order."""
    frame: bytes = _packer.pack(message)
    return frame


def with_field(frame: bytes, key: str, value: Any) -> bytes:
    """An encoded map with one more field, built from its bytes (``key`` must be new).

    A map of under 15 fields starts with one byte, 0x80 + its size; adding a field is
    that byte plus one and the pair at the end, a fifth of what encoding again costs.
    The server uses it to add the mover's ``ack`` to a delta everyone else gets as is.
    """
    head = frame[0]
    if 0x80 <= head < 0x8F:
        packed = _KEYS.get(key) or _packer.pack(key)
        extended: bytes = _BYTES[head + 1] + frame[1:] + packed + _packer.pack(value)
        return extended
    message = decode(frame, len(frame))
    message[key] = value
    return encode(message)


def decode(data: bytes, max_size: int = MAX_FRAME) -> dict[str, Any]:
    """Decode one frame into a map, or raise DecodeError saying why not."""
    if len(data) > max_size:
        raise DecodeError(f"frame of {len(data)} bytes is over the {max_size} byte limit")
    try:
        # unpackb's defaults bound every string, array and map by len(data); raw=False
        # and strict_map_key=True are its defaults too. Extension types are refused.
        value = msgpack.unpackb(data, max_ext_len=0)
    except (
        ValueError,
        TypeError,
        msgpack.ExtraData,
        msgpack.FormatError,
        msgpack.StackError,
    ) as exc:
        raise DecodeError(f"not a MessagePack message: {exc or type(exc).__name__}") from None
    except Exception as exc:  # msgpack raises a few more kinds on hostile input
        raise DecodeError(f"not a MessagePack message: {exc!r}") from None
    if not isinstance(value, dict):
        raise DecodeError(f"a frame must hold a map, not {type(value).__name__}")
    return value


def canonical(value: Any) -> Any:
    """``value`` with every dict's keys sorted: the form whose bytes are compared across clients."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value
