"""What a room keeps of the changes it sent, so a client that resumes gets exactly those.

Each audience (a seat, or the spectators' public view) has its own frames, because
in games with hidden information each sees different deltas; a public game keeps one
list for everyone. The frames are the encoded bytes that went out, so resuming costs
no encoding.
"""

from __future__ import annotations

from collections import deque

from meeple.game.match import Audience


class Backlog:
    """The last ``size`` frames sent to each audience in the current game."""

    __slots__ = ("_frames", "_size")

    def __init__(self, size: int) -> None:
        self._size = size
        self._frames: dict[Audience, deque[tuple[int, bytes]]] = {}

    def remember(self, audience: Audience, seq: int, frame: bytes) -> None:
        frames = self._frames.get(audience)
        if frames is None:
            frames = self._frames[audience] = deque(maxlen=self._size)
        frames.append((seq, frame))

    def since(self, audience: Audience, since: int) -> list[bytes] | None:
        """The frames after ``since``, or None when the backlog no longer reaches back
        that far (the client needs a snapshot)."""
        frames = self._frames.get(audience)
        if not frames or frames[0][0] > since + 1:
            return None
        return [frame for seq, frame in frames if seq > since]

    def clear(self) -> None:
        """A new game: its numbers start again, and nothing before it can be resumed."""
        self._frames = {}
