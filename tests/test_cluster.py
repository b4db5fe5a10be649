"""Several server processes on one Redis act as one server, and survive kill -9.

Real processes (``meeple serve``) on loopback ports, real Redis under a key prefix of
the test's own, real WebSocket clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import REDIS_URL, Peer, acked, of_type, open_peer
from tests.servers import ServerProcess, server_processes, until

pytestmark = pytest.mark.redis


@pytest.fixture
async def cluster(redis_prefix: str) -> AsyncIterator[list[ServerProcess]]:
    env = {
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        "MEEPLE_LEASE_SECONDS": "2",
        "MEEPLE_GRACE_SECONDS": "30",
    }
    async with server_processes(env) as procs:
        yield procs


async def session(http: httpx.AsyncClient, base: str, name: str) -> tuple[str, dict[str, str]]:
    r = await http.post(f"{base}/api/sessions", json={"name": name})
    r.raise_for_status()
    token = r.json()["token"]
    return token, {"Authorization": f"Bearer {token}"}


async def room_for_two(
    http: httpx.AsyncClient, first: ServerProcess, second: ServerProcess, game: str = "tictactoe"
) -> tuple[str, str, str]:
    """A room created on ``first`` (whose creator sits in seat 0), joined from ``second``."""
    token_a, auth_a = await session(http, first.http, "Ada")
    token_b, auth_b = await session(http, second.http, "Bo")
    r = await http.post(f"{first.http}/api/rooms", json={"game": game}, headers=auth_a)
    r.raise_for_status()
    room_id = r.json()["id"]
    r = await http.post(f"{second.http}/api/rooms/{room_id}/seats", json={}, headers=auth_b)
    r.raise_for_status()
    assert r.json()["seat"] == 1
    return room_id, token_a, token_b


async def game_across(one: ServerProcess, two: ServerProcess) -> tuple[str, Peer, Peer, str, str]:
    """A tic-tac-toe room made on ``one`` and joined from ``two``, Ada connected through
    ``one`` and Bo through ``two``, the game on: the room's id, their peers and tokens."""
    async with httpx.AsyncClient(timeout=10) as http:
        room_id, token_a, token_b = await room_for_two(http, one, two)
    a = await open_peer(one.ws, room_id, token_a)
    b = await open_peer(two.ws, room_id, token_b)
    await started(a)
    await started(b)
    return room_id, a, b, token_a, token_b


async def started(peer: Peer) -> dict[str, Any]:
    return await peer.until(lambda m: m["t"] == "snap" and m["st"] == "playing", timeout=10)


async def playing(room_id: str, seated: list[tuple[str, str]]) -> tuple[Peer, ...]:
    """The players of ``room_id``, each connected with its token to its server (the
    WebSocket base URL), once each has seen the game start."""
    peers = [await open_peer(ws, room_id, token) for ws, token in seated]
    for peer in peers:
        await started(peer)
    return tuple(peers)


async def play(peer: Peer, msg_id: int, cell: int) -> int:
    await peer.send({"t": "move", "id": msg_id, "m": {"cell": cell}})
    refused = of_type("err", id=msg_id)
    answer = await peer.until(lambda m: acked(msg_id)(m) or refused(m), 10)
    assert not refused(answer), answer
    return int(answer["s"])


async def test_players_on_two_processes_finish_a_game(cluster: list[ServerProcess]) -> None:
    one, two = cluster
    async with httpx.AsyncClient(timeout=10) as http:
        room_id, token_a, token_b = await room_for_two(http, one, two)
    # b's is relayed: the room is owned by `one`
    a, b = await playing(room_id, [(one.ws, token_a), (two.ws, token_b)])
    for i, (peer, cell) in enumerate([(a, 0), (b, 3), (a, 1), (b, 4), (a, 2)]):
        await play(peer, i, cell)
    for peer in (a, b):
        end = await peer.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
        assert end["r"]["winners"] == [0] and end["s"] == 6
    seqs = [m["s"] for m in b.seen if m["t"] == "d"]
    assert seqs == [2, 3, 4, 5, 6]  # each delta once, in order, across processes


