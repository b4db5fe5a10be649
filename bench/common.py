"""What the benchmarks share: reading a process from /proc, the REST set-up calls,
a lean WebSocket client, and small statistics.

The WebSocket client is an ``asyncio.Protocol``: ``websockets``' sans-I/O
``ClientProtocol`` for the handshake, then the server's own frame codec
(``meeple.lobby.edge.frames``); frames are handled in ``data_received`` with no task switch, no
queue and no future per message, so the load generator spends its CPU on the
workload rather than on the client. Pings from the server are answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from meeple.game.protocol import MAX_FRAME
from meeple.lobby.edge.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    FrameError,
    FrameReader,
    close_frame,
    encode_frame,
    parse_close,
)

T = TypeVar("T")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# Processes ------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> None:
    """A result file, made with its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far.

    /proc/<pid>/stat counts in clock ticks, charged to whoever runs when a tick comes:
    on a busy machine a server working in short slices may be charged nothing for
    seconds. The scheduler's own count (``schedstat``, ns on the CPU, per thread) is
    exact; the larger of the two keeps what threads that have ended used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    # after the command name: state is field 3, utime 14 and stime 15 (1-based)
    ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK
    exact = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that just ended
            exact += int(task.read_text().split()[0])
    return max(ticks, exact / 1e9)


def proc_kernel_cpu(pid: int) -> float:
    """CPU seconds the process has spent in the kernel (system calls: its reads and
    writes), from /proc/<pid>/stat's clock ticks: coarse, but over a window of seconds
    it tells the kernel's share of ``proc_cpu``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[12]) / CLK_TCK  # stime, field 15 (1-based)


def proc_status(pid: int) -> dict[str, int]:
    """The ``Vm*`` lines of /proc/<pid>/status, in bytes."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Vm"):
                key, _, value = line.partition(":")
                parts = value.split()
                if len(parts) == 2 and parts[1] == "kB":
                    out[key] = int(parts[0]) * 1024
    return out


def proc_rss(pid: int) -> int:
    """Resident set size now, in bytes."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def self_cpu() -> float:
    """CPU seconds this process has used (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def system_busy() -> float:
    """CPU seconds all cores of the machine have been busy (not idle, not waiting on I/O)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    steal_guest = sum(fields[7:])  # steal, guest, guest_nice: not this machine's work
    return (sum(fields) - idle - steal_guest) / CLK_TCK


@dataclass
class ServerSample:
    """The server process (or processes, added up) at one moment."""

    at: float
    cpu: float
    rss: int
    system: float
    """``system_busy()`` at the same moment: everything the machine ran."""
    kernel: float = 0.0
    """The server's CPU seconds in the kernel so far (``proc_kernel_cpu``), added up."""

    @classmethod
    def take(cls, pid: int, *others: int) -> ServerSample:
        pids = (pid, *others)
        cpu = sum(proc_cpu(p) for p in pids)
        rss = sum(proc_rss(p) for p in pids)
        kernel = sum(proc_kernel_cpu(p) for p in pids)
        return cls(time.monotonic(), cpu, rss, system_busy(), kernel)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop, as the server runs (uvicorn picks it when installed):
    a generator on the slower default loop would run out of CPU before the server."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on CPython
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def host_speed(rounds: int = 5) -> float:
    """Milliseconds this process takes for a fixed piece of pure Python (dicts, strings,
    calls), the best of ``rounds``: the same code on this VM took from 37 to 69 ms within
    one afternoon, so every result carries the figure taken just before it."""

    def work() -> int:
        table: dict[int, tuple[int, str]] = {}
        for i in range(200_000):
            table[i % 1000] = (i, str(i & 255))
        return len(table)

    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return 1000 * best


# Statistics -----------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0-100) of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


# REST -----------------------------------------------------------------------------


class SetupError(RuntimeError):
    """The server refused a set-up call."""


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    token: str | None = None,
    json: Any = None,
    attempts: int = 50,
) -> Any:
    """One REST call; a 429 is retried after its Retry-After, as the protocol asks, and a
    connection lost on the way a few times."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for attempt in range(attempts):
        try:
            response = await client.request(method, path, json=json, headers=headers)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A kept-alive connection the server closed as it was reused: a set-up of
            # thousands of rooms on a busy server meets a few. Try again on a new one.
            if attempt >= 2:
                raise
            continue
        if response.status_code == 429:
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code >= 400:
            raise SetupError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()
    raise SetupError(f"{method} {path}: still rate limited after {attempts} tries")


async def new_session(client: httpx.AsyncClient, name: str) -> str:
    body = await call(client, "POST", "/api/sessions", json={"name": name})
    token: str = body["token"]
    return token


async def new_room(client: httpx.AsyncClient, token: str, *, join: bool = True) -> str:
    """A tic-tac-toe room; with ``join`` its creator holds seat 0."""
    body = await call(
        client, "POST", "/api/rooms", token=token, json={"game": "tictactoe", "join": join}
    )
    room_id: str = body["id"]
    return room_id


async def take_seat(client: httpx.AsyncClient, token: str, room_id: str) -> int:
    body = await call(client, "POST", f"/api/rooms/{room_id}/seats", token=token, json={})
    seat: int = body["seat"]
    return seat


def http_client(base: str, concurrency: int = 50) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=30)


def base_urls(url: str) -> tuple[str, str]:
    """``http://host:port`` and ``ws://host:port`` from either form of the server's URL."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    netloc = parts.netloc
    return (
        f"{'https' if secure else 'http'}://{netloc}",
        f"{'wss' if secure else 'ws'}://{netloc}",
    )


