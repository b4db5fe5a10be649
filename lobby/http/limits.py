"""Per-client limits on the REST calls that create things (sessions, rooms, tickets) or
try an invite code.

One ``TokenBucket`` per (kind, client): sessions are keyed by the client's address,
rooms and tickets by the player. Over the limit, the call is answered 429 with
``Retry-After`` (whole seconds). The buckets live in ``Services.limits``, one set per
app; each process limits on its own.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from meeple.lobby.http.problems import ProblemError
from meeple.lobby.ratelimit import TokenBucket


@dataclass(frozen=True, slots=True)
class Limit:
    """``rate`` calls a second on average, ``burst`` at once."""

    rate: float
    burst: int


#: New guest sessions per client address: 60 at once (a bot runner, a school behind one
#: NAT), then one a second.
SESSIONS = Limit(rate=1.0, burst=60)
#: New rooms per player: 10 at once, then one every 6 s.
ROOMS = Limit(rate=1 / 6, burst=10)
#: New quick-match tickets per player: 30 at once, then one a second.
TICKETS = Limit(rate=1.0, burst=30)

#: Attempts with an invite code (looking one up, joining, watching, reading a private
#: room's games), per player and per client address: 10 at once, then one every 5 s. A
#: code has 128 random bits (``rooms.manager.INVITE_BYTES``): not found by trying.
INVITES = Limit(rate=0.2, burst=10)
#: Invitations sent per player: 20 at once, then one every 3 s.
INVITATIONS = Limit(rate=1 / 3, burst=20)
#: Room WebSocket connections per player (the edge closes the rest 1008): 20 at once,
#: then one a second; reconnecting with backoff never comes near.
CONNECTIONS = Limit(rate=1.0, burst=20)
#: Connect tickets per player: 30 at once (a page with many tabs), then two a second.
CONNECT = Limit(rate=2.0, burst=30)

MAX_KEYS = 50_000
"""Buckets kept per kind; the least recently used go first (a fresh bucket is full)."""


class RateLimits:
    """The buckets for each kind of call, by client key."""

    def __init__(
        self,
        limits: dict[str, Limit] | None = None,
        *,
        enabled: bool = True,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits: dict[str, Limit] = {
            "sessions": SESSIONS,
            "rooms": ROOMS,
            "tickets": TICKETS,
            "connect tickets": CONNECT,
            "invite attempts": INVITES,
            "invitations": INVITATIONS,
            "connections": CONNECTIONS,
        }
        self.limits.update(limits or {})
        self.enabled = enabled
        """False: every call is allowed (``MEEPLE_CREATE_LIMITS=off``)."""
        self.max_keys = max_keys
        self.clock = clock
        """What the buckets made from now on read (a test moves it instead of sleeping)."""
        self._buckets: dict[str, OrderedDict[str, TokenBucket]] = {}

    def configure(self, kind: str, rate: float, burst: int) -> None:
        """Change a kind's limit; its existing buckets are dropped."""
        self.limits[kind] = Limit(rate, burst)
        self._buckets.pop(kind, None)

    def check(self, kind: str, *keys: str) -> None:
        """Take one call of ``kind`` for each of ``keys``, or raise the 429 problem."""
        for key in keys:
            bucket = self._bucket(kind, key)
            if bucket is not None and not bucket.allow():
                wait = max(1, math.ceil(bucket.retry_after()))
                raise ProblemError(
                    429,
                    "rate_limited",
                    f"too many {kind}; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )

    def allow(self, kind: str, key: str) -> bool:
        """Take one call of ``kind`` for ``key`` if the limit allows it (for the edge,
        which answers with a close code rather than a problem)."""
        bucket = self._bucket(kind, key)
        return bucket is None or bucket.allow()

    def _bucket(self, kind: str, key: str) -> TokenBucket | None:
        if not self.enabled:
            return None
        limit = self.limits[kind]
        buckets = self._buckets.setdefault(kind, OrderedDict())
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(limit.rate, limit.burst, self.clock)
            if len(buckets) > self.max_keys:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
        return bucket
