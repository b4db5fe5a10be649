"""Run the whole benchmark and write bench/results/latest.json (and latest.md).

    .venv/bin/python bench/run.py            # R = 1 .. 2,000 in memory and on Redis; C = 1k..10k
    .venv/bin/python bench/run.py --rooms 100 --conns 1000 --seconds 10 --no-profile

For every case a fresh server (``meeple serve``; ``SERVER_ENV`` lifts the per-client
limits every simulated player would hit from 127.0.0.1) starts pinned to core 0, the
generator (``bench/load.py`` or ``bench/idle.py``) runs pinned to core 1, and the server
is stopped by its PID afterwards. Each load case runs in memory and with Redis
(``--modes``), back to back: for a Redis case a fresh ``redis-server`` of the run's own
(on a free port, keeping nothing on disk) runs pinned to core 1 beside the generator,
and its CPU is read too. ``--cluster-rooms`` adds cases with two server processes on
one Redis, both on core 0, the rooms spread over both and each room's two players on
different ones. Before each case the runner waits (up to
``--quiet-timeout`` s) for the machine to be quiet, since anything else running
skews the numbers; every result also records the CPU other processes used during
its window. With ``--profile`` (the default, if py-spy is installed) an extra R=100
run is sampled with ``py-spy record`` and summarized (bench/pyspy.py); its numbers
are not in the table, since sampling slows the server down.

Everything talks only to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis

from bench.common import system_busy
from bench.load import PLAYING
from bench.pyspy import report, summarize
from bench.sizes import measure, table

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
SERVER_CORE = "0"
LOAD_CORE = "1"

# The targets (issue 8).
TARGET_MOVES_PER_S = 10_000
TARGET_US_PER_MOVE = 100
TARGET_P99_MS = 15
TARGET_TTT_BYTES = 24
TARGET_CHESS_BYTES = 64
TARGET_KIB_PER_CONN = 32
TARGET_HEARTBEAT_PCT = 3
# Issue 14: Redis mode beside the in-memory one.
TARGET_REDIS_CPU = 1.5
TARGET_REDIS_RATE = 2 / 3
TARGET_REDIS_P99 = 1.5

# Issue 18: the SQLite default (what must last, in a file) beside all in memory.
TARGET_SQLITE_CPU = 1.05

MEMORY, SQLITE, REDIS, REDIS_TWO = "memory", "sqlite", "redis", "redis, 2 servers"
COLYSEUS = "colyseus"
# Durability and --workers (issue 15): Redis fsyncing every write, moves waiting for a
# replica, and one ``meeple serve --workers 2``.
REDIS_FSYNC = "redis, appendfsync always"
REDIS_WAIT = "redis, WAIT 1 (a replica)"
REDIS_WORKERS = "redis, --workers 2"
# Redis for everything, no SQL (``DATABASE_URL=memory``: records and ratings in Redis,
# accounts in memory): issue 14's Redis mode, beside ``memory``; ``redis`` keeps records
# in the SQLite default, as ``meeple serve`` with ``REDIS_URL`` does.
REDIS_ONLY = "redis, records in Redis"
MODES = {
    "memory": MEMORY,
    "sqlite": SQLITE,
    "redis": REDIS,
    "redis-only": REDIS_ONLY,
    "fsync": REDIS_FSYNC,
    "wait1": REDIS_WAIT,
    "workers2": REDIS_WORKERS,
    "colyseus": COLYSEUS,
}
COLYSEUS_DIR = BENCH / "colyseus"
"""Colyseus beside Meeple (``--modes memory,colyseus``): its own server and generator in
Node, with the npm packages pinned in its package-lock.json (installed there by
``npm ci`` on first use; the folder is ignored by git)."""

START_SECONDS = 120
"""How long a server may take to answer /healthz (a shared, loaded machine takes ~45 s)."""

SERVER_ENV = {
    "MEEPLE_CREATE_LIMITS": "off",  # 1,000 sessions from one address would take minutes
    "MEEPLE_MESSAGE_RATE": "1e9",  # two players may play one room faster than 20 a second
    "MEEPLE_MESSAGE_BURST": "1000000000",
}
"""The server's settings for every case: ``meeple serve`` as shipped, but for the limits."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(text: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {text}", flush=True)


