"""lobby/edge/frames.py against websockets' own sans-I/O protocol (issue 16): random client
byte streams, valid and not, split at random points, fed to both; each must deliver the
same messages and close (or not) with the same code.

websockets' ``Protocol`` is the oracle, with what its connection layer adds around it:
text messages are decoded as UTF-8 frame by frame (``Assembler``), a failure is 1007.
One deliberate difference: websockets refuses a close frame inside a fragmented
message (1002), which RFC 6455 allows (5.4: control frames may come between
fragments); ours answers it as any close. Messages stay under ``MAX_FRAGMENTS``.

The suite runs a bounded number of examples; ``bench/fuzz.sh`` runs many more
(``MEEPLE_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import codecs
import itertools
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side

from meeple.lobby.edge.frames import FrameError, FrameReader, parse_close

MAX_SIZE = 4096
EXAMPLES = int(os.environ.get("MEEPLE_FUZZ_EXAMPLES", "300"))

CLOSE_CODES = [1000, 1001, 1002, 1005, 1006, 1007, 1015, 999, 2999, 3000, 4409, 4999, 5000]


@dataclass
class Outcome:
    messages: list[tuple[int, bytes]]
    close: int | None


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """One frame, usually valid: any opcode, FIN, reserved bits, masking, length form."""
    opcode = draw(
        st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA]) | st.sampled_from([0x3, 0x7, 0xB, 0xF])
        if draw(st.integers(0, 30)) == 0
        else st.sampled_from([0x0, 0x1, 0x2, 0x8, 0x9, 0xA])
    )
    fin = draw(st.integers(0, 5)) > 0
    rsv = draw(st.sampled_from([0x40, 0x20, 0x10])) if draw(st.integers(0, 25)) == 0 else 0
    masked = draw(st.integers(0, 25)) > 0
    if opcode == 0x8:
        if draw(st.booleans()):
            code = draw(st.sampled_from(CLOSE_CODES))
            reason = draw(st.binary(max_size=8) | st.text(max_size=20).map(str.encode))
            payload = code.to_bytes(2, "big") + reason
        else:
            payload = draw(st.binary(max_size=2))
    elif opcode == 0x1 or (opcode == 0x0 and draw(st.booleans())):
        payload = draw(st.text(max_size=60).map(str.encode) | st.binary(max_size=60))
        if payload and draw(st.integers(0, 4)) == 0:  # cut through a character
            payload = payload[: draw(st.integers(0, len(payload)))]
    else:
        payload = draw(st.binary(max_size=200))
    length = len(payload)
    if draw(st.integers(0, 40)) == 0:  # a header that claims too much
        length = draw(st.sampled_from([MAX_SIZE + 1, 65535, 2**40]))
    forms = [f for f in (7, 16, 64) if f != 7 or length < 126]
    form = draw(st.sampled_from(forms))
    head = bytes((0x80 * fin | rsv | opcode,))
    bit = 0x80 if masked else 0
    if form == 7:
        head += bytes((bit | length,))
    elif form == 16 and length < 65536:
        head += bytes((bit | 126,)) + length.to_bytes(2, "big")
    else:
        head += bytes((bit | 127,)) + length.to_bytes(8, "big")
    if masked:
        key = draw(st.binary(min_size=4, max_size=4))
        head += key
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    data = b"".join(draw(st.lists(frames(), min_size=1, max_size=24)))
    if draw(st.integers(0, 10)) == 0:
        data += draw(st.binary(min_size=1, max_size=16))  # trailing junk
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=10))
    return data, sorted(set(cuts))


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def ours(parts: list[bytes]) -> Outcome:
    reader = FrameReader(masked=True, max_size=MAX_SIZE)
    messages: list[tuple[int, bytes]] = []
    for part in parts:
        try:
            got = reader.feed(part)
        except FrameError as exc:
            messages += exc.frames
            return Outcome(messages, exc.code)
        for opcode, payload in got:
            messages.append((opcode, payload))
            if opcode == 0x8:
                try:
                    return Outcome(messages, parse_close(payload)[0])
                except FrameError as exc:  # a broken close frame is a violation, not a message
                    return Outcome(messages[:-1], exc.code)
    return Outcome(messages, None)


def theirs(parts: list[bytes]) -> Outcome:
    protocol = Protocol(Side.SERVER, max_size=MAX_SIZE)
    messages: list[tuple[int, bytes]] = []
    kind, fragments = 0, list[bytes]()
    text: codecs.IncrementalDecoder | None = None
    for part in parts:
        protocol.receive_data(part)
        for frame in protocol.events_received():
            assert isinstance(frame, Frame)  # a server-side protocol receives only frames
            opcode, data, fin = int(frame.opcode), bytes(frame.data), frame.fin
            if opcode == Opcode.TEXT:
                text = codecs.getincrementaldecoder("utf-8")()
            if opcode == Opcode.TEXT or (opcode == Opcode.CONT and kind == Opcode.TEXT):
                assert text is not None
                try:  # what websockets' connection layer does with a text message
                    text.decode(data, fin)
                except UnicodeDecodeError:
                    return Outcome(messages, 1007)
            if opcode in (Opcode.TEXT, Opcode.BINARY):
                if fin:
                    messages.append((opcode, data))
                else:
                    kind, fragments = opcode, [data]
            elif opcode == Opcode.CONT:
                fragments.append(data)
                if fin:
                    messages.append((kind, b"".join(fragments)))
                    kind, fragments = 0, []
            else:
                messages.append((opcode, data))
        failure = protocol.parser_exc
        if isinstance(failure, ProtocolError) and "incomplete fragmented" in str(failure):
            # A close between fragments: allowed (see the module docstring), so the
            # close frame websockets read and refused is delivered as any close.
            close = protocol.close_rcvd
            assert close is not None
            messages.append((0x8, b"" if close.code == 1005 else close.serialize()))
            return Outcome(messages, close.code)
        if failure is not None:
            assert protocol.close_sent is not None
            return Outcome(messages, protocol.close_sent.code)
        if protocol.close_rcvd is not None:
            return Outcome(messages, protocol.close_rcvd.code)
    return Outcome(messages, None)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(streams())
def test_frames_agree_with_websockets(stream: tuple[bytes, list[int]]) -> None:
    data, cuts = stream
    parts = chunks(data, cuts)
    expected = theirs(parts)
    got = ours(parts)
    assert got.messages == expected.messages
    assert got.close == expected.close
    assert ours([data]) == got  # and no split changes anything


def test_the_oracle_sees_what_it_should() -> None:
    """The fuzz's two sides on streams whose answer is known."""
    masked = bytes((0x82, 0x81)) + b"\0\0\0\0" + b"x"
    assert theirs([masked]) == ours([masked]) == Outcome([(2, b"x")], None)
    unmasked = bytes((0x82, 0x01)) + b"x"
    assert theirs([unmasked]).close == ours([unmasked]).close == 1002
    bad_text = bytes((0x81, 0x81)) + b"\0\0\0\0" + b"\xff"
    assert theirs([bad_text]).close == ours([bad_text]).close == 1007