async def gather_limited(factories: Sequence[Callable[[], Any]], concurrency: int) -> list[Any]:
    """Run coroutine factories with at most ``concurrency`` at once; results in order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(factory: Callable[[], Any]) -> Any:
        async with semaphore:
            return await factory()

    return list(await asyncio.gather(*(one(f) for f in factories)))


# WebSocket ------------------------------------------------------------------------


class Socket(asyncio.Protocol):
    """One client WebSocket. Subclasses override ``on_message`` (binary payloads).

    The handshake is ``websockets``' (``ClientProtocol``); the frames after it are read
    and written with the server's own frame codec (``meeple.lobby.edge.frames``), which costs a
    fifth of what ``websockets``' protocol object does per frame. Pings are answered.
    """

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        """The session token, sent as ``Authorization: Bearer`` (never in the URL)."""
        self.handshake: ClientProtocol | None = ClientProtocol(parse_uri(url), max_size=MAX_FRAME)
        self.reader = FrameReader(masked=False, max_size=MAX_FRAME)
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.close_sent = False
        self.pings = 0
        self.head = b""
        """The HTTP response, until its end has arrived."""

    # asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        assert self.handshake is not None
        request = self.handshake.connect()
        if self.token is not None:
            request.headers["Authorization"] = f"Bearer {self.token}"
        self.handshake.send_request(request)
        transport.write(b"".join(self.handshake.data_to_send()))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.handshake is not None:
            self._handshake_data(data)
            return
        try:
            frames = self.reader.feed(data)
        except FrameError as exc:
            self._fail(ConnectionError(f"bad frames from the server: {exc.reason}"))
            return
        for opcode, payload in frames:
            if opcode == OP_BINARY:
                self.on_message(payload)
            elif opcode == OP_PING:
                self.pings += 1
                self._write(encode_frame(OP_PONG, payload, mask=True))
            elif opcode == OP_CLOSE:
                self.close_code = parse_close(payload)[0]
                if not self.close_sent:
                    self.close_sent = True
                    self._write(close_frame(self.close_code, mask=True))

    def _handshake_data(self, data: bytes) -> None:
        """Collect the server's HTTP response; the bytes after it are frames already."""
        handshake = self.handshake
        assert handshake is not None
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return
        head, rest = self.head[: end + 4], self.head[end + 4 :]
        self.head = b""
        handshake.receive_data(head)
        handshake.events_received()
        if handshake.handshake_exc is not None:
            self._fail(handshake.handshake_exc)
            return
        self.handshake = None
        if not self.opened.done():
            self.opened.set_result(None)
        if rest:
            self.data_received(rest)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.opened.done():
            self._fail(exc or ConnectionError("closed before the handshake completed"))
        if not self.closed.done():
            self.closed.set_result(None)
        self.on_closed()

    # For subclasses ------------------------------------------------------------

    def on_message(self, data: bytes) -> None:
        """A binary frame's payload."""

    def on_closed(self) -> None:
        """The TCP connection ended."""

    def send(self, data: bytes) -> None:
        if self.open:
            self._write(encode_frame(OP_BINARY, data, mask=True))

    # Connecting and closing -------------------------------------------------

    @property
    def open(self) -> bool:
        return self.handshake is None and self.transport is not None and not self.close_sent

    async def connect(self, within: float = 30) -> None:
        """Open the TCP connection and complete the handshake, in ``within`` seconds."""
        parts = urlsplit(self.url)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            await loop.create_connection(
                lambda: self, parts.hostname or "127.0.0.1", parts.port or 80
            )
            await self.opened

    async def aclose(self, within: float = 5) -> None:
        """Close politely; give up on the peer after ``within`` seconds."""
        if self.open:
            self.close_sent = True
            self._write(close_frame(1000, mask=True))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), within)
        if self.transport is not None:
            self.transport.abort()

    def _write(self, frame: bytes) -> None:
        if self.transport is not None:
            self.transport.write(frame)

    def _fail(self, exc: BaseException) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()
