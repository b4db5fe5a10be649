"""What a journal batch costs with each durability setting: the round trip of
``RedisJournal.save`` for R rooms of one move each, on a Redis of its own as shipped
(no fsync), with ``appendfsync always``, and with a replica and ``WAIT 1``.

    .venv/bin/python bench/durability.py --rooms 100 --batches 300 --rounds 3

The modes take turns, ``--rounds`` times, so a busy minute of a shared machine falls
on all of them; per mode the median round's wall-clock µs per batch and per move are
printed (and ``--json``). It measures the journal alone: a server adds its own work
(bench/run.py modes fsync and wait1 run the whole server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.run import NO_PERSISTENCE, redis_server, replica_of
from meeple.lobby.stores.base import Changes
from meeple.lobby.stores.redis import RedisJournal, connect

MODES = ("redis", "appendfsync always", "WAIT 1 (a replica)")


@contextlib.contextmanager
def deployment(mode: str, core: str) -> Iterator[tuple[str, int]]:
    """The Redis of one mode (and its replica); its URL and the replicas to wait for."""
    with contextlib.ExitStack() as stack:
        options: tuple[str, ...] = NO_PERSISTENCE
        if mode == "appendfsync always":
            disk = stack.enter_context(tempfile.TemporaryDirectory(prefix="meeple-aof-"))
            options = ("--save", "", "--appendonly", "yes", "--appendfsync", "always",
                       "--dir", disk)  # fmt: skip
        url, _ = stack.enter_context(redis_server(core, options))
        replicas = 0
        if mode.startswith("WAIT"):
            stack.enter_context(replica_of(url, core))
            replicas = 1
        yield url, replicas


async def batches(url: str, replicas: int, rooms: int, count: int) -> tuple[float, int]:
    """Wall-clock seconds for ``count`` batches of ``rooms`` rooms, one move each, and how
    many rooms' saves were refused (with WAIT: a replica out of step, e.g. on a machine
    too busy for it to acknowledge within 2 s)."""
    client = connect(url, 3, reply_timeout=None)
    journal = RedisJournal(client, "meeple-bench:", replicas=replicas)
    meta = {"id": "r", "game": "tictactoe", "game_no": 0, "status": "playing"}
    await journal.save([Changes(f"r{i}", 0, [], dict(meta, id=f"r{i}")) for i in range(rooms)])
    refused = 0
    started = time.perf_counter()
    for n in range(count):
        entry = {"s": n + 2, "m": {"cell": n % 9}, "by": n % 2}
        changes = [Changes(f"r{i}", 0, [entry]) for i in range(rooms)]
        refused += sum(error is not None for error in await journal.save(changes))
        # a refused room stays behind: the next entry is out of step for it, refused too
    elapsed = time.perf_counter() - started
    await client.aclose()
    return elapsed, refused


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", "-R", type=int, default=100)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-core", default="1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    refused: dict[str, int] = dict.fromkeys(MODES, 0)
    for _ in range(args.rounds):
        for mode in MODES:
            with deployment(mode, args.redis_core) as (url, replicas):
                elapsed, failed = asyncio.run(batches(url, replicas, args.rooms, args.batches))
                seconds[mode].append(elapsed)
                refused[mode] += failed
                redis.Redis.from_url(url).flushall()
    result: dict[str, Any] = {"rooms": args.rooms, "batches": args.batches, "modes": {}}
    for mode, runs in seconds.items():
        median = statistics.median(runs)
        per_batch = 1e6 * median / args.batches
        result["modes"][mode] = {
            "us_per_batch": round(per_batch),
            "us_per_move": round(per_batch / args.rooms, 1),
            "runs_s": [round(s, 3) for s in runs],
            "refused_saves": refused[mode],
        }
        print(
            f"{mode:>20}: {per_batch:8.0f} µs per batch of {args.rooms}, "
            f"{per_batch / args.rooms:6.1f} µs per move (rounds: "
            + ", ".join(f"{s:.2f} s" for s in runs)
            + f"; {refused[mode]} saves refused)"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
