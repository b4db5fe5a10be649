"""A primary, a replica and three sentinels of a test's own, on free ports, stopped by PID."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from tests.servers import free_port, redis_answers

SERVICE = "meeple"


@dataclass
class Sentinels:
    primary: subprocess.Popen[bytes]
    primary_port: int
    replica_port: int
    ports: list[int]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    async def primary_now(self) -> int:
        """The port of the primary the sentinels name now."""
        async with Redis(port=self.ports[0]) as sentinel:
            _, port = await sentinel.execute_command(  # type: ignore[no-untyped-call]
                "SENTINEL", "get-master-addr-by-name", SERVICE
            )
        return int(port)


async def _answers(port: int) -> None:
    await redis_answers(f"redis://127.0.0.1:{port}/0")


@contextlib.asynccontextmanager
async def redis_sentinels(directory: Path) -> AsyncIterator[Sentinels]:
    primary_port, replica_port = free_port(), free_port()
    # --dir: a replica writes the RDB of its first sync to disk, in the working directory
    # unless told otherwise.
    base = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)]
    primary = subprocess.Popen(
        ["redis-server", "--port", str(primary_port), *base], stdout=subprocess.DEVNULL
    )
    found = Sentinels(primary, primary_port, replica_port, [free_port() for _ in range(3)])
    found.procs.append(primary)
    try:
        await _answers(primary_port)
        argv = ["redis-server", "--port", str(replica_port), *base]
        argv += ["--replicaof", "127.0.0.1", str(primary_port)]
        found.procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL))
        await _answers(replica_port)
        for port in found.ports:
            conf = directory / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
            )
            found.procs.append(
                subprocess.Popen(
                    ["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL
                )
            )
        for port in found.ports:
            await _answers(port)
        yield found
    finally:
        for proc in found.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
