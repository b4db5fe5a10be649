"""What "no acknowledged move lost" rests on when Redis itself fails (docs/architecture.md,
Durability): a Redis that fsyncs every write (``appendfsync always``) killed with -9
mid-game, and moves acknowledged only once a replica has them
(``MEEPLE_REDIS_WAIT_REPLICAS``). Real redis-server processes of the test's own, on
ports of their own, ended by their PIDs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from meeple.lobby.stores.base import Changes, unpack
from meeple.lobby.stores.redis import RedisJournal, connect
from tests.conftest import Peer, acked, of_type, open_peer
from tests.servers import (
    REDIS_OUTAGE_ERRORS,
    ServerProcess,
    free_port,
    metric,
    private_redis,
    until,
)
from tests.test_cluster import game_across, play, reconnect, session
from tests.test_cluster_redis_restart import disk_redis, until_ready
from tests.test_redis_load import UNLIMITED, run_load

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


DRAW = (0, 1, 2, 4, 3, 5, 7, 6, 8)
"""Nine tic-tac-toe moves that make no line: a game whose every move is played."""


async def play_on(a: Peer, b: Peer, progress: list[int], kill_at: int, go: asyncio.Event) -> None:
    """Ada and Bo play ``DRAW``, each move sent once the one before it is acknowledged,
    until the room refuses one or closes (Redis went away). ``progress`` counts the
    acknowledged moves of every room; ``go`` is set once they reach ``kill_at``."""
    for i, cell in enumerate(DRAW, 1):
        peer = (a, b)[(i - 1) % 2]
        try:
            await peer.send({"t": "move", "id": i, "m": {"cell": cell}})
            reply = await answer(peer, i, timeout=10)
        except (ConnectionClosed, TimeoutError):
            return  # the room closed under the move (1011: not saved)
        if reply["t"] == "err":
            return
        progress[0] += 1
        if progress[0] >= kill_at:
            go.set()


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis goes away on purpose
async def test_kill_9_of_a_redis_that_fsyncs_every_write_during_play_in_20_rooms(
    tmp_path: Path,
) -> None:
    """20 rooms playing as fast as their moves are acknowledged when Redis (``appendfsync
    always``) is killed with -9: after its restart, every move any player saw
    acknowledged is in its room's journal."""
    rooms = 20
    async with disk_redis(tmp_path) as redis:
        server = ServerProcess({"REDIS_URL": redis.url, "MEEPLE_REDIS_PREFIX": PREFIX})
        try:
            await server.start()
            games = [await game_across(server, server) for _ in range(rooms)]
            progress, go = [0], asyncio.Event()
            players = [
                asyncio.create_task(play_on(a, b, progress, 3 * rooms, go))
                for _, a, b, _, _ in games
            ]
            await asyncio.wait_for(go.wait(), 60)
            redis.kill()  # kill -9 with moves of many rooms on their way to the disk
            await asyncio.gather(*players)

            acks = {room: await seen_acks(a) + await seen_acks(b) for room, a, b, _, _ in games}
            await redis.start()  # same port, same append-only file
            assert sum(len(seqs) for seqs in acks.values()) >= 3 * rooms
            for room_id, seqs in acks.items():
                saved = await logged(redis.url, room_id)
                assert set(seqs) <= set(saved), (room_id, seqs, saved)
                assert saved == list(range(2, 2 + len(saved)))  # in order, no gap
        finally:
            server.stop()


@pytest.mark.server_errors(*REDIS_OUTAGE_ERRORS)  # Redis stops answering on purpose
async def test_a_redis_stalled_for_longer_than_a_lease_costs_no_room() -> None:
    """Redis stops answering for longer than a lease (1 s here), as an `appendfsync
    always` Redis does behind a disk that stalls, with a move on its way: once it goes
    on, the move is acknowledged and the game goes on, on the same connections. The
    leases lapsed while nobody could claim the rooms, so the owner takes them again
    (before this, it dropped every room and closed every player: bench/README.md,
    "Durability settings, 2026-12-03")."""
    async with private_redis() as (url, redis):
        env = {"REDIS_URL": url, "MEEPLE_REDIS_PREFIX": PREFIX, "MEEPLE_LEASE_SECONDS": "1"}
        server = ServerProcess(env)
        try:
            await server.start()
            room_id, a, b, _, _ = await game_across(server, server)
            assert await play(a, 1, 0) == 2
            os.kill(redis.pid, signal.SIGSTOP)
            try:
                await b.send({"t": "move", "id": 2, "m": {"cell": 4}})
                await asyncio.sleep(2.5)  # the stall itself: longer than the lease
            finally:
                os.kill(redis.pid, signal.SIGCONT)
            assert "ack" in await answer(b, 2, timeout=10)
            for i, (peer, cell) in enumerate([(a, 8), (b, 2), (a, 6), (b, 3), (a, 7)], 3):
                assert await play(peer, i, cell) == i + 1
            end = await a.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
            assert end["r"]["winners"] == [0]
            assert await logged(url, room_id) == list(range(2, 9))
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(f"{server.http}/metrics")).text
            assert metric(metrics, "meeple_leases_lost_total") == 0
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
    directory: Path, wait_ms: int, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[str, Replica, ServerProcess]]:
    """A primary, its replica, and a server whose moves wait for it (up to ``wait_ms``),
    with ``env`` besides."""
    async with private_redis() as (url, _):
        replica = Replica(port_of(url), directory)
        server = ServerProcess({
            **(env or {}),
            "REDIS_URL": url,
            "MEEPLE_REDIS_PREFIX": PREFIX,
            "MEEPLE_REDIS_WAIT_REPLICAS": "1",
            "MEEPLE_REDIS_WAIT_MS": str(wait_ms),
        })  # fmt: skip
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


