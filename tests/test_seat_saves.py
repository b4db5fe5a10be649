"""A seat is the client's only once it is saved, as a move is (issue 15).

``POST /api/rooms/{id}/seats`` and ``POST /api/rooms`` (``join``) answer once the room's
journal has the change: on Redis, and in memory for the rooms kept in SQL
(correspondence). A save that is refused (a store that fails or refuses it, a Redis
without its replicas, a lease another process took: FENCED) answers 503 ``not_saved``
and changes nothing: the seat stays free, nobody is shown it taken, the room directory
and the journal are as before, and a room that could not be made is left nowhere. Real
servers: uvicorn in this process (its journal wrapped where a test must hold or refuse a
save) and ``meeple serve`` processes on a Redis with a replica of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from meeple.lobby.rooms.journal import JournalWriter
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import Changes, unpack
from meeple.lobby.stores.redis import RedisLeases, room_part
from tests.conftest import REDIS_URL, Peer, of_type, open_peer
from tests.servers import ServerProcess, live_server, until
from tests.test_cluster import reconnect, session, started
from tests.test_durability import PREFIX, in_step, port_of, waiting_for_a_replica

REFUSED = ("saving room", "store errors")
"""What a server logs, and counts, for a save refused on purpose."""


class Held:
    """The journal a server saves rooms in, with a test's hand on it: ``gate`` holds saves
    back, ``refuse`` refuses them (as a store that is down, or fenced, does); ``asked``
    is every room a save was asked for."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal
        self.gate = asyncio.Event()
        self.gate.set()
        self.refuse = False
        self.asked: list[str] = []

    async def save(self, changes: Sequence[Changes]) -> list[Exception | None]:
        self.asked += [c.room_id for c in changes]
        await self.gate.wait()
        if self.refuse:
            return [ConnectionError("the store refused this save")] * len(changes)
        result: list[Exception | None] = await self.journal.save(changes)
        return result

    async def load(self, room_id: str) -> Any:
        return await self.journal.load(room_id)

    async def delete(self, room_id: str) -> None:
        await self.journal.delete(room_id)

    async def rooms(self) -> list[str]:
        found: list[str] = await self.journal.rooms()
        return found


def hold(writer: JournalWriter | None) -> Held:
    """The server's journal writer saving through a ``Held`` journal from now on."""
    assert writer is not None
    held = Held(writer.journal)
    writer.journal = held
    return held


def shown_taken(peer: Peer, seat: int) -> list[dict[str, Any]]:
    """The room messages ``peer`` got that showed ``seat`` taken."""
    return [m for m in peer.seen if m.get("t") == "room" and m["seats"][seat]["kind"] != "empty"]


def not_saved(r: httpx.Response) -> bool:
    return (
        r.status_code == 503
        and r.json()["code"] == "not_saved"
        and r.headers["content-type"] == "application/problem+json"
    )


async def listed(http: httpx.AsyncClient, base: str, auth: dict[str, str]) -> dict[str, Any]:
    """The room directory's listing, by room id."""
    r = await http.get(f"{base}/api/rooms", headers=auth)
    assert r.status_code == 200, r.text
    return {room["id"]: room for room in r.json()["items"]}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def form(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, dict[str, Any]]:
    """The settings of a server and the body of a room it saves every change of: in
    memory, a correspondence room (in the SQLite file); on Redis, any room."""
    if request.param == "memory":
        database = f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}"
        return Settings(database_url=database), {"game": "tictactoe", "clock": {"days": 3}}
    prefix = request.getfixturevalue("redis_prefix")
    return Settings(redis_url=REDIS_URL, redis_prefix=prefix), {"game": "tictactoe"}


