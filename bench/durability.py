"""What a journal batch costs with each durability setting: the round trip of
``RedisJournal.save`` for R rooms of one move each, on a Redis of its own as shipped
(no fsync), with ``appendfsync always``, and with a replica and ``WAIT 1``; and as
shipped, but with one script call a room, as on a Redis Cluster (``one_call``).

    .venv/bin/python bench/durability.py --rooms 100 --batches 300 --rounds 3

The modes take turns, ``--rounds`` times, so a busy minute of a shared machine falls
on all of them; per mode the median round's wall-clock µs per batch and per move, and
the client's and Redis's CPU per move, are printed (and ``--json``). It measures the
journal alone: a server adds its own work (bench/run.py modes fsync and wait1 run the
whole server).
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
from typing import Any, NamedTuple

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.run import NO_PERSISTENCE, redis_server, replica_of
from meeple.lobby.stores.base import Changes
from meeple.lobby.stores.redis import RedisJournal, connect

PER_ROOM = "redis, a call a room"
MODES = ("redis", PER_ROOM, "appendfsync always", "WAIT 1 (a replica)")


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


async def batches(url: str, replicas: int, rooms: int, count: int, mode: str) -> Round:
    """``count`` batches of ``rooms`` rooms, one move each. Refused saves: with WAIT, a
    replica out of step (e.g. on a machine too busy for it to acknowledge within 2 s)."""
    client = connect(url, 3, reply_timeout=None)
    journal = RedisJournal(client, "meeple-bench:", replicas=replicas)
    journal.one_call = mode != PER_ROOM
    meta = {"id": "r", "game": "tictactoe", "game_no": 0, "status": "playing"}
    await journal.save([Changes(f"r{i}", 0, [], dict(meta, id=f"r{i}")) for i in range(rooms)])
    refused = 0
    redis_cpu = await _cpu_of(client)
    started, cpu = time.perf_counter(), time.process_time()
    for n in range(count):
        entry = {"s": n + 2, "m": {"cell": n % 9}, "by": n % 2}
        changes = [Changes(f"r{i}", 0, [entry]) for i in range(rooms)]
        refused += sum(error is not None for error in await journal.save(changes))
        # a refused room stays behind: the next entry is out of step for it, refused too
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    redis_cpu = await _cpu_of(client) - redis_cpu
    await client.aclose()
    return Round(elapsed, cpu, redis_cpu, refused)


class Round(NamedTuple):
    seconds: float
    client_cpu: float
    redis_cpu: float
    refused: int


async def _cpu_of(client: Any) -> float:
    """The CPU seconds the Redis server has used (``INFO cpu``)."""
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", "-R", type=int, default=100)
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-core", default="1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    runs: dict[str, list[Round]] = {mode: [] for mode in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            with deployment(mode, args.redis_core) as (url, replicas):
                runs[mode].append(
                    asyncio.run(batches(url, replicas, args.rooms, args.batches, mode))
                )
                redis.Redis.from_url(url).flushall()
    moves = args.rooms * args.batches
    result: dict[str, Any] = {"rooms": args.rooms, "batches": args.batches, "modes": {}}
    for mode, rounds in runs.items():
        per_batch = 1e6 * statistics.median(r.seconds for r in rounds) / args.batches
        client = 1e6 * statistics.median(r.client_cpu for r in rounds) / moves
        server = 1e6 * statistics.median(r.redis_cpu for r in rounds) / moves
        refused = sum(r.refused for r in rounds)
        result["modes"][mode] = {
            "us_per_batch": round(per_batch),
            "us_per_move": round(per_batch / args.rooms, 1),
            "client_cpu_us_per_move": round(client, 1),
            "redis_cpu_us_per_move": round(server, 1),
            "runs_s": [round(r.seconds, 3) for r in rounds],
            "refused_saves": refused,
        }
        print(
            f"{mode:>20}: {per_batch:8.0f} µs per batch of {args.rooms}, "
            f"{per_batch / args.rooms:6.1f} µs per move, CPU {client:5.1f} µs client "
            f"+ {server:5.1f} µs Redis (rounds: "
            + ", ".join(f"{r.seconds:.2f} s" for r in rounds)
            + f"; {refused} saves refused)"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
