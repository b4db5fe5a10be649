"""What "no acknowledged move lost" rests on when Redis itself fails (docs/architecture.md,
Durability): a Redis that fsyncs every write (``appendfsync always``) killed with -9
mid-game, and moves acknowledged only once a replica has them
(``MEEPLE_REDIS_WAIT_REPLICAS``). Real redis-server processes of the test's own, on
ports of their own, ended by their PIDs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from meeple.lobby.stores.base import unpack
from tests.conftest import Peer, acked, of_type, open_peer
from tests.servers import REDIS_OUTAGE_ERRORS, ServerProcess, free_port, private_redis, until
from tests.test_cluster import game_across, play, reconnect
from tests.test_cluster_redis_restart import disk_redis, until_ready

pytestmark = pytest.mark.redis

PREFIX = "t:"


async def logged(url: str, room_id: str) -> list[int]:
    """The sequence numbers the journal holds for the room's first game."""
    async with Redis.from_url(url) as redis:
        raw = await redis.lrange(f"{PREFIX}room:{{{room_id}}}:log:0", 0, -1)
    return [int(unpack(entry)["s"]) for entry in raw]


async def answer(peer: Peer, msg_id: int, timeout: float) -> dict[str, object]:
    """The ack or the err our message ``msg_id`` got."""
    refused = of_type("err", id=msg_id)
    return await peer.until(lambda m: acked(msg_id)(m) or refused(m), timeout)


async def seen_acks(peer: Peer) -> list[int]:
    """The sequence numbers of the moves ``peer`` saw acknowledged, reading until it closes
    or is quiet for 1.5 s; then it is closed."""
    await peer.closed(timeout=1.5)
    await peer.ws.close()
    return [int(m["s"]) for m in peer.seen if m.get("t") == "d" and "ack" in m]


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis goes away on purpose
async def test_kill_9_of_a_redis_that_fsyncs_every_write_loses_no_acknowledged_move(
    tmp_path: Path,
) -> None:
    async with disk_redis(tmp_path) as redis:  # appendfsync always
        env = {"REDIS_URL": redis.url, "MEEPLE_REDIS_PREFIX": PREFIX}
        server = ServerProcess(env)
        try:
            await server.start()
            room_id, a, b, token_a, token_b = await game_across(server, server)
            assert [await play(a, 1, 0), await play(b, 2, 4)] == [2, 3]
            await b.saw(of_type("d", s=3))
            await a.send({"t": "move", "id": 3, "m": {"cell": 8}})
            redis.kill()  # kill -9 while that move may be on its way to the disk

            acks = await seen_acks(a) + await seen_acks(b)
            await redis.start()  # same port, same append-only file
            assert set(acks) <= set(await logged(redis.url, room_id))
            async with httpx.AsyncClient(timeout=10) as http:
                await until_ready(http, [server])

            # The game goes on from what was saved: the move in flight is either in
            # the record (it was acknowledged or not) or sent again.
            a = await reconnect(server, room_id, token_a, since=3)
            b = await reconnect(server, room_id, token_b, since=3)
            saved = await logged(redis.url, room_id)
            assert saved in ([2, 3], [2, 3, 4])
            if saved == [2, 3]:
                assert await play(a, 4, 8) == 4
            for i, (peer, cell) in enumerate([(b, 2), (a, 6), (b, 3), (a, 7)], 4):
                assert await play(peer, i + 1, cell) == i + 1
            end = await a.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
            assert end["r"]["winners"] == [0]
            assert await logged(redis.url, room_id) == list(range(2, 9))
        finally:
            server.stop()