@pytest.mark.server_errors(*REFUSED)
async def test_a_seat_is_answered_once_saved_and_refused_changes_nothing(
    form: tuple[Settings, dict[str, Any]],
) -> None:
    """The new room with its creator's seat, then Bo's seat: each answered only once its
    save is done (held, no answer). Bo's refused: 503, the seat free in the journal and
    the listing, Ada (connected) never shown it taken and closed 1011 as after a move
    not saved. A new room refused: made nowhere. Saves back: the seat is Bo's."""
    settings, body = form
    async with live_server(settings) as server, httpx.AsyncClient(timeout=10) as http:
        rooms = server.services.rooms
        journal = hold(rooms.writer or rooms.durable_writer)
        token_a, auth_a = await session(http, server.http, "Ada")
        token_b, auth_b = await session(http, server.http, "Bo")

        # The new room and its creator's seat: one save, and the answer after it.
        journal.gate.clear()
        new_room = f"{server.http}/api/rooms"
        making = asyncio.create_task(http.post(new_room, json=body, headers=auth_a))
        await until(lambda: journal.asked, what="the new room's save asked for")
        [room_id] = journal.asked
        with pytest.raises(TimeoutError):  # held: no answer while it is not saved
            await asyncio.wait_for(asyncio.shield(making), 0.5)
        journal.gate.set()
        made = await making
        assert made.status_code == 201, made.text
        assert made.json()["id"] == room_id and made.json()["reservation"]["seat"] == 0
        saved = await journal.load(room_id)
        assert saved is not None and saved[0]["seats"][0][1] == "Ada"

        # Bo's seat, held: no answer until it is saved.
        a = await open_peer(server.ws, room_id, token_a)
        await a.until(of_type("room"))
        journal.gate.clear()
        journal.asked.clear()
        seats = f"{server.http}/api/rooms/{room_id}/seats"
        taking = asyncio.create_task(http.post(seats, json={}, headers=auth_b))
        await until(lambda: journal.asked == [room_id], what="the seat's save asked for")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(taking), 0.5)

        # Refused: 503 not_saved, and nothing changed.
        journal.refuse = True
        journal.gate.set()
        refused = await taking
        assert not_saved(refused), refused.text
        assert (await a.closed())[0] == 1011  # as after a move not saved: resume
        assert not shown_taken(a, 1)
        saved = await journal.load(room_id)
        assert saved is not None and saved[0]["seats"][1] == [None, None, None]
        assert (await listed(http, server.http, auth_b))[room_id]["seats"][1]["kind"] == "empty"
        assert rooms.stats.redis_errors == 1

        # A new room refused whole: made nowhere (not hosted, listed or saved).
        journal.asked.clear()
        r = await http.post(new_room, json=body, headers=auth_b)
        assert not_saved(r), r.text
        [unmade] = journal.asked
        assert rooms.get(unmade) is None and await journal.load(unmade) is None
        gone = await http.get(f"{server.http}/api/rooms/{unmade}", headers=auth_b)
        assert gone.status_code == 404
        assert list(await listed(http, server.http, auth_b)) == [room_id]

        # Saved again: the seat is Bo's, and the listing says so once it is saved.
        journal.refuse = False

        async def seated() -> httpx.Response | None:
            r = await http.post(seats, json={}, headers=auth_b)
            if r.status_code == 503:  # the room not hosted again yet (on Redis)
                return None
            return r

        took = await until(seated, what="the seat taken once saves are saved")
        assert took is not None
        assert took.status_code == 200 and took.json()["seat"] == 1, took.text
        saved = await journal.load(room_id)
        assert saved is not None and saved[0]["seats"][1][1] == "Bo"

        async def listed_taken() -> bool:
            room = (await listed(http, server.http, auth_b))[room_id]
            return bool(room["seats"][1]["kind"] == "human")

        await until(listed_taken, what="the listing showing Bo's seat")

        # Giving the seat up, refused: 503, and Bo keeps it (Ada was never shown it free).
        a = await open_peer(server.ws, room_id, token_a)
        await a.until(lambda m: m.get("t") == "room" and bool(shown_taken(a, 1)))
        journal.refuse = True
        left = await http.delete(f"{seats}/me", headers=auth_b)
        assert not_saved(left), left.text
        assert (await a.closed())[0] == 1011
        assert [m for m in a.seen if m.get("t") == "room"] == shown_taken(a, 1)
        saved = await journal.load(room_id)
        assert saved is not None and saved[0]["seats"][1][1] == "Bo"
        journal.refuse = False

        # The room as it was saved: both seated, and the game starts once both are in.
        ada = await until(lambda: joined(server.ws, room_id, token_a), what="the room back")
        bo = await until(lambda: joined(server.ws, room_id, token_b), what="the room back")
        assert ada is not None and bo is not None
        await started(ada)
        await started(bo)


