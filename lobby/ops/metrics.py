"""Prometheus metrics, counted cheaply on the hot path and exposed at ``/metrics``.

The hot path only adds to plain ints on a ``Stats`` object (no locks, no label
lookups); a collector turns them into Prometheus families when someone scrapes.
Each app has its own registry, so several apps in one process (tests) stay apart.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
"""Seconds from a move's frame arriving to its deltas being queued for every player."""


@dataclass
class Stats:
    connections: int = 0
    moves_accepted: int = 0
    moves_rejected: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    frames_in: int = 0
    frames_out: int = 0
    redis_errors: int = 0
    journal_batches: int = 0
    """Round trips of the journal writer (each saves every room changed in a loop turn)."""
    journal_saves: int = 0
    """Rooms' changes saved, summed over the batches."""
    leases_lost: int = 0
    latency_counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    def observe_move(self, seconds: float) -> None:
        self.latency_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds


RoomCounts = Callable[[], Mapping[str, int]]
"""How many rooms this process hosts, by status (``RoomManager.status_counts``)."""


class _Collector:
    def __init__(self, stats: Stats, rooms: RoomCounts) -> None:
        self.stats = stats
        self.rooms = rooms

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        yield GaugeMetricFamily(
            "meeple_process_id",
            "This process's PID (each worker of --workers N has one)",
            os.getpid(),
        )
        yield GaugeMetricFamily("meeple_connections", "Open WebSocket connections", s.connections)
        by_status = GaugeMetricFamily(
            "meeple_rooms", "Rooms hosted by this process", labels=["status"]
        )
        for status, n in self.rooms().items():
            by_status.add_metric([status], n)
        yield by_status
        moves = CounterMetricFamily("meeple_moves", "Moves by result", labels=["result"])
        moves.add_metric(["accepted"], s.moves_accepted)
        moves.add_metric(["rejected"], s.moves_rejected)
        yield moves
        yield CounterMetricFamily("meeple_bytes_in", "WebSocket payload bytes received", s.bytes_in)
        yield CounterMetricFamily("meeple_bytes_out", "WebSocket payload bytes sent", s.bytes_out)
        yield CounterMetricFamily("meeple_frames_in", "WebSocket frames received", s.frames_in)
        yield CounterMetricFamily("meeple_frames_out", "WebSocket frames sent", s.frames_out)
        yield CounterMetricFamily("meeple_redis_errors", "Failed Redis operations", s.redis_errors)
        yield CounterMetricFamily(
            "meeple_journal_batches", "Group commits: journal round trips", s.journal_batches
        )
        yield CounterMetricFamily(
            "meeple_journal_saves", "Rooms' changes saved, over all batches", s.journal_saves
        )
        yield CounterMetricFamily(
            "meeple_leases_lost", "Rooms dropped because their lease was lost", s.leases_lost
        )
        buckets, running = [], 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), s.latency_counts, strict=True):
            running += count
            buckets.append(("+Inf" if bound == float("inf") else str(bound), running))
        yield HistogramMetricFamily(
            "meeple_move_latency_seconds",
            "From a move's frame arriving to its deltas queued for every player",
            buckets=buckets,
            sum_value=s.latency_sum,
        )


def registry_for(stats: Stats, rooms: RoomCounts) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(stats, rooms))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    data: bytes = generate_latest(registry)
    return data
