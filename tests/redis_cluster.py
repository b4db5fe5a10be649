"""A real 3-master Redis Cluster of a test's own: redis-server with cluster-enabled on
free ports, joined by ``redis-cli --cluster create``, stopped by PID."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (10,000 more) is free and exists as well."""
    while True:
        port = random.randrange(20000, 30000)
        if _free(port) and _free(port + 10000):
            return port


async def _cluster_ok(port: int) -> bool:
    proc = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(port), "cluster", "info", stdout=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return b"cluster_state:ok" in out


@contextlib.asynccontextmanager
async def redis_cluster(directory: Path, masters: int = 3) -> AsyncIterator[str]:
    """Start the cluster; yield its ``redis+cluster://`` URL (one node; clients find the rest)."""
    ports = [cluster_port() for _ in range(masters)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            node = directory / str(port)
            node.mkdir()
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
            argv += ["--cluster-enabled", "yes", "--dir", str(node), "--save", ""]
            argv += ["--appendonly", "no", "--cluster-node-timeout", "2000"]
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
        for port in ports:
            for _ in range(100):
                ping = await asyncio.create_subprocess_exec(
                    "redis-cli", "-p", str(port), "ping", stdout=subprocess.PIPE
                )
                if (await ping.communicate())[0].strip() == b"PONG":
                    break
                await asyncio.sleep(0.05)
        create = await asyncio.create_subprocess_exec(
            "redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
            "--cluster-replicas", "0", "--cluster-yes",
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await create.communicate()
        if create.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {out.decode()}")
        for _ in range(200):
            if all([await _cluster_ok(p) for p in ports]):
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the Redis Cluster did not become ok within 10 s")
        yield f"redis+cluster://127.0.0.1:{ports[0]}/0"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