async def joined(ws: str, room_id: str, token: str) -> Peer | None:
    """A connection to the room, or None while it is not hosted (again) yet."""
    peer = await open_peer(ws, room_id, token)
    try:
        await peer.until(of_type("room"), timeout=3)
    except (TimeoutError, ConnectionClosed):
        return None
    return peer


@pytest.mark.redis
@pytest.mark.server_errors("saving room", "could not be hosted again")
async def test_a_seat_relayed_to_the_rooms_owner_is_answered_once_saved(tmp_path: Path) -> None:
    """Two processes on a Redis whose saves must reach a replica: Bo asks the process he
    is on for a seat in a room the other owns. With the replica gone the owner's save is
    refused (NOREPLICAS): 503 ``not_saved`` through the relay, the seat free in the
    journal and the directory, the room's players closed 1011 without having seen it
    taken. With the replica back, the same request gets the seat and the game starts."""
    async with waiting_for_a_replica(tmp_path, 1000) as (url, replica, one):
        two = ServerProcess(one.env)
        await two.start()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                token_a, auth_a = await session(http, one.http, "Ada")
                token_b, auth_b = await session(http, two.http, "Bo")
                made = await http.post(f"{one.http}/api/rooms", json={"game": "tictactoe"},
                                       headers=auth_a)  # fmt: skip
                assert made.status_code == 201, made.text
                room_id = made.json()["id"]
                a = await open_peer(one.ws, room_id, token_a)
                await a.until(of_type("room"))

                replica.kill()
                await in_step(port_of(url), 0)
                seats = f"{two.http}/api/rooms/{room_id}/seats"
                refused = await http.post(seats, json={}, headers=auth_b)
                assert not_saved(refused), refused.text
                assert (await a.closed())[0] == 1011
                assert not shown_taken(a, 1)
                async with Redis.from_url(url) as redis:
                    meta = unpack(await redis.get(room_part(PREFIX, room_id, "meta")))
                assert meta["seats"][1] == [None, None, None]
                room = (await listed(http, two.http, auth_b))[room_id]
                assert room["seats"][1]["kind"] == "empty"

                await replica.start()

                async def seated() -> httpx.Response | None:
                    r = await http.post(seats, json={}, headers=auth_b)
                    return None if r.status_code == 503 else r  # until it is hosted again

                took = await until(seated, what="the seat taken with the replica back")
                assert took is not None
                assert took.status_code == 200 and took.json()["seat"] == 1, took.text
            a = await reconnect(one, room_id, token_a, since=0)
            b = await open_peer(two.ws, room_id, token_b)
            await started(a)
            await started(b)
        finally:
            two.stop()


