"""Shared fixtures: a live server, players, raw WebSocket clients and Redis prefixes."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from meeple.game.codec import decode, encode
from meeple.lobby.app import create_app
from meeple.lobby.services import Services
from meeple.lobby.settings import Settings
from tests.servers import REDIS_STARTED, SERVER_ERRORS, LiveServer, ManualClock, live_server

REDIS_URL = os.environ.get("MEEPLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get(
    "MEEPLE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
"""The PostgreSQL server the SQL tests use; each test makes a schema of its own there."""

SERVER_LOGGERS = ("meeple", "uvicorn.error")
"""Where a server in this process logs: an error there fails the test (``server_errors``)."""


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        raised = f" ({record.exc_info[1]!r})" if record.exc_info else ""
        self.lines.append(f"{record.name}: {record.getMessage()}{raised}")


@pytest.fixture(autouse=True)
def server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test whose servers (in this process or their own) logged an error or an
    exception, or counted a store error: they are swallowed in the background, so the
    test's own asserts would not see them. A test that breaks the server on purpose says
    so with ``@pytest.mark.server_errors("what the errors say", ...)`` (no argument: any)."""
    handler = _Errors()
    loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    SERVER_ERRORS.clear()
    REDIS_STARTED.clear()
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    if REDIS_STARTED and request.node.get_closest_marker("redis") is None:
        pytest.fail("this test starts a redis-server: mark it redis", pytrace=False)
    found = handler.lines + SERVER_ERRORS
    SERVER_ERRORS.clear()
    expected = request.node.get_closest_marker("server_errors")
    if expected is not None:  # its arguments: what the expected errors say (none: any)
        found = [f for f in found if expected.args and not any(a in f for a in expected.args)]
    if found:
        pytest.fail("the server reported errors:\n" + "\n".join(found[:20]), pytrace=False)


MakeSettings = Callable[..., Settings]
"""``Settings(**overrides)`` on the store form of the running test."""

STORE_FORMS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_stores`` (a module's ``pytestmark``) run once per store form,
    through the ``stores`` fixture that ``server`` and ``app`` are built on."""
    if "stores" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize("stores", STORE_FORMS, indirect=True)


@pytest.fixture
def stores(request: pytest.FixtureRequest) -> MakeSettings:
    """The store form of this test: in-memory (unless marked ``both_stores``), or the real
    Redis under a key prefix of the test's own, removed afterwards (``redis_prefix``)."""
    if getattr(request, "param", "memory") == "memory":
        return lambda **kw: Settings(**kw)
    prefix: str = request.getfixturevalue("redis_prefix")

    def make(**kw: Any) -> Settings:
        return Settings(redis_url=REDIS_URL, redis_prefix=prefix, **kw)

    return make


@pytest.fixture
async def server(stores: MakeSettings) -> AsyncIterator[LiveServer]:
    async with live_server(stores()) as srv:
        yield srv


@pytest.fixture
def app_settings(request: pytest.FixtureRequest, stores: MakeSettings) -> Settings:
    """The settings of the ``app`` fixture: parametrize it indirectly with a dict of
    overrides (``@pytest.mark.parametrize("app_settings", [{...}], indirect=True)``)."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return stores(**overrides)


@pytest.fixture
def clock() -> ManualClock:
    """The wall clock of the ``app`` fixture's sessions, tickets and matchmaking."""
    return ManualClock()


@pytest.fixture
async def app(app_settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    """An app with its lifespan running, for in-process (ASGI) tests of the REST API."""
    app = create_app(app_settings, clock=clock)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://meeple.test") as client:
        yield client


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
async def redis_prefix(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A key prefix of this test's own on the real Redis; everything under it is removed after.
    Only for a test marked ``redis``, so that ``-m redis`` (or ``-m "not redis"``) selects
    exactly the tests that need it."""
    if request.node.get_closest_marker("redis") is None:
        pytest.fail(f"{request.node.nodeid} uses Redis: mark it redis", pytrace=False)
    prefix = f"meeple-test:{secrets.token_hex(4)}:"
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:  # CI must not skip: say what is missing
        pytest.fail(f"Redis is not answering at {REDIS_URL}: {exc}")
    try:
        yield prefix
    finally:
        keys = [k async for k in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A PostgreSQL schema of this test's own at DATABASE_URL, dropped with all it holds after."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    schema = f"meeple_test_{secrets.token_hex(4)}"
    engine = create_async_engine(DATABASE_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # CI must not skip: say what is missing
        await engine.dispose()
        pytest.fail(f"PostgreSQL is not answering at {DATABASE_URL}: {exc}")
    try:
        yield schema
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


WAIT = 30.0
"""How long a test waits for a message or a close by default: only reached when it never
comes, so it is generous (with both cores busy, 5 s was not always enough)."""


class Peer:
    """A raw WebSocket client speaking MessagePack: for tests that send what no SDK would."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(encode(message))

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(frame, bytes), f"a text frame: {frame!r}"
        message = decode(frame)
        self.seen.append(message)
        return message

    async def until(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first message from now on that ``match`` accepts; all are kept in ``seen``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.recv(max(0.01, deadline - loop.time()))
            if match(message):
                return message

    async def saw(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first message ever received that ``match`` accepts, waiting if none yet."""
        for message in self.seen:
            if match(message):
                return message
        return await self.until(match, timeout)

    async def drain(self, quiet: float = 0.2) -> list[dict[str, Any]]:
        """Everything that arrives until the line has been quiet for ``quiet`` seconds."""
        out = []
        try:
            while True:
                out.append(await self.recv(quiet))
        except TimeoutError:
            return out

    async def closed(self, timeout: float = WAIT) -> tuple[int | None, str | None]:
        """Read until the server closes; its close code and reason."""
        try:
            while True:
                await self.recv(timeout)
        except Exception:
            pass
        frame = self.ws.protocol.close_rcvd
        return (frame.code, frame.reason) if frame else (None, None)


def of_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("t") == kind and all(m.get(k) == v for k, v in fields.items())


def acked(msg_id: int | None = None) -> Callable[[dict[str, Any]], bool]:
    """The acknowledgement of our message ``msg_id`` (any, if None): the ``ack`` field of
    the delta it caused, or an ``ack`` message for changes without a delta."""

    def match(m: dict[str, Any]) -> bool:
        if m.get("t") == "d" and "ack" in m:
            return msg_id is None or m["ack"] == msg_id
        return m.get("t") == "ack" and (msg_id is None or m.get("id") == msg_id)

    return match


async def open_peer(base_ws: str, room_id: str, token: str | None, **params: Any) -> Peer:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    url = f"{base_ws}/ws/rooms/{room_id}" + (f"?{query}" if query else "")
    protocols = [Subprotocol("meeple.v1")] + ([Subprotocol(f"token.{token}")] if token else [])
    ws = await connect(url, subprotocols=protocols, max_size=None)
    return Peer(ws)
