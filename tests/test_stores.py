"""Contract tests for the stores: each runs against the in-memory and the Redis implementation,
and the durable ones (records, ratings) against SQLite and PostgreSQL too.

The Redis runs use the real Redis at ``REDIS_URL`` under a key prefix of the test's own
(``redis_prefix``), the PostgreSQL runs the real server at ``DATABASE_URL`` in a schema
of the test's own (``pg_schema``); they never skip. RedisJournal and RedisLeases have no
in-memory twin and are tested on Redis only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from redis import Redis as SyncRedis
from redis.asyncio import Connection, Redis

from meeple.lobby.players.ratings import rate_game, rate_record
from meeple.lobby.rooms.journal import Journal
from meeple.lobby.stores.base import (
    LOGIN_FAILURES_KEPT,
    MAX_INVITATIONS,
    Account,
    AccountStore,
    Changes,
    GameRecord,
    InvitationStore,
    LoginFailures,
    PlayerRating,
    PresenceStore,
    PushSubscriptions,
    RatingStore,
    RatingWindow,
    RecordStore,
    RoomDirectory,
    RoomSummary,
    SessionStore,
    Ticket,
    TicketQueue,
    hash_token,
    login_wait,
    new_id,
    pack,
    ticket_key,
)
from meeple.lobby.stores.memory import (
    MemoryAccountStore,
    MemoryFinishedGames,
    MemoryInvitations,
    MemoryLoginFailures,
    MemoryPresence,
    MemoryPushSubscriptions,
    MemoryRatingStore,
    MemoryRecordStore,
    MemoryRoomDirectory,
    MemorySessionStore,
    MemoryTicketQueue,
)
from meeple.lobby.stores.redis import (
    INDEXED_AGAIN_AFTER,
    PLAYER_ROOMS_TTL,
    Coalesced,
    RedisFinishedGames,
    RedisInvitations,
    RedisJournal,
    RedisLeases,
    RedisLoginFailures,
    RedisPresence,
    RedisPushSubscriptions,
    RedisRatingStore,
    RedisRecordStore,
    RedisRoomDirectory,
    RedisSessionStore,
    RedisTicketQueue,
    text,
)
from meeple.lobby.stores.sql import Database
from meeple.lobby.stores.sql.database import upgrade
from meeple.lobby.stores.sql.sessions import SqlSessionStore
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import private_redis, until

T0 = 1_700_000_000.0
"""A Unix time for stored timestamps (cursors compare them as fixed-width text)."""
WINDOW = RatingWindow()

REDIS = pytest.param("redis", marks=pytest.mark.redis)
IMPLS = ["memory", REDIS]
SQL_IMPLS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
DURABLE_IMPLS = [*IMPLS, *SQL_IMPLS]
"""Where records and ratings may be kept."""


class Impl:
    """Builds the stores of one implementation; the Redis ones all on the test's prefix."""

    def __init__(self, kind: str, prefix: str) -> None:
        self.kind = kind
        self.prefix = prefix
        self._clients: list[Redis] = []
        self.database: Database | None = None
        """The SQL runs' database, migrated to the newest schema."""

    @property
    def is_redis(self) -> bool:
        return self.kind == "redis"

    def client(self) -> Redis:
        """A Redis client of its own (as another process would have); closed after the test."""
        client = Redis.from_url(REDIS_URL)
        self._clients.append(client)
        return client

    @functools.cached_property
    def redis(self) -> Redis:
        return self.client()

    def sessions(self, ttl: float = 3600.0, clock: Callable[[], float] = time.time) -> SessionStore:
        """Sessions lapsing by ``clock``; Redis's lapse by Redis's own clock whatever it says."""
        if self.database is not None:
            return SqlSessionStore(self.database.engine, ttl, clock)
        if self.is_redis:
            return RedisSessionStore(self.redis, self.prefix, ttl, clock)
        return MemorySessionStore(ttl, clock)

    def login_failures(
        self, clock: Callable[[], float], client: Redis | None = None
    ) -> LoginFailures:
        if self.is_redis:
            return RedisLoginFailures(client or self.redis, self.prefix, clock)
        return MemoryLoginFailures(clock)

    def rooms(self) -> RoomDirectory:
        return (
            RedisRoomDirectory(self.redis, self.prefix) if self.is_redis else MemoryRoomDirectory()
        )

    def presence(self, clock: Callable[[], float] = time.time) -> PresenceStore:
        if self.is_redis:
            return RedisPresence(self.redis, self.prefix, clock)
        return MemoryPresence(clock)

    def invitations(self, clock: Callable[[], float] = time.time) -> InvitationStore:
        if self.is_redis:
            return RedisInvitations(self.redis, self.prefix, clock)
        return MemoryInvitations(clock)

    def lapse(self, ttl: float) -> Lapse:
        """Time passing for the TTLs Redis keeps by its own clock (session keys, settled
        tickets): real seconds there, a hand-moved clock for the stores that read one."""
        return Lapse(real=self.is_redis, ttl=REAL_TTL if self.is_redis else ttl)

    def push(self) -> PushSubscriptions:
        if self.is_redis:
            return RedisPushSubscriptions(self.redis, self.prefix)
        return MemoryPushSubscriptions()

    def tickets(self, client: Redis | None = None, keep_settled: float = 600.0) -> TicketQueue:
        if self.is_redis:
            return RedisTicketQueue(client or self.redis, self.prefix, keep_settled)
        return MemoryTicketQueue(keep_settled)

    def journal(self) -> Journal:
        """A journal with a connection of its own (as another process would have)."""
        if self.database is not None:
            return self.database.journal
        assert self.is_redis, "the journal is kept in Redis or SQL"
        return RedisJournal(self.client(), self.prefix)

    def records(self) -> RecordStore:
        if self.database is not None:
            return self.database.records
        return RedisRecordStore(self.redis, self.prefix) if self.is_redis else MemoryRecordStore()

    def ratings(self) -> RatingStore:
        if self.database is not None:
            return self.database.ratings
        return RedisRatingStore(self.redis, self.prefix) if self.is_redis else MemoryRatingStore()

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
        if self.database is not None:
            await self.database.close()


@pytest.fixture
def store_prefix(request: pytest.FixtureRequest) -> str:
    """The Redis key prefix for the Redis runs; the memory runs need no Redis at all."""
    if request.node.callspec.params.get("impl") == "redis":
        prefix: str = request.getfixturevalue("redis_prefix")
        return prefix
    return ""


@pytest.fixture(params=IMPLS)
async def impl(request: pytest.FixtureRequest, store_prefix: str) -> AsyncIterator[Impl]:
    stores = Impl(request.param, store_prefix)
    try:
        yield stores
    finally:
        await stores.close()