@pytest.mark.redis
@pytest.mark.server_errors(*REFUSED)
async def test_a_new_room_fenced_by_another_process_is_a_clear_503_and_left_nowhere(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the lease's claim and the new room's first save, another process takes the
    lease (ours lapsed in a stall): the save is FENCED. The creator gets 503 ``not_saved``
    (not a 500), and no room is left: not hosted, not listed, nothing of it in Redis but
    the other process's lease."""
    settings = Settings(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(timeout=10) as http,
        Redis.from_url(REDIS_URL) as redis,
    ):
        cluster = server.services.cluster
        assert cluster is not None
        other = RedisLeases(redis, redis_prefix, "n_other", ttl=30)
        claim = cluster.claim
        taken: list[str] = []

        async def claim_then_lose(room_id: str) -> bool:
            mine = await claim(room_id)
            await redis.delete(room_part(redis_prefix, room_id, "lease"))  # it lapsed
            assert await other.claim(room_id) == 2  # the next epoch: ours is fenced
            taken.append(room_id)
            return mine

        monkeypatch.setattr(cluster, "claim", claim_then_lose)
        _, auth = await session(http, server.http, "Ada")
        r = await http.post(f"{server.http}/api/rooms", json={"game": "tictactoe"}, headers=auth)
        assert not_saved(r), r.text
        assert "another server process" in r.json()["detail"]
        [room_id] = taken

        lease = room_part(redis_prefix, room_id, "lease").encode()

        async def only_the_lease_left() -> bool:
            return [k async for k in redis.scan_iter(f"{redis_prefix}*{room_id}*")] == [lease]

        await until(only_the_lease_left, what="the unmade room's keys deleted")
        assert not await redis.sismember(f"{redis_prefix}rooms:live", room_id)
        assert server.services.rooms.get(room_id) is None
        gone = await http.get(f"{server.http}/api/rooms/{room_id}", headers=auth)
        assert gone.status_code == 404
        assert await listed(http, server.http, auth) == {}
        assert await other.owner(room_id) == "n_other"
        await other.release(room_id)


class SeatsRefused(Held):
    """A journal that saves rooms but, while ``refuse_seats``, refuses every save that
    seats a player: a quick match's room is made, its seats are not."""

    refuse_seats = True
    refused = 0

    async def save(self, changes: Sequence[Changes]) -> list[Exception | None]:
        seated = [c for c in changes if c.meta and any(s[0] for s in c.meta["seats"])]
        if seated and self.refuse_seats:
            self.refused += 1
            return [ConnectionError("the store refused this save")] * len(changes)
        return await super().save(changes)


@pytest.mark.redis
@pytest.mark.server_errors("could not open a room", *REFUSED)
async def test_a_quick_match_is_announced_only_once_its_seats_are_saved(
    redis_prefix: str,
) -> None:
    """The matchmaker makes a room and seats the players; when that seating cannot be
    saved, nobody is told of the match and the tickets wait again; once saves work, the
    players are matched into a room whose seats are saved."""
    settings = Settings(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.http) as http:
        writer = server.services.rooms.writer
        assert writer is not None
        journal = writer.journal = SeatsRefused(writer.journal)
        auths = [(await session(http, server.http, name))[1] for name in ("Ada", "Bo")]
        tickets = []
        for auth in auths:
            r = await http.post(
                "/api/matchmaking/tickets", json={"game": "tictactoe"}, headers=auth
            )
            assert r.status_code == 201, r.text
            tickets.append(r.json()["id"])
        await until(lambda: journal.refused >= 2, what="two seatings refused")

        async def statuses() -> list[str]:
            got = [
                (await http.get(f"/api/matchmaking/tickets/{t}", headers=a)).json()
                for t, a in zip(tickets, auths, strict=True)
            ]
            return [g["status"] for g in got]

        assert "matched" not in await statuses()  # waiting again (or being matched again)
        journal.refuse_seats = False

        async def matched() -> list[dict[str, Any]] | None:
            got = [
                (await http.get(f"/api/matchmaking/tickets/{t}", headers=a)).json()
                for t, a in zip(tickets, auths, strict=True)
            ]
            return got if all(g["status"] == "matched" for g in got) else None

        ada, bo = await until(matched, what="both tickets matched once saves work")
        assert ada["room"] == bo["room"] and {ada["seat"], bo["seat"]} == {0, 1}
        meta = await journal.journal.meta(ada["room"])
        assert meta is not None and all(player for player, _, _ in meta["seats"])
