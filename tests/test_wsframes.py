"""lobby/wsframes.py on its own: frames of every length, any split of the byte stream,
fragments, and every framing rule a peer can break (with the close code it earns)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from meeple.lobby.edge.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    binary,
    close_frame,
    encode_frame,
    parse_close,
)

MAX = 1 << 17


def server() -> FrameReader:
    return FrameReader(masked=True, max_size=MAX)


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A masked frame with any header bits, valid or not (websockets refuses to build
    the invalid ones)."""
    data = bytearray(encode_frame(opcode, payload, mask=True))
    if not fin:
        data[0] &= 0x7F
    if rsv1:
        data[0] |= 0x40
    return bytes(data)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, MAX])
def test_every_length_form_round_trips(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert server().feed(encode_frame(OP_BINARY, payload, mask=True)) == [(OP_BINARY, payload)]
    websockets_frame = Frame(Opcode.BINARY, payload).serialize(mask=True, extensions=[])
    assert server().feed(websockets_frame) == [(OP_BINARY, payload)]
    reader = FrameReader(masked=False, max_size=MAX)
    assert reader.feed(binary(payload)) == [(OP_BINARY, payload)]


@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_any_split_of_the_stream_gives_the_same_messages(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(encode_frame(OP_BINARY, p, mask=True) for p in payloads)
    reader = server()
    got = []
    last = 0
    for cut in [*sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]:
        got += reader.feed(stream[last:cut])
        last = cut
    assert got == [(OP_BINARY, p) for p in payloads]


def test_fragments_are_joined_and_control_frames_may_come_between() -> None:
    stream = (
        client_frame(OP_BINARY, b"one ", fin=False)
        + client_frame(OP_PING, b"hi")
        + client_frame(OP_CONT, b"two ", fin=False)
        + client_frame(OP_CONT, b"three")
        + client_frame(OP_TEXT, b"text")
    )
    assert server().feed(stream) == [
        (OP_PING, b"hi"),
        (OP_BINARY, b"one two three"),
        (OP_TEXT, b"text"),
    ]


@pytest.mark.parametrize(
    ("stream", "code"),
    [
        (client_frame(OP_BINARY, b"x", rsv1=True), 1002),
        (encode_frame(OP_BINARY, b"unmasked"), 1002),
        (client_frame(OP_PING, b"x" * 126), 1002),
        (client_frame(OP_PING, b"x", fin=False), 1002),
        (client_frame(OP_CONT, b"nothing to continue"), 1002),
        (client_frame(OP_BINARY, b"a", fin=False) + client_frame(OP_BINARY, b"b"), 1002),
        (bytes((0x83, 0x80)) + b"\0\0\0\0", 1002),  # opcode 3 is reserved
        (bytes((0x82, 0xFF)) + (MAX + 1).to_bytes(8, "big"), 1009),  # refused from the header
        (
            client_frame(OP_BINARY, b"x" * (MAX // 2), fin=False)
            + client_frame(OP_CONT, b"x" * (MAX // 2 + 1)),
            1009,
        ),
    ],
)
def test_broken_framing_names_its_close_code(stream: bytes, code: int) -> None:
    with pytest.raises(FrameError) as failed:
        server().feed(stream)
    assert failed.value.code == code and failed.value.reason


def test_an_oversize_frame_is_refused_before_its_payload_arrives() -> None:
    header = bytes((0x82, 0x7E)) + (60_000).to_bytes(2, "big")  # a server frame: unmasked
    with pytest.raises(FrameError) as failed:
        FrameReader(masked=False, max_size=1024).feed(header)
    assert failed.value.code == 1009


def test_partial_headers_wait_for_more() -> None:
    reader = server()
    frame = client_frame(OP_BINARY, b"x" * 300)
    for i in range(len(frame) - 1):
        assert reader.feed(frame[i : i + 1]) == []
    assert reader.feed(frame[-1:]) == [(OP_BINARY, b"x" * 300)]


def test_close_payloads() -> None:
    assert parse_close(b"") == (1005, "")
    assert parse_close((1000).to_bytes(2, "big") + "bye ✓".encode()) == (1000, "bye ✓")
    assert parse_close((4409).to_bytes(2, "big")) == (4409, "")
    for bad, code in [
        (b"\x03", 1002),
        ((1005).to_bytes(2, "big"), 1002),
        ((999).to_bytes(2, "big"), 1002),
        ((5000).to_bytes(2, "big"), 1002),
        ((1000).to_bytes(2, "big") + b"\xff", 1007),
    ]:
        with pytest.raises(FrameError) as failed:
            parse_close(bad)
        assert failed.value.code == code


def test_a_long_close_reason_is_cut_on_a_character_boundary() -> None:
    frame = close_frame(1011, "é" * 100)
    [(opcode, payload)] = FrameReader(masked=False, max_size=MAX).feed(frame)
    assert opcode == OP_CLOSE and len(payload) <= 125
    code, reason = parse_close(payload)
    assert code == 1011 and reason == "é" * 61


def test_pong_and_masked_close_round_trip() -> None:
    stream = encode_frame(OP_PONG, b"p", mask=True) + close_frame(1000, "ok", mask=True)
    assert server().feed(stream) == [(OP_PONG, b"p"), (OP_CLOSE, b"\x03\xe8ok")]


def test_the_one_frame_shortcut_reads_only_what_it_should() -> None:
    move = encode_frame(OP_BINARY, b"m" * 100, mask=True)
    assert server().feed(move) == [(OP_BINARY, b"m" * 100)]
    two = encode_frame(OP_BINARY, b"a", mask=True) + encode_frame(OP_BINARY, b"b", mask=True)
    assert server().feed(two) == [(OP_BINARY, b"a"), (OP_BINARY, b"b")]
    # 132 bytes whose second byte says "a 16-bit length follows": not a 126-byte payload
    extended = bytes((0x82, 0xFE)) + (126).to_bytes(2, "big") + b"\0\0\0\0" + b"x" * 126
    reader = server()
    assert reader.feed(extended[:132]) == []
    assert reader.feed(extended[132:]) == [(OP_BINARY, b"x" * 126)]
    with pytest.raises(FrameError):
        FrameReader(masked=True, max_size=10).feed(encode_frame(OP_BINARY, b"y" * 11, mask=True))
