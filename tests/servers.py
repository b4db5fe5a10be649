"""Real servers for tests: uvicorn in this event loop, or in a process of its own.

Both listen on a free port on 127.0.0.1 and stop by themselves when the test ends;
processes are ended by the PID we started, never by name. So is a Redis of a test's own
(``private_redis``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

import httpx
import uvicorn
from fastapi import FastAPI
from redis.asyncio import Redis

from meeple.client.connection import RoomConnection
from meeple.client.rest import MeepleClient
from meeple.lobby.app import create_app
from meeple.lobby.cli import uvicorn_options
from meeple.lobby.games import GameSpec
from meeple.lobby.services import Services
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import hash_token

ROOT = Path(__file__).resolve().parent.parent

SERVER_ERRORS: list[str] = []
"""What the servers of the running test logged at error level or counted as store errors,
in processes of their own or in this one; ``tests/conftest.py`` fails the test on any."""

REDIS_OUTAGE_ERRORS = (
    "background store write failed",
    "matchmaking round failed",
    "cluster upkeep failed",
    "renewing leases failed",
    "publishing",
    "saving room",
    "admitting a connection",
)
"""What servers log while their Redis is gone: tests that take it away expect these (a
client reconnecting meanwhile is closed 1011 because its session cannot be read)."""

REDIS_STARTED: list[str] = []
"""The private Redis servers the running test started: it must carry the ``redis`` marker."""


T = TypeVar("T")

STARTUP_SECONDS = 180.0
"""How long a server may take to come up: seconds when idle, but at load average 20
(a test process getting a few % of a core) uvicorn's start took more than 10 s in this
process and ``meeple serve`` more than 60 s."""


@overload
async def until(
    check: Callable[[], Awaitable[T]], within: float = 30, what: str = "the condition"
) -> T: ...
@overload
async def until(check: Callable[[], T], within: float = 30, what: str = "the condition") -> T: ...
async def until(check: Callable[[], Any], within: float = 30, what: str = "the condition") -> Any:
    """Wait for an event, not for a time: ``check`` (plain or async) polled until it
    answers truthily, which is returned; ``TimeoutError`` after ``within`` seconds. The
    bound is generous on purpose: it is only reached when the event never comes, so a
    loaded machine makes the test slower, never wrong."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not so within {within} s")
        await asyncio.sleep(0.02)


async def redis_answers(url: str, within: float = 30) -> None:
    """Wait until the Redis at ``url`` (just started, or restarted) answers a PING."""
    async with Redis.from_url(url) as probe:

        async def pong() -> bool:
            with contextlib.suppress(Exception):
                return bool(await probe.ping())
            return False

        await until(pong, within, f"redis-server at {url} answering")