def place_of(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The kind of store ``request.param`` names and where it keeps things: a Redis prefix,
    an SQLite file or a PostgreSQL schema of the test's own (memory: nowhere that matters)."""
    kind: str = request.param
    if kind == "redis":
        return kind, request.getfixturevalue("redis_prefix")
    if kind == "postgres":
        return kind, request.getfixturevalue("pg_schema")
    return kind, str(tmp_path / "meeple.db")


@pytest.fixture(params=DURABLE_IMPLS)
def durable_place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Where records and ratings are kept."""
    return place_of(request, tmp_path)


@pytest.fixture(params=["memory", *SQL_IMPLS])
def accounts_place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Accounts live in memory (an app made in code) or in SQL, never in Redis."""
    return place_of(request, tmp_path)


@pytest.fixture
async def durable(durable_place: tuple[str, str]) -> AsyncIterator[Impl]:
    """The stores of what must last (records, ratings), in every implementation."""
    async with open_impl(*durable_place) as stores:
        yield stores


@pytest.fixture(params=[*IMPLS, *SQL_IMPLS])
def session_place(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Sessions live in memory or Redis, or (without Redis, so that they outlive a
    restart) in SQL."""
    return place_of(request, tmp_path)


@pytest.fixture
async def session_impl(session_place: tuple[str, str]) -> AsyncIterator[Impl]:
    async with open_impl(*session_place) as stores:
        yield stores


@pytest.fixture
async def accounts(accounts_place: tuple[str, str]) -> AsyncIterator[AccountStore]:
    async with open_impl(*accounts_place) as stores:
        yield stores.database.accounts if stores.database else MemoryAccountStore()


@contextlib.asynccontextmanager
async def open_impl(kind: str, where: str) -> AsyncIterator[Impl]:
    stores = Impl(kind, where if kind == "redis" else "")
    if kind == "sqlite":
        stores.database = Database(f"sqlite+aiosqlite:///{where}")
    elif kind == "postgres":
        stores.database = Database(DATABASE_URL, where)
    try:
        if stores.database is not None:
            await upgrade(stores.database.engine)
        yield stores
    finally:
        await stores.close()


# Accounts ---------------------------------------------------------------------------


def account(player_id: str, username: str | None, **changes: Any) -> Account:
    made = Account(
        player_id=player_id,
        username=username,
        username_key=username.casefold() if username else None,
        display_name=username or "Guest",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        is_bot=False,
        created_at=T0,
    )
    return replace(made, **changes)


async def test_accounts_create_get_and_find_by_username(accounts: AccountStore) -> None:
    ada = account("p_ada", "Ada")
    assert await accounts.create(ada) is True
    assert await accounts.get("p_ada") == ada
    assert await accounts.by_username("ada") == ada
    assert await accounts.by_username("bo") is None
    assert await accounts.get("p_bo") is None


async def test_accounts_usernames_and_ids_are_unique(accounts: AccountStore) -> None:
    assert await accounts.create(account("p_ada", "Ada"))
    assert await accounts.create(account("p_other", "ADA")) is False
    assert await accounts.create(account("p_ada", "Someone")) is False
    assert await accounts.by_username("someone") is None
    bots = [account(f"p_bot{i}", f"bot{i}", is_bot=True) for i in range(3)]
    assert await asyncio.gather(*(accounts.create(b) for b in bots)) == [True] * 3
    found = await accounts.get("p_bot1")
    assert found is not None and found.is_bot


async def test_accounts_update_renames_and_deletes(accounts: AccountStore) -> None:
    await accounts.create(account("p_ada", "Ada"))
    renamed = replace(account("p_ada", "Ada2"), display_name="Countess")
    await accounts.update(renamed)
    assert await accounts.get("p_ada") == renamed
    assert await accounts.by_username("ada") is None
    assert await accounts.by_username("ada2") == renamed
    gone = replace(renamed, username=None, username_key=None, password_hash=None, deleted_at=T0)
    await accounts.update(gone)
    assert await accounts.get("p_ada") == gone
    assert await accounts.by_username("ada2") is None
    assert await accounts.create(account("p_new", "Ada2"))  # the name is free again


async def test_accounts_replace_a_hash_only_if_it_is_still_the_one_read(
    accounts: AccountStore,
) -> None:
    ada = account("p_ada", "Ada")
    await accounts.create(ada)
    assert ada.password_hash is not None
    assert await accounts.replace_hash("p_ada", ada.password_hash, "$argon2id$new") is True
    assert await accounts.get("p_ada") == replace(ada, password_hash="$argon2id$new")
    # A log-in that read the old hash (the account deleted meanwhile) changes nothing.
    gone = replace(ada, username=None, username_key=None, password_hash=None, deleted_at=T0)
    await accounts.update(gone)
    assert await accounts.replace_hash("p_ada", "$argon2id$new", "$argon2id$newer") is False
    assert await accounts.get("p_ada") == gone
    assert await accounts.replace_hash("p_nobody", "$argon2id$new", "$argon2id$x") is False


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


REAL_TTL = 2.0
"""The TTL of what Redis expires by its own clock: there the lapse itself is under test,
so it takes real time, and a check that something is still alive comes a good fraction of
this before its expiry: that margin holds with both cores busy (0.2 s did not)."""


class Lapse:
    """Lets ``ttl``-scaled time pass for a store: sleeps on Redis (``real``), which
    expires keys by its own clock; otherwise moves ``clock`` (the store was given it)."""

    def __init__(self, real: bool, ttl: float) -> None:
        self.real = real
        self.ttl = ttl
        self.clock = Clock() if not real else time.time

    async def passes(self, ttls: float) -> None:
        """``ttls`` TTLs pass."""
        if self.real:
            await asyncio.sleep(ttls * self.ttl)  # the lapse under test, not a wait for an event
        else:
            assert isinstance(self.clock, Clock)
            self.clock.now += ttls * self.ttl


async def test_login_failures_wait_doubling_after_the_free_ones(impl: Impl) -> None:
    clock = Clock()
    failures = impl.login_failures(clock)
    for _ in range(2):
        await failures.failed("account:ada", free=3)
    assert await failures.wait(["account:ada"]) == 0.0  # two of three free failures
    await failures.failed("account:ada", free=3)
    assert await failures.wait(["account:ada", "address:1.2.3.4"]) == pytest.approx(1.0)
    await failures.failed("account:ada", free=3)
    assert await failures.wait(["account:ada"]) == pytest.approx(2.0)
    clock.now += 1.5
    assert await failures.wait(["address:1.2.3.4", "account:ada"]) == pytest.approx(0.5)
    assert await failures.wait(["account:bo"]) == 0.0
    for _ in range(30):
        await failures.failed("account:ada", free=3)
    assert await failures.wait(["account:ada"]) == pytest.approx(login_wait(34, 3))
    await failures.succeeded("account:ada")
    assert await failures.wait(["account:ada"]) == 0.0
    await failures.failed("account:ada", free=3)
    assert await failures.wait(["account:ada"]) == 0.0, "a success starts the count afresh"


async def test_login_failures_are_forgotten_a_day_after_the_last(impl: Impl) -> None:
    clock = Clock()
    failures = impl.login_failures(clock)
    for _ in range(3):
        await failures.failed("address:1.2.3.4", free=1)
    clock.now += LOGIN_FAILURES_KEPT + 1
    if impl.is_redis:  # Redis forgets by the key's TTL, in real time: look at the TTL
        ttl = await impl.redis.pttl(f"{impl.prefix}login:{hash_token('address:1.2.3.4')}")
        assert LOGIN_FAILURES_KEPT * 1000 - 10_000 < ttl <= LOGIN_FAILURES_KEPT * 1000
        return
    await failures.failed("address:1.2.3.4", free=1)
    assert await failures.wait(["address:1.2.3.4"]) == pytest.approx(1.0)


@pytest.mark.redis
async def test_login_failures_counted_at_once_by_many_processes_lose_none(
    redis_prefix: str,
) -> None:
    stores = Impl("redis", redis_prefix)
    try:
        clock = Clock()
        processes = [stores.login_failures(clock, stores.client()) for _ in range(3)]
        await asyncio.gather(
            *(p.failed("account:ada", free=5) for p in processes for _ in range(4))
        )
        # Twelve failures, five free: the next attempt waits 2 ** 7 s, on every process.
        for p in processes:
            assert await p.wait(["account:ada"]) == pytest.approx(128.0)
    finally:
        await stores.close()


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


# Sessions ---------------------------------------------------------------------------


async def test_session_create_gives_a_strong_token_and_a_player(session_impl: Impl) -> None:
    sessions = session_impl.sessions()
    before = time.time()
    token, session = await sessions.create("Ada")
    other_token, other = await sessions.create("Ada")

    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token
    assert len(token) >= 22  # 128 bits at 6 bits a character
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) * 8 >= 128
    assert token != other_token
    assert session.name == "Ada"
    assert session.player_id and other.player_id and session.player_id != other.player_id
    assert session.expires_at > before


async def test_session_get_returns_the_session_and_unknown_is_none(session_impl: Impl) -> None:
    sessions = session_impl.sessions()
    token, session = await sessions.create("Ada")
    got = await sessions.get(token)
    assert got is not None
    assert (got.player_id, got.name) == (session.player_id, "Ada")
    assert got.expires_at > time.time()
    assert await sessions.get("no-such-token") is None
    assert await sessions.get(token + "x") is None
    assert await sessions.get("") is None


async def test_session_expiry_slides_on_use(session_impl: Impl) -> None:
    lapse = session_impl.lapse(ttl=300)
    sessions = session_impl.sessions(lapse.ttl, lapse.clock)
    used, _ = await sessions.create("used")
    untouched, _ = await sessions.create("untouched")
    await lapse.passes(0.6)
    assert await sessions.get(used) is not None  # now good until 1.6 TTLs
    await lapse.passes(0.6)
    assert await sessions.get(used) is not None, "a session used at 0.6 TTLs is alive at 1.2"
    assert await sessions.get(untouched) is None, "an unused session is gone after its ttl"
    await lapse.passes(1.1)  # read at 1.2: good until 2.2 TTLs
    assert await sessions.get(used) is None


async def test_session_revoke(session_impl: Impl) -> None:
    sessions = session_impl.sessions()
    token, _ = await sessions.create("Ada")
    keep, kept = await sessions.create("Bob")
    await sessions.revoke(token)
    assert await sessions.get(token) is None
    await sessions.revoke(token)  # twice is fine
    await sessions.revoke("never-issued")
    got = await sessions.get(keep)
    assert got is not None and got.player_id == kept.player_id


async def test_sessions_for_an_account_and_revoking_all_of_a_player(session_impl: Impl) -> None:
    store = session_impl.sessions()
    tokens = [(await store.create("Ada", "p_ada"))[0] for _ in range(3)]
    other, _ = await store.create("Bo", "p_bo")
    guest, guest_session = await store.create("Guest")
    for token in tokens:
        found = await store.get(token)
        assert found is not None and (found.player_id, found.name) == ("p_ada", "Ada")
    await store.revoke_player("p_ada")
    assert [await store.get(t) for t in tokens] == [None, None, None]
    assert await store.get(other) is not None
    still = await store.get(guest)
    assert still is not None and still.player_id == guest_session.player_id
    await store.revoke_player("p_nobody")


async def test_log_out_everywhere_reaches_a_session_slid_past_its_first_ttl(impl: Impl) -> None:
    """A session in use outlives its first TTL; "log out everywhere" must still end it
    (Redis kept the player's set of sessions for one TTL after the log-in only)."""
    lapse = impl.lapse(ttl=300)
    store = impl.sessions(lapse.ttl, lapse.clock)
    token, _ = await store.create("Ada", "p_ada")
    for _ in range(4):  # used every half TTL: alive at twice its TTL
        await lapse.passes(0.5)
        assert await store.get(token) is not None
    await store.revoke_player("p_ada")
    assert await store.get(token) is None


@pytest.mark.redis
async def test_redis_sessions_keep_tokens_only_as_hashes(redis_prefix: str) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        sessions = RedisSessionStore(client, redis_prefix, ttl=60)
        tokens = [(await sessions.create(f"player{i}"))[0] for i in range(3)]
        await sessions.get(tokens[0])
        stored: list[bytes | str | None] = []
        async for key in client.scan_iter(f"{redis_prefix}*"):
            stored.append(key)
            kind = text(await client.type(key))
            if kind == "hash":
                for field, value in (await client.hgetall(key)).items():
                    stored += [field, value]
            elif kind == "string":
                stored.append(await client.get(key))
            else:  # no other types expected for sessions
                pytest.fail(f"unexpected {kind} key {key!r}")
        assert stored, "the sessions are stored under the prefix"
        assert all(isinstance(s, bytes) for s in stored), "the client decodes no replies"
        blob = b"\n".join(s for s in stored if isinstance(s, bytes))
        for token in tokens:
            assert token.encode() not in blob, "a raw token is stored in Redis"
            assert hash_token(token).encode() in blob
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_sessions_survive_a_restart(redis_prefix: str) -> None:
    first = Redis.from_url(REDIS_URL)
    second = Redis.from_url(REDIS_URL)
    try:
        token, session = await RedisSessionStore(first, redis_prefix, ttl=60).create("Ada")
        await first.aclose()
        again = await RedisSessionStore(second, redis_prefix, ttl=60).get(token)
        assert again is not None
        assert (again.player_id, again.name) == (session.player_id, "Ada")
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.parametrize("session_place", SQL_IMPLS, indirect=True)
async def test_sql_sessions_survive_a_restart_as_hashes(session_place: tuple[str, str]) -> None:
    """A second Database on the same place (the next run of the server) knows the token;
    the table holds only its hash; a revoke there ends it for the next run too."""
    kind, where = session_place
    async with open_impl(kind, where) as first:
        token, session = await first.sessions(ttl=60).create("Ada", "p_ada")
        gone, _ = await first.sessions(ttl=60).create("Bo")
        assert first.database is not None
        async with first.database.engine.connect() as conn:
            kept = [tuple(row) for row in await conn.execute(sa.text("SELECT * FROM sessions"))]
        assert kept and not any(token in str(row) or gone in str(row) for row in kept)
    async with open_impl(kind, where) as second:
        sessions = second.sessions(ttl=60)
        again = await sessions.get(token)
        assert again is not None and (again.player_id, again.name) == ("p_ada", "Ada")
        assert again.expires_at >= session.expires_at
        await sessions.revoke(gone)
    async with open_impl(kind, where) as third:
        assert await third.sessions(ttl=60).get(gone) is None
        assert await third.sessions(ttl=60).get(token) is not None


# Room directory ---------------------------------------------------------------------


def summary(
    room_id: str,
    *,
    game: str = "tictactoe",
    status: str = "waiting",
    free: int = 1,
    private: bool = False,
    created_at: float = T0,
    invite: str | None = None,
) -> RoomSummary:
    """What ``Room.summary()`` gives, for a two-seat room with ``free`` empty seats."""
    human = {"kind": "human", "player_id": "p_1", "name": "Ada", "on": True}
    empty = {"kind": "empty", "player_id": None, "name": None, "on": False}
    return {
        "id": room_id,
        "game": game,
        "status": status,
        "seat_count": 2,
        "seats": [human] * (2 - free) + [empty] * free,
        "free": free,
        "spectators": 0,
        "private": private,
        "invite": invite,
        "options": {"board": 3},
        "abandon": "forfeit",
        "seq": 0,
        "game_no": 0,
        "created_at": created_at,
    }


async def ids(
    rooms: RoomDirectory,
    *,
    game: str | None = None,
    status: str | None = None,
    free: bool | None = None,
) -> list[str]:
    """Every page of a listing, as room ids."""
    out: list[str] = []
    cursor = None
    while True:
        items, cursor = await rooms.page(
            game=game, status=status, free=free, cursor=cursor, limit=100
        )
        out += [s["id"] for s in items]
        if cursor is None:
            return out


async def test_rooms_put_get_remove(impl: Impl) -> None:
    rooms = impl.rooms()
    room = summary("r_1", invite="inv1")
    await rooms.put(room)
    assert await rooms.get("r_1") == room
    assert await rooms.get("r_2") is None
    changed = {**room, "status": "playing", "free": 0, "seq": 4}
    await rooms.put(changed)
    assert await rooms.get("r_1") == changed
    await rooms.remove("r_1")
    assert await rooms.get("r_1") is None
    assert await ids(rooms) == []
    await rooms.remove("r_1")  # twice is fine
    await rooms.remove("never")


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "in-one-write"])
async def test_rooms_page_filters_and_orders_newest_first(impl: Impl, together: bool) -> None:
    """Rooms put one by one or in one write (``put_many``: a loop turn's changed rooms)."""
    rooms = impl.rooms()
    rows = [
        summary("r_a", game="tictactoe", status="waiting", free=1, created_at=T0 + 1),
        summary("r_b", game="chess", status="waiting", free=2, created_at=T0 + 2),
        summary("r_c", game="tictactoe", status="playing", free=0, created_at=T0 + 3),
        summary("r_d", game="tictactoe", status="waiting", free=0, created_at=T0 + 4),
        summary("r_e", game="chess", status="finished", free=0, created_at=T0 + 5),
        summary("r_p", game="tictactoe", private=True, invite="sec", created_at=T0 + 6),
        summary("r_q", game="chess", private=True, free=2, created_at=T0 + 7),
        summary("r_f", game="tictactoe", status="waiting", free=2, created_at=T0 + 0.5),
    ]
    if together:
        await rooms.put_many(list(reversed(rows)))
    for row in [] if together else reversed(rows):  # order of puts must not matter
        await rooms.put(row)

    assert await ids(rooms) == ["r_e", "r_d", "r_c", "r_b", "r_a", "r_f"]
    assert await ids(rooms, game="tictactoe") == ["r_d", "r_c", "r_a", "r_f"]
    assert await ids(rooms, game="chess") == ["r_e", "r_b"]
    assert await ids(rooms, game="go") == []
    assert await ids(rooms, status="waiting") == ["r_d", "r_b", "r_a", "r_f"]
    assert await ids(rooms, status="playing") == ["r_c"]
    assert await ids(rooms, status="finished") == ["r_e"]
    assert await ids(rooms, free=True) == ["r_b", "r_a", "r_f"]
    assert await ids(rooms, free=False) == ["r_e", "r_d", "r_c"]
    assert await ids(rooms, game="tictactoe", status="waiting", free=True) == ["r_a", "r_f"]
    assert await ids(rooms, game="chess", status="waiting", free=False) == []
    items, cursor = await rooms.page(game=None, status=None, free=None, cursor=None, limit=100)
    assert cursor is None
    assert items[0] == rows[4]
    assert all(not s["private"] for s in items)
    moved = [{**rows[2], "status": "finished"}, {**rows[0], "status": "playing"}]
    await rooms.put_many(moved)  # two rooms change status in one write
    assert await ids(rooms, status="playing") == ["r_a"]
    assert await ids(rooms, status="finished") == ["r_e", "r_c"]
    assert await ids(rooms, status="waiting") == ["r_d", "r_b", "r_f"]
    assert await rooms.room_for_invite("sec") == "r_p"


async def test_rooms_cursor_pages_have_no_duplicates_and_no_gaps(impl: Impl) -> None:
    rooms = impl.rooms()
    for i in range(25):
        await rooms.put(summary(f"r_{i:02d}", created_at=T0 + i * 0.25))
    await rooms.put(summary("r_private", private=True, created_at=T0 + 3))
    pages: list[list[str]] = []
    cursor = None
    while True:
        items, cursor = await rooms.page(game=None, status=None, free=None, cursor=cursor, limit=10)
        pages.append([s["id"] for s in items])
        if cursor is None:
            break
        assert len(pages) < 10, "the cursor never ends"
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for page in pages for i in page] == [f"r_{i:02d}" for i in reversed(range(25))]