async def test_both_processes_list_the_same_rooms(cluster: list[ServerProcess]) -> None:
    one, two = cluster
    async with httpx.AsyncClient(timeout=10) as http:
        _, auth = await session(http, one.http, "Ada")
        made = set()
        for proc, game in ((one, "tictactoe"), (two, "connect4"), (two, "chess")):
            r = await http.post(f"{proc.http}/api/rooms", json={"game": game}, headers=auth)
            made.add(r.json()["id"])

        async def listed() -> list[set[str]] | None:  # once the directory has them
            seen = []
            for proc in cluster:
                r = await http.get(f"{proc.http}/api/rooms", headers=auth)
                seen.append({room["id"] for room in r.json()["items"]})
            return seen if seen == [made, made] else None

        assert await until(listed, what="both listings") == [made, made]
        r = await http.get(f"{two.http}/api/rooms?game=chess", headers=auth)
        assert [room["game"] for room in r.json()["items"]] == ["chess"]


async def test_kill_9_the_owner_and_the_game_finishes_on_the_other(
    cluster: list[ServerProcess],
) -> None:
    one, two = cluster
    room_id, a, b, token_a, token_b = await game_across(one, two)
    acked = [await play(a, 1, 0), await play(b, 2, 4)]
    await b.saw(of_type("d", s=3))
    await b.send({"t": "chat", "text": "good luck"})
    await a.until(of_type("chat"))

    one.kill()  # the owner dies mid-game, no goodbye

    # b's process notices its room lost its owner and closes b with 1012.
    code, _ = await b.closed(timeout=15)
    assert code == 1012
    # Both reconnect to the surviving process, resuming from what they saw.
    a2 = await reconnect(two, room_id, token_a, since=3)
    b2 = await reconnect(two, room_id, token_b, since=3)
    chats = await a2.until(of_type("chats"))  # the chat moved with the room
    assert [(line["name"], line["text"]) for line in chats["l"]] == [("Bo", "good luck")]
    acked.append(await play(a2, 3, 8))
    acked.append(await play(b2, 4, 2))
    acked.append(await play(a2, 5, 6))
    acked.append(await play(b2, 6, 1))
    acked.append(await play(a2, 7, 7))  # 6, 7, 8: seat 0 wins on the bottom row
    end = await b2.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
    assert end["r"]["winners"] == [0]
    assert acked == [2, 3, 4, 5, 6, 7, 8]
    async with httpx.AsyncClient(timeout=10) as http:
        _, auth = await session(http, two.http, "Cy")
        record = (await http.get(f"{two.http}/api/records/{room_id}-0", headers=auth)).json()
    assert [entry["s"] for entry in record["log"]] == acked  # every acknowledged move kept


async def reconnect(proc: ServerProcess, room_id: str, token: str, since: int) -> Peer:
    """Reconnect as a client does: retry until the room has an owner again."""
    failed: list[Exception] = []

    async def attempt() -> Peer | None:
        try:  # a server still finding its Redis may drop the handshake: try again
            peer = await open_peer(proc.ws, room_id, token, since=since, game=0)
            await peer.until(of_type("room"), timeout=3)
        except Exception as exc:
            failed[:] = [exc]
            return None
        return peer

    try:
        found: Peer | None = await until(attempt, what=f"a reconnection to {room_id}")
    except TimeoutError as exc:
        raise exc from (failed[0] if failed else None)
    assert found is not None
    return found