class Replica:
    """redis-server replicating ``primary_port``, on a port and in a directory of its own."""

    def __init__(self, primary_port: int, directory: Path) -> None:
        self.port = free_port()
        self.primary_port = primary_port
        self.dir = directory
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.dir)]
        argv += ["--replicaof", "127.0.0.1", str(self.primary_port)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        await in_step(self.primary_port, 1)

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            self.proc.kill()
            self.proc.wait(10)


async def in_step(primary_port: int, replicas: int) -> None:
    """Wait until the primary counts ``replicas`` replicas online."""
    async with Redis(port=primary_port) as primary:

        async def online() -> bool:
            info = await primary.info("replication")
            online = [v for k, v in info.items() if k.startswith("slave")]
            return sum(1 for v in online if v.get("state") == "online") == replicas

        await until(online, what=f"the primary having {replicas} replicas online")


@contextlib.asynccontextmanager
async def waiting_for_a_replica(
    directory: Path, wait_ms: int
) -> AsyncIterator[tuple[str, Replica, ServerProcess]]:
    """A primary, its replica, and a server whose moves wait for it (up to ``wait_ms``)."""
    async with private_redis() as (url, _):
        replica = Replica(port_of(url), directory)
        env = {
            "REDIS_URL": url,
            "MEEPLE_REDIS_PREFIX": PREFIX,
            "MEEPLE_REDIS_WAIT_REPLICAS": "1",
            "MEEPLE_REDIS_WAIT_MS": str(wait_ms),
        }
        server = ServerProcess(env)
        try:
            await replica.start()
            await server.start()
            yield url, replica, server
        finally:
            server.stop()
            replica.kill()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.mark.server_errors("saving room")  # the moves the replica never had
async def test_moves_wait_for_a_replica_and_fail_cleanly_without_one(tmp_path: Path) -> None:
    async with waiting_for_a_replica(tmp_path, 2000) as (url, replica, server):
        room_id, a, b, token_a, token_b = await game_across(server, server)
        assert await play(a, 1, 0) == 2
        replica_url = f"redis://127.0.0.1:{replica.port}/0"
        assert await logged(replica_url, room_id) == [2]  # acked: the replica has it

        # Held: while the replica cannot answer, the move is not acknowledged.
        replica.pause()
        await b.send({"t": "move", "id": 2, "m": {"cell": 4}})
        with pytest.raises(TimeoutError):
            await answer(b, 2, timeout=0.8)
        replica.resume()
        assert "ack" in await answer(b, 2, timeout=30)
        assert await logged(replica_url, room_id) == [2, 3]

        # No replica: the move answers not_saved within the wait, and nothing changed:
        # not in the journal, not shown to the other seat.
        replica.kill()
        await in_step(port_of(url), 0)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await a.send({"t": "move", "id": 3, "m": {"cell": 8}})
        refused = await answer(a, 3, timeout=4)
        assert refused["t"] == "err" and refused["code"] == "not_saved"
        assert loop.time() - sent < 2.0 + 1.0
        assert (await a.closed())[0] == 1011
        assert (await b.closed())[0] == 1011
        assert not [m for m in b.seen if m.get("t") == "d" and m.get("s") == 4]
        assert await logged(url, room_id) == [2, 3]

        # The replica back, the game goes on from before the refused move.
        await replica.start()
        a = await reconnect(server, room_id, token_a, since=3)
        b = await reconnect(server, room_id, token_b, since=3)
        assert await logged(url, room_id) == [2, 3]
        for i, (peer, cell) in enumerate([(a, 8), (b, 2), (a, 6), (b, 3), (a, 7)], 3):
            assert await play(peer, i + 1, cell) == i + 1
        end = await a.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
        assert end["r"]["winners"] == [0]
        assert await logged(replica_url, room_id) == list(range(2, 9))


@pytest.mark.server_errors("saving room")  # the move whose WAIT timed out
async def test_a_wait_that_times_out_is_not_acknowledged_and_shown_only_once_replicated(
    tmp_path: Path,
) -> None:
    """The replica stops answering after the move passed the check: WAIT times out, the
    move is refused (``not_saved``) though the primary has it; the room is shown again
    only once the replica has it too."""
    async with waiting_for_a_replica(tmp_path, 1000) as (url, replica, server):
        room_id, a, b, token_a, _ = await game_across(server, server)
        assert await play(a, 1, 0) == 2

        replica.pause()  # in step a moment ago: the save passes its check, WAIT waits
        await b.send({"t": "move", "id": 2, "m": {"cell": 4}})
        refused = await answer(b, 2, timeout=4)
        assert refused["t"] == "err" and refused["code"] == "not_saved"
        assert (await b.closed())[0] == 1011
        assert await logged(url, room_id) == [2, 3]  # on the primary, unacknowledged

        # While the replica cannot have it, nobody is shown the room: try again later.
        peer = await open_peer(server.ws, room_id, token_a, since=2, game=0)
        assert (await peer.closed())[0] == 1013
        assert not [m for m in peer.seen if m.get("s") == 3]
        replica.resume()
        a = await reconnect(server, room_id, token_a, since=2)
        shown = await a.saw(lambda m: m.get("t") in ("d", "snap") and m.get("s") == 3)
        assert shown  # the move, now on the replica too
        replica_url = f"redis://127.0.0.1:{replica.port}/0"
        assert await logged(replica_url, room_id) == [2, 3]
