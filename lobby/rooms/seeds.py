"""Game seeds: 52 random bits each, from the OS's generator, drawn in batches.

Every game needs a fresh, unpredictable seed (a seat must not be able to guess the
dice). ``secrets.randbits`` makes one ``getrandom`` system call per seed, one per game
(a game of tic-tac-toe is under eight moves); here one ``os.urandom`` call serves
``BATCH`` games, with the same bytes' quality. A forked child starts with an empty
batch, so two processes never deal the same seeds.
"""

from __future__ import annotations

import os

SEED_BITS = 52
"""A seed fits in a JSON number (2**53) exactly: records and journals carry it as one."""
_SEED_BYTES = 7
BATCH = 256
"""Seeds per ``os.urandom`` call."""


class Seeds:
    """Hands out seeds from a batch of random bytes, refilled when it runs out."""

    __slots__ = ("_at", "_bytes")

    def __init__(self) -> None:
        self._bytes = b""
        self._at = 0

    def next(self) -> int:
        at = self._at
        if at >= len(self._bytes):
            self._bytes, at = os.urandom(BATCH * _SEED_BYTES), 0
        self._at = at + _SEED_BYTES
        raw = int.from_bytes(self._bytes[at : at + _SEED_BYTES], "big")
        return raw >> (8 * _SEED_BYTES - SEED_BITS)

    def forget(self) -> None:
        """Drop the batch (a forked child must not reuse its parent's)."""
        self._bytes, self._at = b"", 0


_seeds = Seeds()
os.register_at_fork(after_in_child=_seeds.forget)


def new_seed() -> int:
    """A fresh game seed of ``SEED_BITS`` random bits."""
    return _seeds.next()