def pinned(core: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") else argv


# The server ----------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    workers: list[int] = field(default_factory=list)
    """With ``--workers``: the workers' PIDs (they do the work; the parent only waits)."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def busy_pids(self) -> list[int]:
        """The processes whose CPU and memory are the server's."""
        return self.workers or [self.pid]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


@contextlib.contextmanager
def redis_server(core: str, options: Sequence[str] = NO_PERSISTENCE) -> Iterator[tuple[str, int]]:
    """A fresh Redis of our own on a free port (by default keeping nothing on disk),
    pinned to ``core``; its URL and PID. Stopped by its PID when the block ends."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("the Redis cases need redis-server (apt-get install redis-server)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", *options]
    proc = subprocess.Popen(pinned(core, argv), stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        client.close()
        yield url, proc.pid
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@dataclass
class Servers:
    """The processes of one case: one or two servers, and the Redis they share, if any."""

    servers: list[Server]
    redis_pid: int | None

    def load_argv(self) -> list[str]:
        """Where the load goes, and whose CPU it reads."""
        argv = [srv.url for srv in self.servers]
        for srv in self.servers:
            for pid in srv.busy_pids:
                argv += ["--server-pid", str(pid)]
        if self.redis_pid is not None:
            argv += ["--redis-pid", str(self.redis_pid)]
        return argv


@contextlib.contextmanager
def servers(mode: str, env: dict[str, str], args: argparse.Namespace) -> Iterator[Servers]:
    """The servers of a case: one in memory, one on a Redis of its own, or two on one;
    or Colyseus."""
    if mode == COLYSEUS:
        with colyseus_server() as srv:
            yield Servers([srv], None)
        return
    with contextlib.ExitStack() as stack:
        redis_pid = None
        if mode in (MEMORY, REDIS_ONLY):  # no SQL: what must last in memory (or Redis)
            env = {**env, "DATABASE_URL": "memory"}
        else:  # ``meeple serve``'s SQLite default, in a folder of the case's own
            data = stack.enter_context(tempfile.TemporaryDirectory(prefix="meeple-bench-"))
            env = {**env, "MEEPLE_DATA_DIR": data}
        if mode not in (MEMORY, SQLITE):
            options: Sequence[str] = NO_PERSISTENCE
            if mode == REDIS_FSYNC:
                disk = stack.enter_context(tempfile.TemporaryDirectory(prefix="meeple-aof-"))
                options = ("--save", "", "--appendonly", "yes", "--appendfsync", "always",
                           "--dir", disk)  # fmt: skip
            url, redis_pid = stack.enter_context(redis_server(args.redis_core, options))
            env = {**env, "REDIS_URL": url}
            if mode == REDIS_WAIT:
                stack.enter_context(replica_of(url, args.redis_core))
                env["MEEPLE_REDIS_WAIT_REPLICAS"] = "1"
        count = 2 if mode == REDIS_TWO else 1
        workers = 2 if mode == REDIS_WORKERS else 1
        procs = [stack.enter_context(server(env, workers)) for _ in range(count)]
        yield Servers(procs, redis_pid)


@contextlib.contextmanager
def replica_of(url: str, core: str) -> Iterator[int]:
    """A replica of the Redis at ``url`` (its own Redis, pinned to ``core``), in step
    before the block starts; its PID."""
    primary = redis.Redis.from_url(url, socket_timeout=1)
    port = url.rsplit(":", 1)[1].split("/")[0]
    with (
        tempfile.TemporaryDirectory(prefix="meeple-replica-") as disk,
        redis_server(core, (*NO_PERSISTENCE, "--dir", disk, "--replicaof", "127.0.0.1", port)) as (
            _,
            pid,
        ),
    ):
        deadline = time.monotonic() + 10
        while primary.info("replication").get("slave0", {}).get("state") != "online":
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not get in step in 10 s")
            time.sleep(0.05)
        primary.close()
        yield pid


def worker_pids(parent: int, count: int, within: float = 30) -> list[int]:
    """The PIDs of ``meeple serve --workers``'s workers: the parent's children that are
    not multiprocessing's resource tracker."""
    deadline = time.monotonic() + within
    while True:
        found = []
        children = Path(f"/proc/{parent}/task/{parent}/children")
        for pid in children.read_text().split() if children.exists() else []:
            with contextlib.suppress(OSError):
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@contextlib.contextmanager
def server(env: dict[str, str], workers: int = 1) -> Iterator[Server]:
    """A fresh server on core 0 (``--workers``: that many processes, all on core 0),
    stopped by its PID when the block ends."""
    port = free_port()
    argv = [sys.executable, "-m", "meeple.lobby.cli", "serve", "--port", str(port),
            "--log-level", "warning", "--workers", str(workers)]  # fmt: skip
    # Its own SQLite file (records, ratings), not the one every `meeple serve` of the
    # user shares, grown by every earlier run.
    data = Path(tempfile.mkdtemp(prefix="meeple-bench-"))
    # taskset execs the server, so the PID is the server's own.
    proc = subprocess.Popen(
        pinned(SERVER_CORE, argv), cwd=ROOT,
        env={**os.environ, **SERVER_ENV, "MEEPLE_DATA_DIR": str(data), **env},
    )  # fmt: skip
    srv = Server(proc, port)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{srv.url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start in {START_SECONDS} s")
            time.sleep(0.1)
        if workers > 1:
            srv.workers = worker_pids(proc.pid, workers)
        time.sleep(1)  # let start-up work finish before anything is measured
        yield srv
    finally:
        stop(proc)
        shutil.rmtree(data, ignore_errors=True)


def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        raise RuntimeError("the Colyseus cases need Node.js (node and npm on the path)")
    return binary


def colyseus_ready() -> None:
    """Install the pinned Colyseus packages (``npm ci``) unless they are there, then check
    that its room plays by Meeple's rules (``check.mjs``): a comparison with a server that
    skipped the checks per move would flatter it."""
    node()
    stamp = COLYSEUS_DIR / "node_modules" / ".package-lock.json"
    lock = COLYSEUS_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("the Colyseus cases need npm")
        log("colyseus: npm ci (the versions pinned in bench/colyseus/package-lock.json)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=COLYSEUS_DIR, check=True,
                       timeout=900)  # fmt: skip
    with colyseus_server() as srv:
        done = subprocess.run(
            [node(), str(COLYSEUS_DIR / "check.mjs"), srv.url], capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the Colyseus room breaks Meeple's rules:\n{done.stdout}{done.stderr}")
    log(f"colyseus: the room's checks hold ({done.stdout.count(chr(10))} checks)")


@contextlib.contextmanager
def colyseus_server() -> Iterator[Server]:
    """bench/colyseus/server.mjs on core 0, stopped by its PID when the block ends."""
    port = free_port()
    argv = [node(), str(COLYSEUS_DIR / "server.mjs"), "--port", str(port)]
    proc = subprocess.Popen(pinned(SERVER_CORE, argv), cwd=COLYSEUS_DIR)
    srv = Server(proc, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the Colyseus server exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the Colyseus server did not start in 30 s")
            time.sleep(0.1)
        time.sleep(1)
        yield srv
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s: a process of ours, by its PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def be_nice(nice: int) -> None:
    """This run and everything it starts at ``nice``. With the kernel's autogroups (each
    session one group, shared fairly), a process's own niceness counts only against the
    rest of its session: on a machine shared with other sessions it is the session's
    group that must be given the weight."""
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as f:
        f.write(str(nice))
    log(f"niceness {nice} (this session's autogroup too, if the kernel has them)")


def wait_quiet(threshold: float, timeout: float) -> float | None:
    """Wait until the machine's CPU use over 2 s is below ``threshold`` (cores); returns
    the last measurement, in % of one core (None with no ``timeout``: not measured)."""
    if timeout <= 0:
        return None
    deadline = time.monotonic() + timeout
    while True:
        before = system_busy()
        time.sleep(2)
        busy = (system_busy() - before) / 2
        if busy < threshold or time.monotonic() > deadline:
            if busy >= threshold:
                log(f"the machine is still busy ({100 * busy:.0f}% of a core): going ahead")
            return 100 * busy
        log(f"waiting for the machine to be quiet ({100 * busy:.0f}% of a core busy)")


def host_ms() -> float | None:
    """``bench.common.host_speed`` on the server's core, now (lower is a faster host)."""
    code = "from bench.common import host_speed; print(host_speed())"
    try:
        done = subprocess.run(
            pinned(SERVER_CORE, [sys.executable, "-c", code]),
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError):
        return None
    return round(float(done.stdout), 1)


def run_tool(argv: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """A generator on core 1; returns the JSON it wrote."""
    out.unlink(missing_ok=True)
    subprocess.run(
        pinned(LOAD_CORE, [*argv, "--json", str(out)]), cwd=ROOT, check=True, timeout=timeout
    )
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return data


# The cases -------------------------------------------------------------------------


def load_case(
    rooms: int,
    args: argparse.Namespace,
    env: dict[str, str],
    out: Path,
    max_rate: float | None = None,
    mode: str = MEMORY,
) -> dict[str, Any]:
    quiet = wait_quiet(args.quiet_threshold, args.quiet_timeout)
    host = host_ms()
    with servers(mode, env, args) as case:
        paced = f" paced at {max_rate:g}/s per player" if max_rate else ""
        pids = ", ".join(str(srv.pid) for srv in case.servers)
        log(f"load: R={rooms}{paced}, {mode}, server PID {pids} on core {SERVER_CORE}")
        argv = [sys.executable, str(BENCH / "load.py"), *case.load_argv(), "--rooms",
                str(rooms), "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                "--procs", str(args.procs)]  # fmt: skip
        if mode == COLYSEUS:  # the same load, with the Colyseus client
            argv = [node(), str(COLYSEUS_DIR / "load.mjs"), *case.load_argv(), "--rooms",
                    str(rooms), "--seconds", str(args.seconds), "--warmup",
                    str(args.warmup)]  # fmt: skip
        if max_rate:
            argv += ["--max-rate", str(max_rate)]
        result = run_tool(argv, out, timeout=args.seconds + args.warmup + 900)
    result["mode"] = mode
    result["quiet_before_pct"] = quiet
    result["host_ms"] = host
    return result


def idle_case(
    conns: int, args: argparse.Namespace, env: dict[str, str], out: Path
) -> dict[str, Any]:
    quiet = wait_quiet(args.quiet_threshold, args.quiet_timeout)
    host = host_ms()
    with server(env) as srv:
        log(f"idle: C={conns}, server PID {srv.pid} on core {SERVER_CORE}")
        argv = [sys.executable, str(BENCH / "idle.py"), srv.url, "--conns", str(conns),
                "--seconds", str(args.idle_seconds), "--server-pid", str(srv.pid)]  # fmt: skip
        result = run_tool(argv, out, timeout=args.idle_seconds + 900)
    result["quiet_before_pct"] = quiet
    result["host_ms"] = host
    return result


def profile_case(
    rooms: int, args: argparse.Namespace, env: dict[str, str], py_spy: str, mode: str = MEMORY
) -> dict[str, Any]:
    """An R-room run sampled by py-spy for ``--profile-seconds`` in the middle of its window."""
    wait_quiet(args.quiet_threshold, args.quiet_timeout)
    name = f"profile-r{rooms}" + ("" if mode == MEMORY else f"-{mode}")
    raw = RESULTS / f".{name}.txt"
    kept = RESULTS / f"{name}.txt.gz"
    summary_path = RESULTS / f"{name}-summary.txt"
    seconds = args.profile_seconds + 8
    with servers(mode, env, args) as case:
        srv = case.servers[0]
        log(f"profile: R={rooms}, {mode}, py-spy on server PID {srv.pid}")
        argv = [sys.executable, str(BENCH / "load.py"), *case.load_argv(), "--rooms",
                str(rooms), "--seconds", str(seconds), "--warmup", str(args.warmup)]  # fmt: skip
        load = subprocess.Popen(
            pinned(LOAD_CORE, argv), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert load.stderr is not None
            for line in load.stderr:  # wait for the set-up to finish and play to start
                if line.startswith(PLAYING):
                    break
            time.sleep(args.warmup + 2)
            subprocess.run(
                pinned(LOAD_CORE, [py_spy, "record", "--pid", str(srv.pid), "--duration",
                                   str(round(args.profile_seconds)), "--rate", "250", "--gil",
                                   "--format", "raw", "--output", str(raw)]),
                check=True, timeout=args.profile_seconds + 60, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            try:
                load.wait(seconds + 120)
            except subprocess.TimeoutExpired:
                load.kill()
                load.wait()
    text = raw.read_text()
    raw.unlink()
    kept.write_bytes(gzip.compress(text.encode(), mtime=0))
    summary = summarize(text)
    summary_path.write_text(report(summary, 40) + "\n")
    return {
        "rooms": rooms,
        "mode": mode,
        "seconds": args.profile_seconds,
        "samples": summary.samples,
        "raw": str(kept.relative_to(ROOT)),
        "summary": str(summary_path.relative_to(ROOT)),
        "top_total": summary.top(40),
        "top_self": summary.top_self(25),
        "top_files": summary.top_files(15),
    }


def least_disturbed(case: Callable[[], dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Run a case; while other processes took more than ``--max-interference`` % of a
    core during its window, run it again (``--retries`` times); keep the quietest run."""
    runs = [case()]
    while len(runs) <= args.retries:
        other = runs[-1].get("other_cpu_pct") or 0
        if other <= args.max_interference:
            break
        log(f"other processes used {other:.0f}% of a core: running it again")
        runs.append(case())
    best = min(runs, key=lambda r: r.get("other_cpu_pct") or 0)
    best["attempts"] = len(runs)
    return best


REPEAT_KEYS = ("moves_per_s", "latency_p50_ms", "latency_p99_ms", "server_us_per_move",
               "redis_us_per_move", "gen_cpu_pct", "other_cpu_pct", "host_ms", "errors",
               "closed", "rooms_stalled", "room_gap_max_s")  # fmt: skip


def median_of(case: Callable[[], dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Run a load case ``--repeat`` times; the run with the median moves/s stands for it,
    and every run's main numbers go along in ``repeats``."""
    return median_run([least_disturbed(case, args) for _ in range(max(1, args.repeat))])


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median moves/s, with every run's main numbers in ``repeats``."""
    runs = sorted(runs, key=lambda r: float(r["moves_per_s"]))
    median = dict(runs[len(runs) // 2])
    median["repeats"] = [{key: r.get(key) for key in REPEAT_KEYS} for r in runs]
    return median


def interleaved(
    cases: Sequence[Callable[[], dict[str, Any]]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The cases of one R side by side, A/B/A/B (``--repeat`` rounds): on a shared machine
    a slow minute then falls on every mode alike instead of on one; the median of each."""
    runs: list[list[dict[str, Any]]] = [[] for _ in cases]
    for _ in range(max(1, args.repeat)):
        for mine, case in zip(runs, cases, strict=True):
            mine.append(least_disturbed(case, args))
    return [median_run(mine) for mine in runs]


# Reporting -------------------------------------------------------------------------


def redis_version() -> str | None:
    """``redis-server --version``, as the Redis cases ran it."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        return subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    return None


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = f.readline().split(":", 1)[1].strip()
    versions = {}
    for package in ("uvicorn", "websockets", "fastapi", "starlette", "pydantic", "msgpack",
                    "uvloop", "httptools", "redis", "hiredis"):  # fmt: skip
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
    }


def _n(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def load_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| R | mode | accepted moves/s | p50 ms | p99 ms | server µs/move | server CPU % "
        "| Redis µs/move | generator CPU % | other CPU % "
        "| d payload B: mid-game mean / max, all max | server RSS max MiB | host ms | errors |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    for r in rows:
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "none"
        if r["closed"]:
            errors += f"; {r['closed']} closed"
        if r.get("rooms_stalled"):
            errors += f"; {r['rooms_stalled']} rooms stalled"
        label = str(r["rooms"])
        if r.get("max_rate"):
            label += f" (paced: {r['max_rate']:g}/s per player)"
        rates = [x["moves_per_s"] for x in r.get("repeats", [])]
        spread = f" ({min(rates):,.0f} to {max(rates):,.0f})" if len(rates) > 1 else ""
        lines.append(
            f"| {label} | {r.get('mode', MEMORY)} | {r['moves_per_s']:,.0f}{spread} "
            f"| {_n(r['latency_p50_ms'], '.2f')} | {_n(r['latency_p99_ms'], '.2f')} "
            f"| {_n(r['server_us_per_move'], '.0f')} | {_n(r['server_cpu_pct'], '.0f')} "
            f"| {_n(r.get('redis_us_per_move'), '.0f')} | {r['gen_cpu_pct']:.0f} "
            f"| {_n(r['other_cpu_pct'], '.0f')} "
            f"| {_n(r['d_move_bytes_mean'], '.1f')} / {r['d_move_bytes_max']}, {r['d_bytes_max']} "
            f"| {(r['server_rss_max'] or 0) / 2**20:.0f} | {_n(r.get('host_ms'), '.0f')} "
            f"| {errors} |"
        )
    return "\n".join(lines)


def idle_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| C | connected | KiB/connection | KiB/connection with its session "
        "| heartbeat CPU % of a core | server CPU idle / no connections % "
        "| pings per connection | dropped | server RSS MiB | other CPU % | host ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['conns']:,} | {r['connected']:,} | {_n(r['bytes_per_conn'] / 1024, '.1f')} "
            f"| {(r['bytes_per_conn_with_session'] or 0) / 1024:.1f} "
            f"| {_n(r['heartbeat_cpu_pct'], '.2f')} "
            f"| {_n(r['idle_cpu_pct'], '.2f')} / {_n(r['baseline_cpu_pct'], '.2f')} "
            f"| {r['pings_per_conn']:.1f} | {r['dropped']} "
            f"| {(r['rss_connected'] or 0) / 2**20:.0f} | {_n(r['other_cpu_pct'], '.1f')} "
            f"| {_n(r.get('host_ms'), '.0f')} |"
        )
    return "\n".join(lines)


def verdicts(results: dict[str, Any]) -> list[str]:
    """Each target, what was measured, and by how much it was missed."""
    out = []

    def line(target: str, measured: float | None, limit: float, higher_is_better: bool,
             unit: str) -> None:  # fmt: skip
        if measured is None:
            out.append(f"- {target}: not measured")
            return
        ok = measured >= limit if higher_is_better else measured <= limit
        if ok:
            verdict = "met"
        elif higher_is_better:
            verdict = f"missed: {100 * (1 - measured / limit):.0f}% short ({measured / limit:.2f}x)"
        else:
            verdict = (
                f"missed by {measured - limit:,.1f} {unit} ({100 * (measured / limit - 1):.0f}% "
                f"over, {measured / limit:.2f}x)"
            )
        out.append(f"- {target}: {measured:,.1f} {unit}: **{verdict}**")

    every = results.get("load", [])
    load = {
        r["rooms"]: r for r in every if not r.get("max_rate") and r.get("mode", MEMORY) == MEMORY
    }
    paced = {r["rooms"]: r for r in every if r.get("max_rate") and r.get("mode", MEMORY) == MEMORY}
    on_redis = {r["rooms"]: r for r in every if not r.get("max_rate") and r.get("mode") == REDIS}
    on_sqlite = {r["rooms"]: r for r in every if not r.get("max_rate") and r.get("mode") == SQLITE}
    for rooms in (100, 500):
        if rooms in load:
            r = load[rooms]
            line(f">= {TARGET_MOVES_PER_S:,} accepted moves/s at R={rooms}", r["moves_per_s"],
                 TARGET_MOVES_PER_S, True, "moves/s")  # fmt: skip
            line(f"<= {TARGET_US_PER_MOVE} µs server CPU per move at R={rooms}",
                 r["server_us_per_move"], TARGET_US_PER_MOVE, False, "µs")  # fmt: skip
    if 100 in load:
        line(f"p99 move->opponent <= {TARGET_P99_MS} ms at R=100", load[100]["latency_p99_ms"],
             TARGET_P99_MS, False, "ms")  # fmt: skip
    if 100 in paced:
        r = paced[100]
        line(f"p99 move->opponent <= {TARGET_P99_MS} ms at R=100 paced to {r['max_rate']:g} "
             f"moves/s per player ({r['moves_per_s']:,.0f} moves/s)", r["latency_p99_ms"],
             TARGET_P99_MS, False, "ms")  # fmt: skip
    on_redis_only = {
        r["rooms"]: r for r in every if not r.get("max_rate") and r.get("mode") == REDIS_ONLY
    }
    # Redis mode beside the in-memory one (issue 14): like with like, what Redis costs
    # with records in Redis (no SQL) beside all in memory, and with them in the SQLite default
    # beside that default; and Redis with SQLite beside all in memory (both costs).
    for rooms in (100, 500):
        for redis_case, base_case, label, base in (
            (on_redis_only, load, "Redis mode (records in Redis)", "in-memory"),
            (on_redis, on_sqlite, "Redis mode (records in SQLite)", "SQLite default"),
            (on_redis, load, "Redis mode (records in SQLite)", "in-memory"),
        ):
            if rooms not in redis_case or rooms not in base_case:
                continue
            red, mem = redis_case[rooms], base_case[rooms]
            if mem["server_us_per_move"] and red["server_us_per_move"]:
                line(f"{label} <= {TARGET_REDIS_CPU}x {base} server CPU per move at "
                     f"R={rooms}", red["server_us_per_move"] / mem["server_us_per_move"],
                     TARGET_REDIS_CPU, False, "x")  # fmt: skip
            line(f"{label} >= {TARGET_REDIS_RATE:.2f} of {base} moves/s at R={rooms}",
                 red["moves_per_s"] / mem["moves_per_s"], TARGET_REDIS_RATE, True,
                 "of it")  # fmt: skip
            if rooms == 100 and mem["latency_p99_ms"] and red["latency_p99_ms"]:
                line(f"{label} p99 <= {TARGET_REDIS_P99}x {base}'s at R=100",
                     red["latency_p99_ms"] / mem["latency_p99_ms"], TARGET_REDIS_P99, False,
                     "x")  # fmt: skip
    # In memory at most Colyseus' CPU per move (issue 14), as fast as each goes and paced
    colyseus = {(r["rooms"], r.get("max_rate")): r for r in every if r.get("mode") == COLYSEUS}
    mine = {(r["rooms"], r.get("max_rate")): r for r in every if r.get("mode", MEMORY) == MEMORY}
    for key, col in colyseus.items():
        mem = mine.get(key)
        if mem and mem["server_us_per_move"] and col["server_us_per_move"]:
            rooms, rate = key
            paced_at = f" paced to {rate:g} moves/s per player" if rate else ""
            line(f"in-memory server CPU per move <= Colyseus' at R={rooms}{paced_at} "
                 f"({mem['server_us_per_move']:.1f} µs against {col['server_us_per_move']:.1f}; "
                 f"{mem['moves_per_s']:,.0f} and {col['moves_per_s']:,.0f} moves/s)",
                 mem["server_us_per_move"] / col["server_us_per_move"], 1.0, False,
                 "x")  # fmt: skip
    for rooms in sorted(set(load) & set(on_sqlite)):  # the SQLite default (issue 18)
        mem, lite = load[rooms], on_sqlite[rooms]
        if mem["server_us_per_move"] and lite["server_us_per_move"]:
            line(f"SQLite default <= {TARGET_SQLITE_CPU}x in-memory server CPU per move at "
                 f"R={rooms}", lite["server_us_per_move"] / mem["server_us_per_move"],
                 TARGET_SQLITE_CPU, False, "x")  # fmt: skip
    sizes = {s["game"]: s for s in results.get("sizes", [])}
    if load:
        worst = max(r["d_move_bytes_max"] for r in load.values())
        line(f"tic-tac-toe state message <= {TARGET_TTT_BYTES} B (mid-game d, live)", worst,
             TARGET_TTT_BYTES, False, "B max")  # fmt: skip
    if "tictactoe" in sizes:
        line(f"tic-tac-toe state message <= {TARGET_TTT_BYTES} B (mid-game d, offline)",
             sizes["tictactoe"]["max"], TARGET_TTT_BYTES, False, "B max")  # fmt: skip
    if "chess" in sizes:
        line(f"chess state message <= {TARGET_CHESS_BYTES} B (mid-game d, offline, games of up "
             f"to {sizes['chess']['max_s']} plies)",
             sizes["chess"]["max"], TARGET_CHESS_BYTES, False, "B max")  # fmt: skip
    idle = {r["conns"]: r for r in results.get("idle", [])}
    if 10_000 in idle:
        r = idle[10_000]
        per = r["bytes_per_conn"] / 1024 if r["bytes_per_conn"] is not None else None
        line(f"<= {TARGET_KIB_PER_CONN} KiB server memory per idle connection at C=10,000",
             per, TARGET_KIB_PER_CONN, False, "KiB")  # fmt: skip
        line(f"<= {TARGET_HEARTBEAT_PCT}% of a core on heartbeats at C=10,000",
             r["heartbeat_cpu_pct"], TARGET_HEARTBEAT_PCT, False, "%")  # fmt: skip
    return out


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [f"Run {results['started_at']}: {m['cpus']} CPUs ({m['cpu_model']}), "
             f"Python {m['python']}, commit {results.get('git', '?')[:10]}"
             + (f" plus uncommitted changes to {', '.join(results['uncommitted'])}."
                if results.get("uncommitted") else ".")]  # fmt: skip
    if results.get("load"):
        parts += [
            f"\n**Load** ({results['settings']['seconds']} s window after a "
            f"{results['settings']['warmup']} s warm-up, tic-tac-toe, 2 players a room; "
            f"the median of {results['settings'].get('repeat', 1)} runs by moves/s, "
            "the range in brackets):\n",
            load_table(results["load"]),
        ]
    if results.get("idle"):
        parts += [
            f"\n**Idle** ({results['settings']['idle_seconds']} s window, spectators, "
            "server pings every 10 s):\n",
            idle_table(results["idle"]),
        ]
    if results.get("sizes"):
        parts += ["\n**State message sizes, offline** (bench/sizes.py):\n", table_sizes(results)]
    parts += ["\n**Targets:**\n", "\n".join(verdicts(results))]
    for p in results.get("profiles", []):
        parts += [
            f"\n**Profile** (R={p['rooms']}, {p.get('mode', MEMORY)}, py-spy --gil, "
            f"{p['seconds']} s, {p['samples']} samples; {p['summary']}), innermost frames:\n",
            "\n".join(f"- {pct:.1f}% {name}" for name, pct in p["top_self"][:15]),
        ]
    return "\n".join(parts) + "\n"


def table_sizes(results: dict[str, Any]) -> str:
    from bench.sizes import GameSizes

    return table([GameSizes(**row) for row in results["sizes"]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", default="1,10,100,500,2000", help="R values, or '' for none")
    parser.add_argument("--modes", default="memory,sqlite,redis,redis-only",
                        help="each load case all in memory, on the SQLite default, on Redis "
                        "with records in that default and on Redis alone, records in Redis "
                        "(memory,sqlite,redis,redis-only); also fsync (Redis with "
                        "appendfsync always), wait1 (a replica, MEEPLE_REDIS_WAIT_REPLICAS=1), "
                        "workers2 (--workers 2), colyseus (Colyseus beside Meeple)")  # fmt: skip
    parser.add_argument("--cluster-rooms", default="100,500",
                        help="R values for two server processes on one Redis, or '' for "
                        "none")  # fmt: skip
    parser.add_argument("--interleave", action=argparse.BooleanOptionalAction, default=True,
                        help="run the modes of one R in turn, A/B/A/B, rather than each "
                        "mode's repeats back to back")  # fmt: skip
    parser.add_argument("--nice", type=int, default=0,
                        help="run servers and generators at this niceness: on a machine "
                        "shared with other work, -10 keeps most of their cores for them "
                        "(needs root)")  # fmt: skip
    parser.add_argument("--redis-core", default=LOAD_CORE, help="the core Redis runs on")
    parser.add_argument("--sizes", action=argparse.BooleanOptionalAction, default=True,
                        help="measure message sizes offline")  # fmt: skip
    parser.add_argument("--conns", default="1000,5000,10000", help="C values, or '' for none")
    parser.add_argument("--paced", default="100@20",
                        help="extra load cases R@rate: players make at most rate moves (and "
                        "votes) a second, below saturation; '' for none")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=20, help="load window")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each load case (the median is reported)")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--procs", type=int, default=1, help="load processes per case")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--profile-rooms", default="100,500",
                        help="R values profiled, in memory and on Redis (--modes)")  # fmt: skip
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--quiet-threshold", type=float, default=0.15,
                        help="cores busy below which the machine counts as quiet")  # fmt: skip
    parser.add_argument("--quiet-timeout", type=float, default=300)
    parser.add_argument("--max-interference", type=float, default=20,
                        help="%% of a core other processes may use in a window")  # fmt: skip
    parser.add_argument("--retries", type=int, default=2,
                        help="re-runs of a case disturbed by other processes")  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    if args.nice:
        be_nice(args.nice)
    rooms = [int(x) for x in args.rooms.split(",") if x.strip()]
    cluster_rooms = [int(x) for x in args.cluster_rooms.split(",") if x.strip()]
    profile_rooms = [int(x) for x in args.profile_rooms.split(",") if x.strip()]
    modes = [MODES[x.strip()] for x in args.modes.split(",") if x.strip()]
    conns = [int(x) for x in args.conns.split(",") if x.strip()]
    paced = [(int(r), float(rate)) for r, _, rate in
             (x.strip().partition("@") for x in args.paced.split(",") if x.strip())]  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "procs": args.procs,
            "repeat": args.repeat,
            "interleave": args.interleave,
            "nice": args.nice,
            "idle_seconds": args.idle_seconds,
            "server_core": SERVER_CORE,
            "load_core": LOAD_CORE,
            "server": "meeple serve",
            "server_env": SERVER_ENV,
            "modes": modes,
            "redis_core": args.redis_core,
            "redis": redis_version(),
        },
        "load": [],
        "idle": [],
    }
    results["settings"]["paced"] = args.paced
    with contextlib.suppress(subprocess.CalledProcessError, OSError):
        results["git"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "lobby", "game"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        # server files that differ from the commit: the run measured the working tree
        results["uncommitted"] = [line[3:] for line in status.splitlines()]
    if args.sizes:
        log("message sizes (offline)")
        sizes = measure()
        results["sizes"] = [vars(s) for s in sizes]
        print(table(sizes), flush=True)
    tmp = RESULTS / f".case-{os.getpid()}.json"
    if COLYSEUS in modes:
        colyseus_ready()
    python_modes = [m for m in modes if m != COLYSEUS]
    groups: list[list[tuple[int, float | None, str]]] = [[(r, None, m) for m in modes]
                                                         for r in rooms]  # fmt: skip
    groups += [[(r, rate, m) for m in modes] for r, rate in paced]  # side by side, per R
    groups += [[(r, None, REDIS_TWO)] for r in cluster_rooms]
    for group in groups:
        cases = [partial(load_case, r, args, env, tmp, rate, mode) for r, rate, mode in group]
        if args.interleave:
            results["load"] += interleaved(cases, args)
        else:
            results["load"] += [median_of(case, args) for case in cases]
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    for c in conns:
        results["idle"].append(least_disturbed(partial(idle_case, c, args, env, tmp), args))
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if args.profile and Path(py_spy).exists():
        results["profiles"] = []
        for r in profile_rooms:
            for mode in python_modes:  # py-spy samples Python: not Colyseus
                try:
                    results["profiles"].append(profile_case(r, args, env, py_spy, mode))
                except (subprocess.SubprocessError, OSError) as exc:
                    log(f"profiling failed: {exc!r}")
    elif args.profile:
        log("py-spy is not installed (.venv/bin/pip install py-spy): no profile")
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    args.out.with_suffix(".md").write_text(text)
    print("\n" + text, flush=True)


if __name__ == "__main__":
    main()