async def test_restart_the_only_server_and_both_players_finish(redis_prefix: str) -> None:
    env = {"REDIS_URL": REDIS_URL, "MEEPLE_REDIS_PREFIX": redis_prefix, "MEEPLE_LEASE_SECONDS": "2"}
    server = ServerProcess(env)
    await server.start()
    try:
        room_id, a, b, token_a, token_b = await game_across(server, server)
        assert await play(a, 1, 4) == 2
        await b.saw(of_type("d", s=2))

        server.stop()  # a restart: the process goes, Redis keeps the sessions and the room
        for peer in (a, b):
            code, _ = await peer.closed()
            assert code in (1001, 1006, 1012)
        server = ServerProcess(env, port=server.port)
        await server.start()

        a = await reconnect(server, room_id, token_a, since=2)
        b = await reconnect(server, room_id, token_b, since=2)
        assert await play(b, 2, 0) == 3
        for i, cell in enumerate((3, 1, 5), start=3):
            await play(a if i % 2 else b, i, cell)
        end = await a.saw(lambda m: m["t"] == "d" and m.get("st") == "finished")
        assert end["r"]["winners"] == [0] and end["r"]["reason"] == "three in a row"
        won = await a.until(lambda m: of_type("room")(m) and m["st"] == "finished")
        assert won["score"] == [1.0, 0.0]

        server.stop()  # again, between two games of the series: its score is kept too
        await a.closed()
        server = ServerProcess(env, port=server.port)
        await server.start()
        a = await reconnect(server, room_id, token_a, since=end["s"])
        assert (await a.saw(of_type("room")))["score"] == [1.0, 0.0]
    finally:
        server.stop()


async def next_event(lines: Any, name: str) -> dict[str, Any]:
    """The data of the next server-sent event called ``name``."""
    import json

    event = "message"
    async for line in lines:
        if line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:") and event == name:
            data: dict[str, Any] = json.loads(line.partition(":")[2])
            return data
        elif line == "":
            event = "message"
    raise AssertionError("the event stream ended")


async def test_quick_match_pairs_players_on_different_processes(
    cluster: list[ServerProcess],
) -> None:
    await quick_match_across(*cluster)