async def test_rooms_cursor_pages_with_equal_creation_times(impl: Impl) -> None:
    rooms = impl.rooms()
    expected = []
    for i in range(12):
        room = summary(f"r_{i:02d}", created_at=T0 + i // 4)  # four rooms a timestamp
        await rooms.put(room)
        expected.append(room)
    expected.sort(key=lambda s: (s["created_at"], s["id"]), reverse=True)
    seen: list[str] = []
    cursor = None
    for _ in range(12):
        items, cursor = await rooms.page(game=None, status=None, free=None, cursor=cursor, limit=3)
        seen += [s["id"] for s in items]
        if cursor is None:
            break
    assert seen == [s["id"] for s in expected]


async def test_rooms_cursor_pages_with_sub_microsecond_creation_times(impl: Impl) -> None:
    rooms = impl.rooms()
    await rooms.put(summary("r_a", created_at=T0 + 0.0000004))
    await rooms.put(summary("r_b", created_at=T0 + 0.0000002))
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        items, cursor = await rooms.page(game=None, status=None, free=None, cursor=cursor, limit=1)
        seen += [s["id"] for s in items]
        if cursor is None:
            break
    assert sorted(seen) == ["r_a", "r_b"]


async def test_room_moves_between_status_filters(impl: Impl) -> None:
    rooms = impl.rooms()
    room = summary("r_1", status="waiting", free=1)
    await rooms.put(room)
    await rooms.put(summary("r_2", status="waiting", free=1, created_at=T0 - 1))
    assert await ids(rooms, status="waiting") == ["r_1", "r_2"]

    await rooms.put({**room, "status": "playing", "free": 0})
    assert await ids(rooms, status="waiting") == ["r_2"]
    assert await ids(rooms, status="playing") == ["r_1"]
    assert await ids(rooms, game="tictactoe", status="playing") == ["r_1"]
    assert await ids(rooms, free=True) == ["r_2"]
    assert await ids(rooms) == ["r_1", "r_2"]

    await rooms.put({**room, "status": "finished", "free": 0})
    assert await ids(rooms, status="playing") == []
    assert await ids(rooms, game="tictactoe", status="playing") == []
    assert await ids(rooms, status="finished") == ["r_1"]

    await rooms.put({**room, "status": "waiting", "free": 2, "game_no": 1})  # a rematch
    assert await ids(rooms, status="finished") == []
    assert await ids(rooms, status="waiting", free=True) == ["r_1", "r_2"]

    await rooms.remove("r_1")
    for status in ("waiting", "playing", "finished", None):
        assert "r_1" not in await ids(rooms, status=status)
        assert "r_1" not in await ids(rooms, game="tictactoe", status=status)


async def test_room_for_invite(impl: Impl) -> None:
    rooms = impl.rooms()
    await rooms.put(summary("r_secret", private=True, invite="code123"))
    await rooms.put(summary("r_open", invite="open456"))
    assert await rooms.room_for_invite("code123") == "r_secret"
    assert await rooms.room_for_invite("open456") == "r_open"
    assert await rooms.room_for_invite("nope") is None
    assert await ids(rooms) == ["r_open"]
    await rooms.remove("r_secret")
    assert await rooms.room_for_invite("code123") is None
    assert await rooms.room_for_invite("open456") == "r_open"


async def test_rooms_of_a_player_follow_their_seats(impl: Impl) -> None:
    rooms = impl.rooms()
    bo = {"kind": "human", "player_id": "p_2", "name": "Bo", "on": False}
    bot = {"kind": "bot", "player_id": "bot:r_3:1", "name": "Bot", "on": True}
    await rooms.put(summary("r_1"))
    await rooms.put({**summary("r_2", private=True, invite="c0de", free=0), "seats": [
        summary("r_2")["seats"][0], bo]})  # fmt: skip
    await rooms.put({**summary("r_3", free=0), "seats": [summary("r_3")["seats"][0], bot]})
    assert sorted(s["id"] for s in await rooms.rooms_of("p_1")) == ["r_1", "r_2", "r_3"]
    assert [s["id"] for s in await rooms.rooms_of("p_2")] == ["r_2"]  # private ones too
    assert await rooms.rooms_of("bot:r_3:1") == [] and await rooms.rooms_of("p_9") == []
    await rooms.put({**summary("r_2", private=True, invite="c0de"), "seats": [bo, bo]})
    await rooms.remove("r_3")  # gone, and p_1 gave r_2's seat up: neither listed any more
    assert [s["id"] for s in await rooms.rooms_of("p_1")] == ["r_1"]
    assert [s["id"] for s in await rooms.rooms_of("p_2")] == ["r_2"]


@pytest.mark.redis
async def test_a_redis_directory_writes_the_players_indexes_when_the_seating_changes(
    redis_prefix: str,
) -> None:
    """Moves put a room's summary again and again with the same players seated; their
    "my games" indexes are written when the seating changes, and once a minute at most
    otherwise, which is also what a Redis that lost them waits to get them back."""
    now = [0.0]
    async with Redis.from_url(REDIS_URL) as redis:
        rooms = RedisRoomDirectory(redis, redis_prefix, clock=lambda: now[0])
        ada_rooms = f"{redis_prefix}player:{{p_1}}:rooms"
        await rooms.put(summary("r_1"))
        assert await redis.smembers(ada_rooms) == {b"r_1"}
        await redis.delete(ada_rooms)  # as a Redis that lost its data
        now[0] += INDEXED_AGAIN_AFTER - 1
        await rooms.put({**summary("r_1"), "status": "playing"})  # a move: same seating
        assert await redis.exists(ada_rooms) == 0
        assert (await rooms.get("r_1") or {}).get("status") == "playing"  # summary written
        bo = {"kind": "human", "player_id": "p_2", "name": "Bo", "on": True}
        await rooms.put({**summary("r_1", free=0), "seats": [summary("r_1")["seats"][0], bo]})
        assert await redis.smembers(ada_rooms) == {b"r_1"}  # seating changed: written
        assert [s["id"] for s in await rooms.rooms_of("p_2")] == ["r_1"]
        await redis.delete(ada_rooms)
        swapped = [bo, summary("r_1")["seats"][0]]  # a rematch: the same two, seats swapped
        await rooms.put({**summary("r_1", free=0), "seats": swapped})
        assert await redis.exists(ada_rooms) == 0
        now[0] += INDEXED_AGAIN_AFTER
        await rooms.put({**summary("r_1", free=0), "seats": [summary("r_1")["seats"][0], bo]})
        assert await redis.smembers(ada_rooms) == {b"r_1"}  # a minute on: written again
        assert 0 < await redis.ttl(ada_rooms) <= PLAYER_ROOMS_TTL
        await rooms.remove("r_1")
        await rooms.put(summary("r_1"))  # made again after its removal: written at once
        assert await redis.smembers(ada_rooms) == {b"r_1"}


async def test_push_subscriptions_by_endpoint_at_most_ten(impl: Impl) -> None:
    subs = impl.push()

    def sub(i: int) -> dict[str, Any]:
        return {"endpoint": f"https://push.example/{i}", "keys": {"p256dh": "k", "auth": "a"}}

    for i in range(12):
        await subs.add("p_1", sub(i))
    await subs.add("p_1", {**sub(11), "keys": {"p256dh": "k2", "auth": "a2"}})  # the same again
    mine = await subs.of("p_1")
    assert sorted(s["endpoint"] for s in mine) == sorted(sub(i)["endpoint"] for i in range(2, 12))
    assert [s["keys"]["p256dh"] for s in mine if s["endpoint"].endswith("/11")] == ["k2"]
    assert await subs.of("p_2") == []
    await subs.remove("p_1", sub(5)["endpoint"])
    await subs.remove("p_2", sub(5)["endpoint"])  # nothing there: no error
    assert len(await subs.of("p_1")) == 9


# Presence and invitations -------------------------------------------------------------


async def test_presence_per_node_until_it_lapses(impl: Impl) -> None:
    """Two processes renew the same player; one leaving keeps them present through the
    other; a node that stops renewing (it died) lapses after its ttl."""
    clock = Clock()  # what presence is scored by (the keys' own TTL is only a clean-up)
    here = impl.presence(clock)
    assert not await here.present("p_1")
    await here.renew("n_a", ["p_1", "p_2"], ttl=60)
    await here.renew("n_b", ["p_1"], ttl=20)
    await here.renew("n_b", [], ttl=20)  # nobody: nothing to do
    assert await here.present("p_1") and await here.present("p_2")
    await here.leave("n_a", "p_1")
    assert await here.present("p_1")  # still on n_b
    await here.leave("n_a", "p_3")  # never there: no error
    clock.now += 30
    assert not await here.present("p_1"), "n_b stopped renewing: p_1 is gone"
    assert await here.present("p_2")
    await here.leave("n_a", "p_2")
    assert not await here.present("p_2")


async def test_invitations_one_per_room_newest_first_until_they_expire(impl: Impl) -> None:
    clock = Clock()
    kept = impl.invitations(clock)
    now = clock.now

    def invitation(room: str, at: float, ttl: float = 60.0) -> dict[str, Any]:
        by = {"player_id": "p_a", "name": "Ada"}
        return {"room": room, "game": "tictactoe", "from": by, "at": at, "expires_at": at + ttl}

    await kept.add("p_1", invitation("r_1", now))
    await kept.add("p_1", invitation("r_2", now + 1, ttl=0.3))
    await kept.add("p_1", invitation("r_1", now + 2))  # asked again: the newest stands
    assert [(i["room"], i["at"]) for i in await kept.of("p_1")] == [
        ("r_1", now + 2),
        ("r_2", now + 1),
    ]
    assert await kept.of("p_2") == []
    clock.now += 1.4
    assert [i["room"] for i in await kept.of("p_1")] == ["r_1"]  # r_2's expired
    await kept.remove("p_1", "r_1")
    await kept.remove("p_1", "r_9")  # nothing there: no error
    assert await kept.of("p_1") == []
    for i in range(MAX_INVITATIONS + 3):
        await kept.add("p_3", invitation(f"r_{i}", now + i))
    mine = await kept.of("p_3")
    assert len(mine) == MAX_INVITATIONS and mine[0]["room"] == f"r_{MAX_INVITATIONS + 2}"


# Quick-match tickets ----------------------------------------------------------------


def ticket(
    player: str,
    *,
    game: str = "tictactoe",
    seats: int = 2,
    rating: float = 1500.0,
    options: dict[str, Any] | None = None,
    created_at: float | None = None,
    ttl: float = 60.0,
) -> Ticket:
    now = time.time() if created_at is None else created_at
    return Ticket(
        id=new_id("t"),
        player_id=player,
        name=player.upper(),
        game=game,
        options={"board": 3} if options is None else options,
        seats=seats,
        rating=rating,
        created_at=now,
        expires_at=now + ttl,
    )


def matched(group: list[Ticket], room: str) -> list[Ticket]:
    now = time.time()
    return [
        replace(t, status="matched", room=room, seat=i, settled_at=now) for i, t in enumerate(group)
    ]


async def test_ticket_add_and_get(impl: Impl) -> None:
    queue = impl.tickets()
    first = ticket("p_1")
    assert await queue.add(first) == (first, True)
    assert await queue.get(first.id) == first
    assert await queue.get("t_unknown") is None


async def test_second_ticket_for_the_same_game_returns_the_first(impl: Impl) -> None:
    queue = impl.tickets()
    first = ticket("p_1")
    await queue.add(first)
    second = ticket("p_1", options={"board": 4})
    assert await queue.add(second) == (first, False)
    assert await queue.get(second.id) is None, "the new ticket is dropped"
    other_game = ticket("p_1", game="chess")
    assert await queue.add(other_game) == (other_game, True)
    # while matching the first ticket is still live
    await queue.add(ticket("p_2"))
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None and first.id in {t.id for t in group}
    stored, created = await queue.add(ticket("p_1"))
    assert not created and stored.id == first.id and stored.status == "matching"


async def test_take_group_takes_as_many_as_the_seats(impl: Impl) -> None:
    queue = impl.tickets()
    a = ticket("p_a")
    await queue.add(a)
    assert await queue.take_group(time.time(), WINDOW) is None, "one ticket is no group"
    b = ticket("p_b")
    await queue.add(b)
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None
    assert {t.id for t in group} == {a.id, b.id}
    assert all(t.status == "matching" for t in group)
    assert len({t.key for t in group}) == 1
    assert group[0].key == ticket_key("tictactoe", 2, {"board": 3})
    assert await queue.take_group(time.time(), WINDOW) is None, "taken tickets are not retaken"
    got = await queue.get(a.id)
    assert got is not None and got.status == "matching"

    trio = [ticket(f"p_{i}", game="liars_dice", seats=3) for i in range(3)]
    for t in trio[:2]:
        await queue.add(t)
    assert await queue.take_group(time.time(), WINDOW) is None
    await queue.add(trio[2])
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None and {t.id for t in group} == {t.id for t in trio}


async def test_tickets_with_different_options_or_seats_do_not_mix(impl: Impl) -> None:
    queue = impl.tickets()
    a = ticket("p_a", options={"board": 3})
    await queue.add(a)
    await queue.add(ticket("p_b", options={"board": 4}))
    await queue.add(ticket("p_c", options={"board": 3}, seats=3))
    await queue.add(ticket("p_d", game="chess", options={"board": 3}))
    assert await queue.take_group(time.time(), WINDOW) is None
    c = ticket("p_e", options={"board": 3})
    await queue.add(c)
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None and {t.id for t in group} == {a.id, c.id}


async def test_rating_window_widens_while_tickets_wait(impl: Impl) -> None:
    queue = impl.tickets()
    t0 = time.time()
    low = ticket("p_low", rating=1500, created_at=t0)
    high = ticket("p_high", rating=2000, created_at=t0)
    await queue.add(low)
    await queue.add(high)
    waited = 0.0
    while WINDOW.width(waited) < 500:
        waited += WINDOW.every
    assert waited == 40.0
    for early in (0.0, 5.0, 20.0, waited - 0.1):
        assert await queue.take_group(t0 + early, WINDOW) is None, f"grouped after {early} s"
    group = await queue.take_group(t0 + waited, WINDOW)
    assert group is not None and {t.id for t in group} == {low.id, high.id}


async def test_rating_window_must_fit_every_member(impl: Impl) -> None:
    queue = impl.tickets()
    t0 = time.time()
    old = ticket("p_old", rating=1500, created_at=t0)
    new = ticket("p_new", rating=2000, created_at=t0 + 100)  # just arrived at t0 + 100
    await queue.add(old)
    await queue.add(new)
    assert await queue.take_group(t0 + 100, WINDOW) is None
    near = ticket("p_near", rating=1950, created_at=t0 + 100)
    await queue.add(near)
    group = await queue.take_group(t0 + 100, WINDOW)
    assert group is not None and {t.id for t in group} == {new.id, near.id}


async def test_settle_matched(impl: Impl) -> None:
    queue = impl.tickets()
    await queue.add(ticket("p_a"))
    await queue.add(ticket("p_b"))
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None
    done = matched(group, "r_1")
    await queue.settle(done)
    for t in done:
        got = await queue.get(t.id)
        assert got == t
        assert got is not None and (got.status, got.room, got.seat) == ("matched", "r_1", t.seat)
    assert await queue.take_group(time.time(), WINDOW) is None
    again = ticket("p_a")
    assert await queue.add(again) == (again, True), "a matched player may queue again"
    assert await queue.take_group(time.time(), WINDOW) is None


async def test_settle_waiting_puts_tickets_back(impl: Impl) -> None:
    queue = impl.tickets()
    a, b = ticket("p_a"), ticket("p_b")
    await queue.add(a)
    await queue.add(b)
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None
    await queue.settle([replace(t, status="waiting") for t in group])
    got = await queue.get(a.id)
    assert got is not None and got.status == "waiting"
    assert await queue.add(ticket("p_a")) == (got, False)
    again = await queue.take_group(time.time(), WINDOW)
    assert again is not None and {t.id for t in again} == {a.id, b.id}


async def test_cancel(impl: Impl) -> None:
    queue = impl.tickets()
    a = ticket("p_a")
    await queue.add(a)
    now = time.time()
    cancelled = await queue.cancel(a.id, now)
    assert cancelled is not None
    assert (cancelled.id, cancelled.status, cancelled.settled_at) == (a.id, "cancelled", now)
    assert await queue.get(a.id) == cancelled
    assert await queue.cancel(a.id, now + 1) == cancelled, "cancelling twice changes nothing"
    assert await queue.cancel("t_unknown", now) is None
    await queue.add(ticket("p_b"))
    assert await queue.take_group(time.time(), WINDOW) is None, "a cancelled ticket is out"
    fresh = ticket("p_a")
    assert await queue.add(fresh) == (fresh, True)

    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None
    taking = group[0]
    assert await queue.cancel(taking.id, time.time()) == taking, "matching: no-op"
    done = matched(group, "r_1")
    await queue.settle(done)
    assert await queue.cancel(done[0].id, time.time()) == done[0], "matched: no-op"
    assert await queue.get(done[0].id) == done[0]


async def test_expire(impl: Impl) -> None:
    queue = impl.tickets()
    t0 = time.time()
    short = ticket("p_short", created_at=t0, ttl=10)
    long = ticket("p_long", created_at=t0, ttl=100, options={"board": 4})
    await queue.add(short)
    await queue.add(long)
    assert await queue.expire(t0 + 5) == []
    expired = await queue.expire(t0 + 10.5)
    assert [t.id for t in expired] == [short.id]
    assert expired[0].status == "expired"
    got = await queue.get(short.id)
    assert got is not None and got.status == "expired"
    still = await queue.get(long.id)
    assert still is not None and still.status == "waiting"
    assert await queue.expire(t0 + 11) == [], "an expired ticket expires once"
    await queue.add(ticket("p_other", created_at=t0 + 10))
    assert await queue.take_group(t0 + 10.5, WINDOW) is None, "an expired ticket is out"
    fresh = ticket("p_short")
    assert await queue.add(fresh) == (fresh, True)


async def test_long_settled_tickets_are_forgotten(impl: Impl) -> None:
    queue = impl.tickets(keep_settled=REAL_TTL if impl.is_redis else 0.2)
    for player in ("p_a", "p_b", "p_c"):
        await queue.add(ticket(player, ttl=0.1))
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None
    done = matched(group, "r_1")
    await queue.settle(done)
    [left] = {"p_a", "p_b", "p_c"} - {t.player_id for t in group}
    [expired] = await queue.expire(time.time() + 0.15)
    assert expired.player_id == left
    assert await queue.get(done[0].id) == done[0], "kept a while after settling"
    if impl.is_redis:  # Redis forgets them by its own clock: that lapse is under test
        await asyncio.sleep(1.5 * REAL_TTL)
        later = time.time()
    else:  # the memory queue forgets by the time ``expire`` is told
        later = time.time() + 1.0
    await queue.expire(later)
    for t in [*done, expired]:
        assert await queue.get(t.id) is None, f"{t.status} ticket still kept"


async def test_concurrent_adds_by_one_player_make_one_ticket(impl: Impl) -> None:
    queue = impl.tickets()
    tickets = [ticket("p_a", options={"board": 3 + i % 2}) for i in range(10)]
    results = await asyncio.gather(*(queue.add(t) for t in tickets))
    created = [t for t, new in results if new]
    assert len(created) == 1
    assert all(t == created[0] for t, _ in results)
    await queue.add(ticket("p_b", options=created[0].options))
    group = await queue.take_group(time.time(), WINDOW)
    assert group is not None and created[0].id in {t.id for t in group}
    assert await queue.take_group(time.time(), WINDOW) is None


async def drain(queues: list[TicketQueue], workers: int) -> list[list[str]]:
    """Workers taking and settling groups until none is left; the groups each took."""
    taken: list[list[str]] = [[] for _ in range(workers)]

    async def work(n: int) -> None:
        queue = queues[n % len(queues)]
        while True:
            group = await queue.take_group(time.time(), WINDOW)
            if group is None:
                return
            taken[n].append(",".join(t.id for t in group))
            await asyncio.sleep(0)
            await queue.settle(matched(group, f"r_{n}_{len(taken[n])}"))

    await asyncio.gather(*(work(n) for n in range(workers)))
    return taken


async def check_every_ticket_taken_once(
    queue: TicketQueue, workers: int, queues: list[TicketQueue]
) -> None:
    tickets = [ticket(f"p_{i:02d}", rating=1500 + i) for i in range(40)]
    results = await asyncio.gather(*(queues[i % len(queues)].add(t) for i, t in enumerate(tickets)))
    assert all(created for _, created in results)
    taken = await drain(queues, workers)
    groups = [g.split(",") for per_worker in taken for g in per_worker]
    assert all(len(g) == 2 for g in groups)
    ids_taken = [i for g in groups for i in g]
    assert len(ids_taken) == len(set(ids_taken)), "a ticket was taken twice"
    assert set(ids_taken) == {t.id for t in tickets}, "a ticket was lost"
    for t in tickets:
        got = await queue.get(t.id)
        assert got is not None and got.status == "matched"
    assert await queue.take_group(time.time(), WINDOW) is None


async def test_concurrent_workers_take_every_ticket_once(impl: Impl) -> None:
    queue = impl.tickets()
    await check_every_ticket_taken_once(queue, 4, [queue])


@pytest.mark.redis
async def test_two_redis_queues_on_two_clients_take_every_ticket_once(redis_prefix: str) -> None:
    clients = [Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)]
    try:
        queues: list[TicketQueue] = [RedisTicketQueue(c, redis_prefix) for c in clients]
        await check_every_ticket_taken_once(queues[0], 4, queues)
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.redis
async def test_a_lock_left_by_a_dead_process_delays_the_queue_and_fails_nothing(
    redis_prefix: str,
) -> None:
    client = Redis.from_url(REDIS_URL)
    try:
        # A process killed inside a critical section leaves the lock for its whole TTL.
        await client.set(f"{redis_prefix}mm:lock", "dead-process", px=1000)
        queue = RedisTicketQueue(client, redis_prefix, lock_ttl=1.0)
        started = time.monotonic()
        mine = ticket("p1")
        stored, created = await queue.add(mine)
        assert created and stored == mine
        assert time.monotonic() - started >= 0.5
        assert await queue.expire(time.time()) == []
    finally:
        await client.aclose()


