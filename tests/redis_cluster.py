"""A real 3-master Redis Cluster of a test's own: redis-server with cluster-enabled on
free ports, joined by ``redis-cli --cluster create``, stopped by PID."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from tests.servers import until


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


async def _answers(port: int) -> bool:
    ping = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(port), "ping", stdout=subprocess.PIPE
    )
    return (await ping.communicate())[0].strip() == b"PONG"


class ClusterNodes:
    """The cluster's redis-server processes, each stopped and started again by its PID
    (on its port and directory: its ``nodes.conf`` brings it back into the cluster with
    its slots, and with ``durable`` its append-only file brings back its keys)."""

    def __init__(self, directory: Path, masters: int, durable: bool) -> None:
        self.dir = directory
        self.ports = [cluster_port() for _ in range(masters)]
        self.durable = durable
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """The ``redis+cluster://`` URL (one node; clients find the rest)."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}/0"

    def _launch(self, port: int) -> None:
        node = self.dir / str(port)
        node.mkdir(exist_ok=True)
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--cluster-enabled", "yes", "--dir", str(node), "--save", ""]
        argv += ["--cluster-node-timeout", "2000"]
        if self.durable:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        self.procs[port] = subprocess.Popen(argv, stdout=subprocess.DEVNULL)

    async def create(self) -> None:
        for port in self.ports:
            self._launch(port)
        for port in self.ports:
            await until(functools.partial(_answers, port), what=f"redis-server on {port} answering")
        create = await asyncio.create_subprocess_exec(
            "redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
            "--cluster-replicas", "0", "--cluster-yes",
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await create.communicate()
        if create.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {out.decode()}")
        await self.until_ok()

    async def until_ok(self) -> None:
        """Wait until every node says the cluster is ok (all slots served)."""

        async def ok() -> bool:
            return all([await _cluster_ok(p) for p in self.ports])

        await until(ok, what="the Redis Cluster becoming ok")

    def kill(self, *ports: int) -> None:
        """kill -9 of these nodes (all of them when none are named), waited for."""
        for port in ports or self.ports:
            proc = self.procs.get(port)
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)

    async def restart(self, *ports: int) -> None:
        """Start these nodes (all when none are named) again, and wait for a cluster that is ok."""
        for port in ports or self.ports:
            self._launch(port)
        await self.until_ok()


@contextlib.asynccontextmanager
async def cluster_nodes(
    directory: Path, masters: int = 3, *, durable: bool = False
) -> AsyncIterator[ClusterNodes]:
    """Start a cluster; yield its nodes; kill them all at the end."""
    nodes = ClusterNodes(directory, masters, durable)
    try:
        await nodes.create()
        yield nodes
    finally:
        nodes.kill()


@contextlib.asynccontextmanager
async def redis_cluster(directory: Path, masters: int = 3) -> AsyncIterator[str]:
    """Start the cluster; yield its ``redis+cluster://`` URL (one node; clients find the rest)."""
    async with cluster_nodes(directory, masters) as nodes:
        yield nodes.url