class ManualClock:
    """The wall clock (``time.time``) moved on by the test: passed to ``create_app`` or a
    store, it makes expiry a step of the test (``advance`` past a TTL) instead of a race
    between a short TTL and a sleep. It runs on with real time between steps, so what
    reads it meanwhile (matchmaking windows, creation times) sees time pass as usual."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


async def run_out_session(services: Services, token: str, clock: ManualClock) -> None:
    """Let the session of ``token`` run out: ``clock`` moved past its TTL ends it at once
    in memory. Redis ends it by its own clock, so there this waits (bounded) until Redis
    has dropped the key, without reading the session, which would extend it."""
    clock.advance(services.settings.session_ttl_seconds + 1)
    redis = services.redis
    if redis is not None:
        key = f"{services.settings.redis_prefix}session:{hash_token(token)}"

        async def gone() -> bool:
            return not await redis.exists(key)

        await until(gone, services.settings.session_ttl_seconds + 20, "the session's expiry")


def metric(text: str, name: str) -> float:
    """The value of the sample ``name`` (labels included) in a /metrics text."""
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    app: FastAPI
    port: int

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services


@contextlib.asynccontextmanager
async def live_server(
    settings: Settings | None = None,
    *,
    plain_websockets: bool = False,
    games: Iterable[GameSpec] = (),
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[LiveServer]:
    """uvicorn serving a fresh app in the running loop, configured as ``meeple serve`` does
    (``plain_websockets``: with uvicorn's own WebSocket protocol, as a misconfigured
    deployment would be; ``games``: served besides the installed ones; ``clock``: the
    app's wall clock, a ``ManualClock`` for tests of expiry)."""
    settings = settings or Settings()
    app = create_app(settings, games, clock=clock)
    port = free_port()
    options = uvicorn_options()
    if plain_websockets:
        options["ws"] = "websockets-sansio"
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    live = LiveServer(app, port)
    try:
        async with serving(config):
            yield live
    finally:
        if hasattr(app.state, "services") and (errors := live.services.rooms.stats.redis_errors):
            SERVER_ERRORS.append(f"the server counted {errors} store errors")


@contextlib.asynccontextmanager
async def serving(config: uvicorn.Config) -> AsyncIterator[None]:
    """uvicorn serving ``config`` in the running loop, from when it has started (its
    failure to start raised) until the block ends."""
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    def started() -> bool:
        if task.done():
            task.result()  # it failed to start: say why
        return server.started

    try:
        await until(started, STARTUP_SECONDS, "uvicorn starting")
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


DATA = tempfile.TemporaryDirectory(prefix="meeple-test-data-")
"""Where servers started by the tests keep their SQLite files; removed when the run ends."""


def shared_data_dir(env: Mapping[str, str]) -> str:
    """A data folder for a server started with ``env``: one per Redis URL and prefix (the
    processes of one test's cluster), a new one for a server without Redis."""
    if "REDIS_URL" not in env:
        return tempfile.mkdtemp(dir=DATA.name)
    name = hashlib.sha256(f"{env['REDIS_URL']} {env.get('MEEPLE_REDIS_PREFIX')}".encode())
    folder = Path(DATA.name) / f"redis-{name.hexdigest()[:16]}"
    folder.mkdir(exist_ok=True)
    return str(folder)


class ServerProcess:
    """``meeple serve`` in a process of its own, for restarts and kill -9."""

    def __init__(
        self,
        env: Mapping[str, str],
        port: int | None = None,
        *,
        log_level: str = "warning",
        log_file: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        if "DATABASE_URL" not in self.env and "MEEPLE_DATA_DIR" not in self.env:
            # A database file of this server's own, not the user's ~/.local/share/meeple;
            # processes on one Redis (and prefix) are one server: they share one, as the
            # processes of one machine do.
            self.env["MEEPLE_DATA_DIR"] = shared_data_dir(env)
        self.log_level = log_level
        self.log_file = log_file or Path(tempfile.mkstemp(prefix="meeple-serve-", suffix=".log")[1])
        """Where the server's log (its stderr) goes: read for errors when it stops, and by
        default then copied to the test's stderr and removed."""
        self._own_log = log_file is None
        self._log_from = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []
        """More ``meeple serve`` arguments (``--game ...``)."""

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self, timeout: float = STARTUP_SECONDS) -> None:
        self._log_from = self.log_file.stat().st_size if self.log_file.exists() else 0
        with contextlib.ExitStack() as files:
            stderr = files.enter_context(self.log_file.open("ab"))
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "meeple.lobby.cli", "serve", "--port", str(self.port),
                 "--log-level", self.log_level, *self.extra_args],
                cwd=ROOT,
                env=self.env,
                stderr=stderr,
            )  # fmt: skip
        proc = self.proc
        try:
            async with httpx.AsyncClient() as client:

                async def healthy() -> bool:
                    if proc.poll() is not None:
                        raise RuntimeError(f"server exited with {proc.returncode}")
                    with contextlib.suppress(httpx.HTTPError):
                        response = await client.get(f"{self.http}/healthz", timeout=5)
                        return response.status_code == 200
                    return False

                await until(healthy, timeout, "the server process starting")
        except BaseException:
            self.kill()  # a server that did not come up is not left behind
            raise

    def kill(self) -> None:
        """kill -9: no shutdown, no goodbye."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self._read_log()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            self._read_log()

    def _read_log(self) -> None:
        """The error lines of this run's log go to ``SERVER_ERRORS``."""
        with self.log_file.open("rb") as f:
            f.seek(self._log_from)
            text = f.read().decode(errors="replace")
        self._log_from += len(text.encode())
        if self._own_log:
            sys.stderr.write(text)
            self.log_file.unlink(missing_ok=True)
            self._log_from = 0
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if line.startswith("Traceback"):
                    SERVER_ERRORS.append(f"server on port {self.port}: {line}")
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                SERVER_ERRORS.append(f"server on port {self.port}: {line}")


