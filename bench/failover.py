"""How long a player's board stays frozen when a room's owner is killed (kill -9).

Two ``meeple serve`` processes on a Redis of this tool's own, with the default lease
(MEEPLE_LEASE_SECONDS=5). A tic-tac-toe room is created on the first process (its
owner); Ada plays there, Bo through the second process (relayed). After Ada's first
move the owner is killed with SIGKILL; Bo, to move, waits for his connection to be
closed (1012, by the surviving process once it sees the owner dead), reconnects there
at once (then every 100 ms while the room has no owner yet) and sends his move. The
time from the kill to his move's acknowledgement is one run; the tool prints the runs
and their median, and writes them to bench/results/failover.json.

    .venv/bin/python bench/failover.py --runs 7
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from meeple.game.codec import decode, encode

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def answers(url: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(400):
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/healthz", timeout=1)).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def redis_server(port: int) -> subprocess.Popen[bytes]:
    argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL)


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "meeple.lobby.cli", "serve", "--port", str(port)]
    return subprocess.Popen([*argv, "--log-level", "warning"], cwd=ROOT, env=env)


async def until(ws: ClientConnection, kind: str, within: float) -> dict[str, Any]:
    async with asyncio.timeout(within):
        while True:
            message = decode(await ws.recv(decode=False))
            if message.get("t") == kind:
                return message


async def player(base: str, room_id: str, token: str, since: int | None = None) -> ClientConnection:
    query = f"?since={since}&game=0" if since is not None else ""
    protocols = [Subprotocol("meeple.v1"), Subprotocol(f"token.{token}")]
    return await connect(f"{base}/ws/rooms/{room_id}{query}", subprotocols=protocols)


async def move(ws: ClientConnection, msg_id: int, cell: int) -> None:
    await ws.send(encode({"t": "move", "id": msg_id, "m": {"cell": cell}}))
    async with asyncio.timeout(10):
        while True:
            m = decode(await ws.recv(decode=False))
            if m.get("t") == "d" and m.get("ack") == msg_id:
                return
            if m.get("t") == "err" and m.get("id") == msg_id:
                raise RuntimeError(f"move refused: {m}")


async def one_run(redis_url: str, prefix: str) -> float:
    with tempfile.TemporaryDirectory(prefix="meeple-failover-") as data:  # its SQLite file
        env = {**os.environ, "REDIS_URL": redis_url, "MEEPLE_REDIS_PREFIX": prefix}
        return await timed_failover({**env, "MEEPLE_DATA_DIR": data})


async def timed_failover(env: dict[str, str]) -> float:
    """One run: from the owner's SIGKILL to the acknowledgement of Bo's move."""
    ports = [free_port(), free_port()]
    procs = [serve(env, port) for port in ports]
    http = [f"http://127.0.0.1:{p}" for p in ports]
    ws = [f"ws://127.0.0.1:{p}" for p in ports]
    try:
        await asyncio.gather(*(answers(u, p) for u, p in zip(http, procs, strict=True)))
        async with httpx.AsyncClient(timeout=10) as client:
            tokens = []
            for base, name in zip(http, ("Ada", "Bo"), strict=True):
                r = await client.post(f"{base}/api/sessions", json={"name": name})
                tokens.append(r.raise_for_status().json()["token"])
            auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
            r = await client.post(
                f"{http[0]}/api/rooms", json={"game": "tictactoe"}, headers=auth[0]
            )
            room_id = r.raise_for_status().json()["id"]
            r = await client.post(f"{http[1]}/api/rooms/{room_id}/seats", json={}, headers=auth[1])
            r.raise_for_status()
        ada = await player(ws[0], room_id, tokens[0])
        bo = await player(ws[1], room_id, tokens[1])
        await until(ada, "snap", 10)
        await until(bo, "snap", 10)
        await move(ada, 1, 0)

        procs[0].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        with contextlib.suppress(Exception):
            while True:
                await bo.recv()  # until the surviving process closes it
        while True:
            bo = await player(ws[1], room_id, tokens[1], since=2)
            try:
                await until(bo, "room", 1)
                break
            except Exception:
                await bo.close()
                await asyncio.sleep(0.1)
        await move(bo, 2, 4)
        return time.monotonic() - killed
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(10)


async def main(runs: int) -> None:
    port = free_port()
    redis = redis_server(port)
    try:
        await asyncio.sleep(0.3)
        times = []
        for i in range(runs):
            seconds = await one_run(f"redis://127.0.0.1:{port}/0", f"failover{i}:")
            print(f"run {i + 1}: {seconds:.2f} s", flush=True)
            times.append(seconds)
        median = statistics.median(times)
        print(f"median of {runs}: {median:.2f} s (min {min(times):.2f}, max {max(times):.2f})")
        out = ROOT / "bench" / "results" / "failover.json"
        out.write_text(json.dumps({"runs": times, "median": median}, indent=2) + "\n")
    finally:
        redis.kill()
        redis.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    asyncio.run(main(parser.parse_args().runs))