# Finished games ---------------------------------------------------------------------


def game_record(record_id: str, finished_at: float, *seats: tuple[str, str | None]) -> GameRecord:
    return {
        "id": record_id,
        "room": record_id.split("-")[0],
        "game": "tictactoe",
        "game_no": 0,
        "options": {"board": 3},
        "seed": "s33d",
        "seat_count": len(seats),
        "seats": [
            {"kind": kind, "player_id": player, "name": player and player.upper()}
            for kind, player in seats
        ],
        "outcome": {"winners": [0], "draw": False, "returns": [1.0, -1.0]},
        "log": [{"s": 1, "seat": 0, "a": {"cell": 4}}],
        "finished_at": finished_at,
    }


async def for_player_pages(records: RecordStore, player: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        items, cursor = await records.for_player(player, cursor=cursor, limit=limit)
        pages.append([r["id"] for r in items])
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ends"


async def test_record_put_get(durable: Impl) -> None:
    records = durable.records()
    record = game_record("r_1-0", T0, ("human", "p_a"), ("human", "p_b"))
    await records.put(record)
    assert await records.get("r_1-0") == record
    assert await records.get("r_1-1") is None


async def test_a_record_put_twice_is_kept_once(durable: Impl) -> None:
    """A room that failed over may finish the same game again (same room, same number)."""
    records = durable.records()
    record = game_record("r_1-0", T0, ("human", "p_a"), ("human", "p_b"))
    record |= {"private": True, "invite": "c0de", "creator": "p_a"}
    await records.put(record)
    await records.put(record)
    assert await records.get("r_1-0") == record
    assert await for_player_pages(records, "p_a", 5) == [["r_1-0"]]


async def test_records_for_player_newest_first_with_cursor(durable: Impl) -> None:
    records = durable.records()
    for i in range(7):
        await records.put(
            game_record(f"r_{i}-0", T0 + i * 10.5, ("human", "p_a"), ("human", f"p_{i}"))
        )
    await records.put(game_record("r_x-0", T0 + 3, ("human", "p_b"), ("human", "p_c")))
    expected = [f"r_{i}-0" for i in reversed(range(7))]
    assert await for_player_pages(records, "p_a", 100) == [expected]
    assert await for_player_pages(records, "p_a", 3) == [expected[:3], expected[3:6], expected[6:]]
    assert await for_player_pages(records, "p_a", 7) == [expected]
    assert await for_player_pages(records, "p_3", 3) == [["r_3-0"]]
    assert await for_player_pages(records, "p_nobody", 3) == [[]]
    items, _ = await records.for_player("p_a", cursor=None, limit=1)
    assert items == [await records.get("r_6-0")]


async def test_records_for_player_with_equal_finishing_times(durable: Impl) -> None:
    records = durable.records()
    for i in range(6):
        await records.put(game_record(f"r_{i}-0", T0 + i // 3, ("human", "p_a")))
    flat = [i for page in await for_player_pages(records, "p_a", 2) for i in page]
    assert flat == ["r_5-0", "r_4-0", "r_3-0", "r_2-0", "r_1-0", "r_0-0"]


async def test_records_for_player_with_many_equal_finishing_times(durable: Impl) -> None:
    records = durable.records()
    for i in range(15):
        await records.put(game_record(f"r_{i:02d}-0", T0, ("human", "p_a")))
    flat = [i for page in await for_player_pages(records, "p_a", 2) for i in page]
    assert flat == [f"r_{i:02d}-0" for i in reversed(range(15))]


async def test_only_human_seats_index_a_record(durable: Impl) -> None:
    records = durable.records()
    await records.put(
        game_record("r_1-0", T0, ("human", "p_a"), ("bot", "b_random"), ("empty", None))
    )
    assert await for_player_pages(records, "p_a", 5) == [["r_1-0"]]
    assert await for_player_pages(records, "b_random", 5) == [[]]
    assert await for_player_pages(records, "", 5) == [[]]
    assert await for_player_pages(records, "None", 5) == [[]]


async def test_renaming_a_player_in_records_and_ratings(durable: Impl) -> None:
    """A deleted account's games stay in the others' histories, under another name."""
    records, ratings = durable.records(), durable.ratings()
    await records.put(game_record("r_1-0", T0, ("human", "p_a"), ("human", "p_b")))
    await records.put(game_record("r_2-0", T0 + 1, ("human", "p_c"), ("human", "p_b")))
    await ratings.put_many("chess", [rating("p_a", 1600), rating("p_b", 1400)])
    await ratings.put_many("tictactoe", [rating("p_a", 1550)])
    await records.rename_player("p_a", "gone")
    await ratings.rename_player("p_a", "gone")
    items, _ = await records.for_player("p_b", cursor=None, limit=5)
    assert [[s["name"] for s in r["seats"]] for r in items] == [["P_C", "P_B"], ["gone", "P_B"]]
    assert await ratings.get("chess", "p_a") == replace(rating("p_a", 1600), name="gone")
    assert await ratings.get("tictactoe", "p_a") == replace(rating("p_a", 1550), name="gone")
    assert await ratings.get("chess", "p_b") == rating("p_b", 1400)


# Ratings ----------------------------------------------------------------------------


def rating(player: str, value: float, games: int = 1) -> PlayerRating:
    return PlayerRating(player, player.upper(), value, 200.0, 0.06, games)


async def test_ratings_put_many_get(durable: Impl) -> None:
    ratings = durable.ratings()
    a, b = rating("p_a", 1520.5), rating("p_b", 1479.5)
    await ratings.put_many("tictactoe", [a, b])
    assert await ratings.get("tictactoe", "p_a") == a
    assert await ratings.get("tictactoe", "p_b") == b
    assert await ratings.get("chess", "p_a") is None
    assert await ratings.get("tictactoe", "p_c") is None
    a2 = rating("p_a", 1400.0, games=2)
    await ratings.put_many("tictactoe", [a2])
    assert await ratings.get("tictactoe", "p_a") == a2
    await ratings.put_many("tictactoe", [])


@pytest.mark.server_errors("a corrupt outcome")
async def test_memory_finished_games_are_written_once_and_a_bad_one_fails_alone() -> None:
    """In memory, the games handed over in a loop turn are written in the order they
    ended (Ada's second game rated from her first); a game handed over again changes
    nothing; one whose rating raises is counted as failed and leaves no record, and
    the others of its batch are written all the same. A reader waits for its game."""
    records, ratings, failed = MemoryRecordStore(), MemoryRatingStore(), []

    def rate(record: GameRecord, before: Any) -> Any:
        if record["id"] == "r_bad-0":
            raise ValueError("a corrupt outcome")
        return rate_record(record, before)

    finished = MemoryFinishedGames(records, ratings, rate, lambda: failed.append(1))
    first = game_record("r_1-0", T0, ("human", "p_ada"), ("human", "p_bo"))
    second = game_record("r_2-0", T0 + 1, ("human", "p_ada"), ("human", "p_cy"))
    bad = game_record("r_bad-0", T0 + 2, ("human", "p_ada"), ("human", "p_di"))
    for game in (first, bad, second, first):
        finished.add(game)
    await finished.written("r_2-0")
    assert await records.get("r_2-0") == second and await records.get("r_bad-0") is None
    assert failed == [1]
    ada = await ratings.get("tictactoe", "p_ada")
    assert ada is not None and ada.games == 2
    assert await ratings.get("tictactoe", "p_di") is None
    await finished.drain()


@pytest.mark.redis
async def test_redis_games_finished_together_are_written_as_one_at_a_time(
    redis_prefix: str,
) -> None:
    """With Redis for everything, the games that finish in one loop turn are written
    together (``RedisFinishedGames``: one read of their ratings, one script call): the
    same records, histories, expiry and ratings as ``records.put`` and ``rate_game`` one
    game at a time, a player's games in the batch rated in the order they finished."""
    redis = Redis.from_url(REDIS_URL)
    try:
        one, batched = f"{redis_prefix}one:", f"{redis_prefix}batched:"
        games = [game_record(f"r_{i}-0", T0 + i, ("human", "p_ada"), ("human", f"p_{i % 3}"))
                 for i in range(7)]  # fmt: skip
        games[3] = game_record("r_3-0", T0 + 3, ("human", "p_2"), ("human", "p_ada"))
        games[5] = game_record("r_5-0", T0 + 5, ("human", "p_ada"), ("bot", None))  # unrated
        records, ratings = RedisRecordStore(redis, one), RedisRatingStore(redis, one)
        for game in games:
            await records.put(game)
            await rate_game(game, ratings)
        failed: list[int] = []
        finished = RedisFinishedGames(
            redis, batched, Coalesced(redis), rate_record, lambda: failed.append(1)
        )
        for game in games:
            finished.add(game)
        await finished.drain()
        assert not failed
        for key in await redis.keys(f"{one}*"):
            again = batched + text(key).removeprefix(one)
            kind = await redis.type(key)
            if kind == b"string":
                assert await redis.get(again) == await redis.get(key), again
            else:
                assert await redis.zrange(again, 0, -1, withscores=True) == await redis.zrange(
                    key, 0, -1, withscores=True
                ), again
            assert abs(await redis.pttl(again) - await redis.pttl(key)) < 5_000, again
        assert len(await redis.keys(f"{batched}*")) == len(await redis.keys(f"{one}*"))
        ada = await RedisRatingStore(redis, batched).get("tictactoe", "p_ada")
        assert ada is not None and ada.games == 6
    finally:
        await redis.aclose()


@pytest.mark.redis
async def test_redis_finished_games_rate_a_game_once_and_lose_no_update(
    redis_prefix: str,
) -> None:
    """A game written again (its room failed over and finished it once more) changes
    nothing; a rating another process changed between this batch's read and its write
    is read again, and both updates count."""
    redis = Redis.from_url(REDIS_URL)
    try:
        raced: list[GameRecord] = []

        def rate_racing(record: GameRecord, before: Any) -> Any:
            """As ``rate_record``; on the first game, another process rates Ada first."""
            if not raced:
                raced.append(record)
                with SyncRedis.from_url(REDIS_URL) as other:
                    other.set(f"{redis_prefix}rating:tictactoe:p_ada", pack(
                        {"player_id": "p_ada", "name": "ADA", "rating": 1700.0, "rd": 80.0,
                         "volatility": 0.06, "games": 5}
                    ))  # fmt: skip
            return rate_record(record, before)

        failed: list[int] = []
        finished = RedisFinishedGames(
            redis, redis_prefix, Coalesced(redis), rate_racing, lambda: failed.append(1)
        )
        game = game_record("r_1-0", T0, ("human", "p_ada"), ("human", "p_bo"))
        finished.add(game)
        await finished.written("r_1-0")
        ratings = RedisRatingStore(redis, redis_prefix)
        ada, bo = await ratings.get("tictactoe", "p_ada"), await ratings.get("tictactoe", "p_bo")
        assert ada is not None and bo is not None
        assert (ada.games, bo.games) == (6, 1), "the other process's update was lost"
        assert ada.rating > 1700.0  # a win, rated from the other process's 1700

        again = {**game, "log": []}  # the same game, finished again after a failover
        finished.add(again)
        await finished.drain()
        assert not failed
        assert await ratings.get("tictactoe", "p_ada") == ada
        assert await ratings.get("tictactoe", "p_bo") == bo
        assert await RedisRecordStore(redis, redis_prefix).get("r_1-0") == game
    finally:
        await redis.aclose()


async def test_ratings_page_best_first_with_cursor(durable: Impl) -> None:
    ratings = durable.ratings()
    values = {"p_a": 1500, "p_b": 1700, "p_c": 1600, "p_d": 1500, "p_e": 1900, "p_f": 1300}
    values |= {"p_g": 1650}
    await ratings.put_many("chess", [rating(p, v) for p, v in values.items()])
    await ratings.put_many("tictactoe", [rating("p_z", 3000)])
    expected = ["p_e", "p_b", "p_g", "p_c", "p_a", "p_d", "p_f"]  # ties by player id

    items, cursor = await ratings.page("chess", cursor=None, limit=100)
    assert [r.player_id for r in items] == expected and cursor is None
    assert items[0] == rating("p_e", 1900)

    pages: list[list[str]] = []
    cursor = None
    while True:
        items, cursor = await ratings.page("chess", cursor=cursor, limit=3)
        pages.append([r.player_id for r in items])
        if cursor is None:
            break
        assert len(pages) < 10
    assert pages == [expected[:3], expected[3:6], expected[6:]]

    await ratings.put_many("chess", [rating("p_f", 2000, games=2)])
    items, _ = await ratings.page("chess", cursor=None, limit=2)
    assert [r.player_id for r in items] == ["p_f", "p_e"]
    assert await ratings.page("go", cursor=None, limit=3) == ([], None)


# Redis journal and leases (used by lobby/cluster.py) --------------------------------


def meta(room_id: str, game_no: int = 0, status: str = "playing", **more: Any) -> dict[str, Any]:
    """A room's saved metadata (``more``: fields changed or added)."""
    return {
        "id": room_id,
        "game": "tictactoe",
        "seat_count": 2,
        "options": {"board": 3},
        "seed": "s33d",
        "game_no": game_no,
        "status": status,
        "seats": [["p_a", "Ada", None], [None, None, None]],
        "private": False,
        "invite": None,
        "creator": "p_a",
        "abandon": "forfeit",
        "created_at": T0,
    } | more


async def save(
    journal: RedisJournal,
    room_id: str,
    entries: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    *,
    game_no: int = 0,
    new_game: bool = False,
) -> None:
    """One room's changes, saved on their own."""
    changes = Changes(room_id, game_no, entries or [], meta, new_game)
    assert await journal.save([changes]) == [None]


def moves(first: int, last: int) -> list[dict[str, Any]]:
    """Log entries with sequence numbers ``first`` to ``last`` (a game's start is 1)."""
    return [{"s": i, "seat": i % 2, "k": "move", "m": {"cell": i}} for i in range(first, last + 1)]


@pytest.mark.redis
async def test_journal_save_load(redis_client: Redis, redis_prefix: str) -> None:
    journal = RedisJournal(redis_client, redis_prefix)
    assert await journal.load("r_1") is None
    await save(journal, "r_1", meta=meta("r_1", status="waiting"))
    assert await journal.load("r_1") == (meta("r_1", status="waiting"), [])
    await save(journal, "r_1", meta=meta("r_1"), new_game=True)  # the first game starts
    await save(journal, "r_1", moves(2, 2))  # moves change the log, not the metadata
    await save(journal, "r_1", moves(3, 5))
    await save(journal, "r_1")
    await save(journal, "r_1", moves(6, 6), meta("r_1", status="finished"))
    assert await journal.load("r_1") == (meta("r_1", status="finished"), moves(2, 6))

    await save(journal, "r_1", meta=meta("r_1", game_no=1), game_no=1, new_game=True)
    assert await journal.load("r_1") == (meta("r_1", game_no=1), [])
    await save(journal, "r_1", moves(2, 2), game_no=1)
    assert await journal.load("r_1") == (meta("r_1", game_no=1), moves(2, 2))
    keys = sorted([k.decode() async for k in redis_client.scan_iter(f"{redis_prefix}*")])
    # Every key of a room has its id as the hash tag (one Redis Cluster slot), and the
    # log of the game before is gone with it.
    assert keys == [
        f"{redis_prefix}room:{{r_1}}:log:1",
        f"{redis_prefix}room:{{r_1}}:meta",
        f"{redis_prefix}rooms:live",
    ]


@pytest.mark.redis
async def test_journal_saves_many_rooms_in_one_round_trip(
    redis_client: Redis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = RedisJournal(redis_client, redis_prefix)
    rooms = [f"r_{i}" for i in range(50)]
    for room_id in rooms:
        await save(journal, room_id, meta=meta(room_id), new_game=True)
    writes = 0
    send = Connection.send_packed_command

    async def counted(self: Connection, command: Any, check_health: bool = True) -> None:
        nonlocal writes
        writes += 1
        await send(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", counted)
    batch = [Changes(r, 0, moves(2, 2 + i % 3)) for i, r in enumerate(rooms)]
    batch[7].meta = meta(rooms[7], status="finished")
    assert await journal.save(batch) == [None] * 50
    assert writes == 1
    for i, room_id in enumerate(rooms):
        status = "finished" if i == 7 else "playing"
        assert await journal.load(room_id) == (meta(room_id, status=status), moves(2, 2 + i % 3))
    assert sorted(await journal.live()) == sorted(set(rooms) - {"r_7"})


@pytest.mark.redis
async def test_journal_refuses_entries_out_of_step_and_keeps_a_retried_batch_once(
    redis_client: Redis, redis_prefix: str
) -> None:
    journal = RedisJournal(redis_client, redis_prefix)
    for room_id in ("r_1", "r_2"):
        await save(journal, room_id, meta=meta(room_id), new_game=True)
    await save(journal, "r_1", moves(2, 3))
    await save(journal, "r_1", moves(2, 3))  # the same batch again (a retry): kept once
    gap, follows = Changes("r_1", 0, moves(5, 5)), Changes("r_2", 0, moves(2, 2))
    errors = await journal.save([gap, follows])
    assert "out of step" in str(errors[0]) and errors[1] is None  # the rooms are apart
    assert await journal.load("r_1") == (meta("r_1"), moves(2, 3))
    assert await journal.load("r_2") == (meta("r_2"), moves(2, 2))


@pytest.mark.redis
@pytest.mark.parametrize("one_call", [True, False], ids=["one-call", "a-call-a-room"])
async def test_a_fenced_room_of_a_batch_is_refused_alone(
    redis_client: Redis, redis_prefix: str, one_call: bool
) -> None:
    """Each room of a batch is checked and answered on its own, whether the batch is one
    script call (one Redis) or one a room (a Redis Cluster): a room another process
    claimed since is refused with nothing written, its log kept; the others are saved."""
    journal = RedisJournal(redis_client, redis_prefix)
    journal.one_call = one_call
    journal.epochs = {"r_1": 1, "r_2": 1, "r_3": 1}
    for room_id in ("r_1", "r_2", "r_3"):
        await redis_client.set(f"{redis_prefix}room:{{{room_id}}}:epoch", 1)
        await save(journal, room_id, moves(2, 3), meta=meta(room_id), new_game=True)
    await redis_client.set(f"{redis_prefix}room:{{r_2}}:epoch", 2)  # claimed elsewhere
    batch = [
        Changes(room_id, 1, moves(2, 2), meta(room_id, game_no=1), new_game=True)
        for room_id in ("r_1", "r_2", "r_3")
    ]
    errors = await journal.save(batch)
    assert errors[0] is None and errors[2] is None
    assert str(errors[1]).startswith("FENCED the room has a newer owner (epoch 2)")
    assert await journal.load("r_2") == (meta("r_2"), moves(2, 3))
    assert await redis_client.exists(f"{redis_prefix}room:{{r_2}}:log:0") == 1
    for room_id in ("r_1", "r_3"):
        assert await journal.load(room_id) == (meta(room_id, game_no=1), moves(2, 2))
        assert await redis_client.exists(f"{redis_prefix}room:{{{room_id}}}:log:0") == 0


@pytest.mark.redis
async def test_journal_loads_its_script_again_when_redis_lost_it() -> None:
    async with private_redis() as (url, _), Redis.from_url(url) as redis:
        journal = RedisJournal(redis, "")
        await save(journal, "r_1", meta=meta("r_1"), new_game=True)
        await redis.script_flush()  # as after a restart of Redis
        await save(journal, "r_1", moves(2, 2))
        assert await journal.load("r_1") == (meta("r_1"), moves(2, 2))


@pytest.mark.redis
async def test_journal_live_and_delete(redis_client: Redis, redis_prefix: str) -> None:
    journal = RedisJournal(redis_client, redis_prefix)
    assert await journal.live() == []
    await save(journal, "r_1", meta=meta("r_1", status="waiting"))
    await save(journal, "r_2", moves(2, 2), meta("r_2", status="playing"))
    await save(journal, "r_3", moves(2, 2), meta("r_3", status="finished"))
    await save(journal, "r_10", moves(2, 2), meta("r_10", status="playing"))
    assert sorted(await journal.live()) == ["r_1", "r_10", "r_2"]
    await save(journal, "r_2", moves(3, 3), meta("r_2", status="finished"))
    assert sorted(await journal.live()) == ["r_1", "r_10"]
    await save(journal, "r_2", meta=meta("r_2", game_no=1, status="waiting"), game_no=1)
    assert sorted(await journal.live()) == ["r_1", "r_10", "r_2"]

    await journal.delete("r_1")
    await journal.delete("r_2")
    assert await journal.load("r_1") is None
    assert sorted(await journal.live()) == ["r_10"]
    left = [k async for k in redis_client.scan_iter(f"{redis_prefix}room:{{r_[12]}}:*")]
    assert left == []
    assert await journal.load("r_10") == (meta("r_10"), moves(2, 2)), "r_1 is not r_10"
    await journal.delete("r_1")  # twice is fine
    await journal.delete("r_3")
    assert await journal.load("r_3") is None


@pytest.mark.redis
async def test_leases(redis_prefix: str) -> None:
    clients = [Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)]
    try:
        a = RedisLeases(clients[0], redis_prefix, "node-a", ttl=5)
        b = RedisLeases(clients[1], redis_prefix, "node-b", ttl=5)
        key = f"{redis_prefix}room:{{r_1}}:lease"
        assert await a.owner("r_1") is None
        assert await a.claim("r_1")
        assert not await b.claim("r_1")
        assert await a.claim("r_1"), "claiming one's own lease again succeeds"
        assert await b.owner("r_1") == "node-a"
        assert await b.owners(["r_1", "r_2"]) == ["node-a", None]
        assert await clients[0].get(key) == b"node-a"
        assert await a.owners([]) == []
        assert await a.renew([]) == []

        # Time is Redis's: a lease about to lapse is made so (its TTL cut to 0.1 s), and
        # a lapse is waited for, so no margin depends on how busy the machine is.
        async def lapsed() -> bool:
            return not await clients[0].exists(key)

        await clients[0].pexpire(key, 100)
        assert await a.renew(["r_1"]) == [True]
        assert await clients[0].pttl(key) > 4000, "a renewal gives the lease its full time"
        assert not await b.claim("r_1"), "a renewed lease is still held"
        assert await b.owner("r_1") == "node-a"

        await clients[0].pexpire(key, 100)  # no renewal: the lease lapses
        await until(lapsed, what="the lease's lapse")
        assert await b.claim("r_1")
        assert await a.owner("r_1") == "node-b"
        assert await a.renew(["r_1", "r_2"]) == [False, False]
        assert await a.owner("r_1") == "node-b", "a failed renewal takes nothing"

        await a.release("r_1")
        assert await a.owner("r_1") == "node-b", "only the holder releases"
        await a.release_if("r_1", "node-a")
        assert await a.owner("r_1") == "node-b", "a lease taken since is not freed"
        await b.release("r_1")
        assert await a.owner("r_1") is None
        assert await a.claim("r_1")

        await clients[0].pexpire(key, 100)
        assert await a.claim("r_1"), "claiming one's own lease renews it"
        assert await clients[0].pttl(key) > 4000
        assert await b.owner("r_1") == "node-a"
    finally:
        for client in clients:
            await client.aclose()