@contextlib.asynccontextmanager
async def server_processes(
    env: Mapping[str, str], count: int = 2
) -> AsyncIterator[list[ServerProcess]]:
    """``count`` processes of ``meeple serve`` on the same settings (a cluster, when they
    share a Redis), started together and stopped by their PIDs after."""
    procs = [ServerProcess(env) for _ in range(count)]
    try:
        await asyncio.gather(*(p.start() for p in procs))
        yield procs
    finally:
        for p in procs:
            p.stop()


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis of the test's own on a free port (keeping nothing on disk), ended by its PID:
    for tests that stop it or change its configuration."""
    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen([*argv, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    REDIS_STARTED.append(url)
    try:
        await redis_answers(url)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@contextlib.asynccontextmanager
async def tictactoe_pair(http: str) -> AsyncIterator[tuple[RoomConnection, RoomConnection, str]]:
    """Ada (seat 0, to move) and Bo (seat 1) in a new tic-tac-toe room, both connected
    through the SDK: their connections and the room's id."""
    async with MeepleClient(http) as a, MeepleClient(http) as b:
        await a.create_session("Ada")
        await b.create_session("Bo")
        async with tictactoe_room(a, b) as pair:
            yield pair


@contextlib.asynccontextmanager
async def tictactoe_room(
    a: MeepleClient, b: MeepleClient
) -> AsyncIterator[tuple[RoomConnection, RoomConnection, str]]:
    """``a`` (seat 0, to move) and ``b`` (seat 1), signed in already, in a new tic-tac-toe
    room, both connected: their connections and the room's id."""
    room = await a.create_room("tictactoe")
    await b.take_seat(room["id"])
    async with a.connect(room["id"]) as ca, b.connect(room["id"]) as cb:
        await ca.wait_for(lambda c: c.my_turn, timeout=10)
        yield ca, cb, room["id"]


TOP_ROW = [(0, 0), (1, 3), (0, 1), (1, 4), (0, 2)]
"""(seat, cell): seat 0 wins tic-tac-toe with the top row."""


async def play_top_row(a: MeepleClient, b: MeepleClient) -> str:
    """One game of tic-tac-toe that ``a`` wins against ``b``: its room."""
    async with tictactoe_room(a, b) as (ca, cb, room):
        conns = (ca, cb)
        for seat, cell in TOP_ROW:
            conn = conns[seat]
            await conn.wait_for(lambda c: c.my_turn, timeout=10)
            await conn.move({"cell": cell})
        await cb.wait_for(lambda c: c.finished, timeout=10)
        return room


async def meeple_bot(
    server: str,
    game: str,
    count: int,
    games: int,
    timeout: float = 60,
    data: Path | None = None,
    options: Sequence[str] = (),
) -> Any:
    """``meeple bot`` run as a user would, to its end: the stats it prints, as JSON. Its
    bot accounts are kept in ``data`` (its MEEPLE_DATA_DIR; by default one of its own);
    ``options``: more of its command line (``--days 2``)."""
    data = data or Path(tempfile.mkdtemp(dir=DATA.name))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meeple.lobby.cli", "bot", "--server", server, "--game", game,
        "--count", str(count), "--games", str(games), *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "MEEPLE_DATA_DIR": str(data)},
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    finally:  # timed out or cancelled: no bot left behind to play on the next test's port
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, out.decode()
    return json.loads(out)


PASSWORD = "correct horse battery"
"""The password of the accounts tests sign up."""


async def db_upgrade(env: dict[str, str]) -> None:
    """``meeple db upgrade``, as the operator runs it before starting a new version."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meeple.lobby.cli", "db", "upgrade",
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()
