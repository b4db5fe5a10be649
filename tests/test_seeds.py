"""Game seeds come in batches from os.urandom: 52 bits, fresh per game and per process."""

from __future__ import annotations

import os

from meeple.lobby.rooms.seeds import BATCH, SEED_BITS, Seeds, new_seed


def test_seeds_fit_their_bits_and_do_not_repeat_across_batches() -> None:
    seeds = Seeds()
    drawn = [seeds.next() for _ in range(3 * BATCH + 1)]
    assert all(0 <= s < 2**SEED_BITS for s in drawn)
    assert len(set(drawn)) == len(drawn)
    assert max(drawn).bit_length() > SEED_BITS - 8  # the top bits are used too


def test_a_forked_child_does_not_deal_its_parents_seeds() -> None:
    new_seed()  # the parent holds a batch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next seeds, to the parent
        os.close(read)
        os.write(write, b",".join(str(new_seed()).encode() for _ in range(4)))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = [int(s) for s in pipe.read().split(b",")]
    os.waitpid(pid, 0)
    parent = [new_seed() for _ in range(4)]
    assert not set(child) & set(parent)