async def test_a_replica_online_gets_every_save_through_every_turn_of_the_second(
    tmp_path: Path,
) -> None:
    """Batches of 50 rooms' moves with a replica wait, back to back through three turns
    of the clock's second: none is refused. (The save script once counted a replica
    only if ``INFO``'s ``lag`` matched ``%d+``, and that lag reads -1 for a few ms as the
    second turns: the first such batch was refused whole, NOREPLICAS.)"""
    async with private_redis() as (url, _):
        replica = Replica(port_of(url), tmp_path)
        client = connect(url, 3, reply_timeout=None)
        try:
            await replica.start()
            journal = RedisJournal(client, PREFIX, replicas=1)
            rooms = [f"r_{i}" for i in range(50)]
            meta = {"game": "tictactoe", "game_no": 0, "status": "playing"}
            made = await journal.save([Changes(r, 0, [], {**meta, "id": r}) for r in rooms])
            assert made == [None] * len(rooms)
            s, turns = 2, int(time.time()) + 3
            while int(time.time()) < turns:
                entry = {"s": s, "m": {"cell": s % 9}, "by": s % 2}
                errors = await journal.save([Changes(r, 0, [entry]) for r in rooms])
                assert errors == [None] * len(rooms), (s, errors[0])
                s += 1
            assert s > 2 + 3  # batches in every second (a few hundred on an idle machine)
            replica_url = f"redis://127.0.0.1:{replica.port}/0"
            for room_id in (rooms[0], rooms[-1]):  # WAIT said the replica had each batch
                assert await logged(replica_url, room_id) == list(range(2, s))
        finally:
            await client.aclose()
            replica.kill()


async def test_100_rooms_played_at_once_through_a_replica_wait_lose_no_save(
    tmp_path: Path,
) -> None:
    """A server whose moves wait for a replica holds 100 rooms played as fast as they
    go (bench/load.py, closed loop, 5 s): every room moves throughout, no save is
    refused, no connection is closed. This refused every move after a second or so
    (NOREPLICAS "0 replicas in step", bench/README.md's run of 2026-12-02)."""
    out = tmp_path / "load.json"
    async with waiting_for_a_replica(tmp_path, 2000, UNLIMITED) as (_, _, server):
        await run_load(
            server.http, "--rooms", "100", "--seconds", "5", "--warmup", "1", "--json",
            str(out), setup=180, window=60,
        )  # fmt: skip
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{server.http}/metrics")).text
    result: dict[str, Any] = json.loads(out.read_text())
    assert result["rooms"] == 100 and result["moves"] > 0
    assert result["errors"] == {} and result["closed"] == 0
    assert result["rooms_stalled"] == 0
    assert metric(metrics, "meeple_redis_errors_total") == 0
    assert metric(metrics, "meeple_journal_batches_total") > 0


async def made(http: httpx.AsyncClient, server: ServerProcess, auth: dict[str, str]) -> Any:
    """``POST /api/rooms`` for a tic-tac-toe room: the answer."""
    return await http.post(f"{server.http}/api/rooms", json={"game": "tictactoe"}, headers=auth)


async def saved_rooms(url: str) -> tuple[list[Any], set[Any]]:
    """The rooms' metadata keys in the journal, and the members of ``rooms:live``."""
    async with Redis.from_url(url) as redis:
        keys = [k async for k in redis.scan_iter(f"{PREFIX}room:*:meta")]
        return keys, await redis.smembers(f"{PREFIX}rooms:live")


@pytest.mark.server_errors("saving room", *REDIS_OUTAGE_ERRORS)
async def test_a_room_that_cannot_be_saved_is_not_made_and_the_creator_gets_503(
    tmp_path: Path,
) -> None:
    """``POST /api/rooms`` saves the new room before it answers. No replica online: 503
    ``not_saved`` at once, nothing written. A replica that does not answer within the
    wait: 503 ``not_saved``, and what the primary has of the room is deleted (no process
    takes over a room its creator was told was not made). Redis gone: 503
    ``store_unavailable``. Never a 500."""
    async with waiting_for_a_replica(tmp_path, 1000) as (url, replica, server):
        async with httpx.AsyncClient(timeout=10) as http:
            _, auth = await session(http, server.http, "Ada")
            r = await made(http, server, auth)
            assert r.status_code == 201
            kept = r.json()["id"]

            replica.pause()  # online, but WAIT times out: on the primary, not replicated
            r = await made(http, server, auth)
            assert (r.status_code, r.json()["code"]) == (503, "not_saved"), r.text
            assert r.headers["content-type"] == "application/problem+json"
            wanted = ([f"{PREFIX}room:{{{kept}}}:meta".encode()], {kept.encode()})

            async def undone() -> bool:
                return await saved_rooms(url) == wanted

            await until(undone, what="the unmade room's keys deleted")

            replica.kill()
            await in_step(port_of(url), 0)
            r = await made(http, server, auth)
            assert (r.status_code, r.json()["code"]) == (503, "not_saved"), r.text
            assert await saved_rooms(url) == wanted  # nothing was written
            listed = (await http.get(f"{server.http}/api/rooms", headers=auth)).json()
            assert [room["id"] for room in listed["items"]] == [kept]

        async with Redis.from_url(url) as redis:
            await redis.shutdown(nosave=True)
        async with httpx.AsyncClient(timeout=10) as http:
            r = await made(http, server, auth)
            assert (r.status_code, r.json()["code"]) == (503, "store_unavailable"), r.text
            assert r.headers["retry-after"] == "1"