async def quick_match_across(one: ServerProcess, two: ServerProcess) -> None:
    """Ada's ticket on ``one`` and Bo's on ``two`` are matched into one room, and each
    plays there through its own process."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=20)) as http:
        token_a, auth_a = await session(http, one.http, "Ada")
        token_b, auth_b = await session(http, two.http, "Bo")
        async with (
            http.stream("GET", f"{one.http}/api/matchmaking/events", headers=auth_a) as events_a,
            http.stream("GET", f"{two.http}/api/matchmaking/events", headers=auth_b) as events_b,
        ):
            body = {"game": "tictactoe"}
            ticket_a = (
                await http.post(f"{one.http}/api/matchmaking/tickets", json=body, headers=auth_a)
            ).json()
            ticket_b = (
                await http.post(f"{two.http}/api/matchmaking/tickets", json=body, headers=auth_b)
            ).json()
            matched_a = await asyncio.wait_for(next_event(events_a.aiter_lines(), "matched"), 15)
            matched_b = await asyncio.wait_for(next_event(events_b.aiter_lines(), "matched"), 15)
    assert matched_a["ticket"] == ticket_a["id"] and matched_b["ticket"] == ticket_b["id"]
    assert matched_a["room"] == matched_b["room"]
    assert {matched_a["seat"], matched_b["seat"]} == {0, 1}
    # The two play it out, each on its own process.
    a = await open_peer(one.ws, matched_a["room"], token_a)
    b = await open_peer(two.ws, matched_b["room"], token_b)
    first = await started(a)
    await started(b)
    mover, other = (a, b) if first["a"] == [first["seat"]] else (b, a)
    assert await play(mover, 1, 4) == 2
    # The mover's mark in cell 4.
    assert (await other.saw(of_type("d", s=2)))["o"] == [
        [["b", 4], (await mover.saw(of_type("snap")))["seat"]]
    ]


async def test_processes_with_different_games_never_lose_a_room(redis_prefix: str) -> None:
    """A process never claims a room whose game it lacks: when the only process serving
    nim dies, the other one leaves its room alone (a client is told to try again), and
    a process that serves nim takes it over with every move."""
    env = {"REDIS_URL": REDIS_URL, "MEEPLE_REDIS_PREFIX": redis_prefix, "MEEPLE_LEASE_SECONDS": "1"}
    with_nim = {**env, "MEEPLE_GAMES": "tests.sample_games:Nim"}
    one, two = ServerProcess(with_nim), ServerProcess(env)
    three: ServerProcess | None = None
    await asyncio.gather(one.start(), two.start())
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            catalogs = [
                {g["name"] for g in (await http.get(f"{p.http}/api/games")).json()}
                for p in (one, two)
            ]
            assert catalogs[0] - catalogs[1] == {"nim"}  # each process shows what it serves
            token_a, auth_a = await session(http, one.http, "Ada")
            token_b, auth_b = await session(http, two.http, "Bo")
            refused = await http.post(f"{two.http}/api/rooms", json={"game": "nim"}, headers=auth_b)
            assert refused.status_code == 422 and refused.json()["code"] == "unknown_game"
            room_id = (
                await http.post(f"{one.http}/api/rooms", json={"game": "nim"}, headers=auth_a)
            ).json()["id"]
            seat = await http.post(f"{two.http}/api/rooms/{room_id}/seats", headers=auth_b)
            assert seat.status_code == 200, seat.text  # the call runs on nim's process
        # b's is relayed: two needs no nim for that
        a, b = await playing(room_id, [(one.ws, token_a), (two.ws, token_b)])
        await a.send({"t": "move", "id": 1, "m": {"n": 2}})
        await b.until(of_type("d", s=2))

        one.kill()
        code, _ = await b.closed(timeout=15)
        assert code == 1012
        lease, epoch = (
            f"{redis_prefix}room:{{{room_id}}}:lease",
            f"{redis_prefix}room:{{{room_id}}}:epoch",
        )
        async with Redis.from_url(REDIS_URL) as redis:
            # The dead owner's lease runs out: from then on anyone could take the room.
            async def lapsed() -> bool:
                return not await redis.exists(lease)

            await until(lapsed, what="the dead owner's lease")
            # Two is asked for the room and must decide now: it refuses, claiming nothing.
            code, reason = await (await open_peer(two.ws, room_id, token_b)).closed()
            assert code == 1013 and reason is not None and "nim" in reason
            assert not await redis.exists(lease) and await redis.get(epoch) == b"1"

        three = ServerProcess(with_nim)
        await three.start()
        b2 = await reconnect(three, room_id, token_b, since=2)
        await b2.send({"t": "move", "id": 2, "m": {"n": 3}})
        assert (await b2.until(acked(2), 10))["s"] == 3  # the move before the crash is kept
        a2 = await reconnect(three, room_id, token_a, since=3)
        await a2.send({"t": "sync"})
        snap = await a2.until(of_type("snap"))
        assert snap["v"] == {"left": 4} and snap["lo"] == [[["left"], 4]]  # replayed: the last
    finally:
        for proc in (one, two, three):
            if proc is not None:
                proc.stop()


async def test_sigterm_hands_the_rooms_over_at_once(redis_prefix: str) -> None:
    """SIGTERM of a room's owner while both players reach it through another process:
    the owner ends within its documented bound (8 s), the players are closed with 1012,
    and the room takes their next move on the other process at once, long before the
    10 s lease could have run out."""
    env = {"REDIS_URL": REDIS_URL, "MEEPLE_REDIS_PREFIX": redis_prefix}
    env["MEEPLE_LEASE_SECONDS"] = "10"
    one, two = ServerProcess(env), ServerProcess(env)
    try:
        await asyncio.gather(one.start(), two.start())
        async with httpx.AsyncClient(timeout=10) as http:
            room_id, token_a, token_b = await room_for_two(http, one, two)  # owned by `one`
        a, b = await playing(room_id, [(two.ws, token_a), (two.ws, token_b)])
        assert await play(a, 1, 0) == 2
        await b.saw(of_type("d", s=2))

        loop = asyncio.get_running_loop()
        assert one.proc is not None
        one.proc.send_signal(signal.SIGTERM)
        for peer in (a, b):
            code, _ = await peer.closed(timeout=8)
            assert code == 1012
        closed_at = loop.time()
        b2 = await reconnect(two, room_id, token_b, since=2)
        assert await play(b2, 2, 4) == 3  # the new owner's first move
        assert loop.time() - closed_at < 2.0, "the room waited for its lease to run out"
        await asyncio.to_thread(one.proc.wait, 8)  # the stopping process ends in bounded time
        a2 = await reconnect(two, room_id, token_a, since=3)
        assert await play(a2, 3, 8) == 4
    finally:
        one.stop()
        two.stop()


async def test_a_one_second_stall_of_the_owner_is_no_takeover(
    cluster: list[ServerProcess], redis_prefix: str
) -> None:
    """The owner's process frozen for 1 s (SIGSTOP, SIGCONT): nobody takes its room (its
    epoch stays 1), the relayed player is not moved, and the game goes on."""
    one, two = cluster
    room_id, a, b, _, _ = await game_across(one, two)
    assert await play(a, 1, 0) == 2

    assert one.proc is not None
    one.proc.send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(1.0)  # the stall itself, not a wait for something
    finally:
        one.proc.send_signal(signal.SIGCONT)
    async with Redis.from_url(REDIS_URL) as redis:
        # Only an `alive` key run out would let two take the room. Once one beats again
        # (its key is fresh, ALIVE_SECONDS 2) the stall is over and could not have.
        keys = [k async for k in redis.scan_iter(f"{redis_prefix}node:*:alive")]
        assert len(keys) == 2

        async def both_beat() -> bool:
            return all([await redis.pttl(k) > 1500 for k in keys])

        await until(both_beat, what="one's next beat")

    assert await play(b, 2, 4) == 3  # relayed to the same owner: b was never closed
    assert await play(a, 3, 8) == 4
    async with Redis.from_url(REDIS_URL) as redis:
        assert await redis.get(f"{redis_prefix}room:{{{room_id}}}:epoch") == b"1"


@contextlib.asynccontextmanager
async def monitored(redis: Redis) -> AsyncIterator[list[str]]:
    """The commands Redis runs meanwhile (MONITOR), as text, in order."""
    seen: list[str] = []
    async with redis.monitor() as monitor:

        async def read() -> None:
            while True:
                try:
                    seen.append((await monitor.next_command())["command"])
                except (AttributeError, ValueError):  # a line redis-py cannot parse
                    continue

        task = asyncio.create_task(read())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_upkeep_reads_every_live_room_only_when_a_process_goes(
    cluster: list[ServerProcess], redis_prefix: str
) -> None:
    """Each process's upkeep (every 0.5 s) asks which processes are alive, not who owns
    every live room: that set grows with every game under way (correspondence games last
    days), so it is read once a process has gone, and then the gone process's rooms are
    taken at once, with nobody asking for them."""
    one, _ = cluster
    async with httpx.AsyncClient(timeout=10) as http:
        _, auth = await session(http, one.http, "Ada")
        r = await http.post(f"{one.http}/api/rooms", json={"game": "tictactoe"}, headers=auth)
        room_id = r.json()["id"]  # waiting for a second player; nobody connected
    live = f"{redis_prefix}rooms:live"
    lease = f"{redis_prefix}room:{{{room_id}}}:lease"
    async with Redis.from_url(REDIS_URL, decode_responses=True) as redis, monitored(redis) as seen:
        owner = await redis.get(lease)
        assert isinstance(owner, str)
        alive = [k async for k in redis.scan_iter(f"{redis_prefix}node:*:alive")]
        [other] = [k.split(":")[-2] for k in alive if owner not in k]

        def beats(node: str, since: int) -> int:
            return sum(1 for c in seen[since:] if c.startswith("SET") and f":{node}:" in c)

        def reads(since: int) -> list[str]:
            return [c for c in seen[since:] if c.split()[0] in ("SSCAN", "SMEMBERS") and live in c]

        for what in ("each process's first upkeep", "three more upkeeps each"):
            since = len(seen)

            async def beaten(since: int = since) -> bool:  # upkeep runs every second beat
                return all(beats(node, since) >= 8 for node in (owner, other))

            await until(beaten, what=what)
        assert reads(since) == [], "upkeep read every live room with every process alive"

        since = len(seen)
        one.kill()

        async def adopted() -> bool:
            return bool(await redis.get(lease) == other)

        await until(adopted, what="the survivor taking the room nobody asked for")
        assert reads(since), "the room was taken without a look at the live rooms"
