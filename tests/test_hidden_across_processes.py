"""A hidden-information game across two ``meeple serve`` processes on one Redis: Liar's
Dice played to its end by raw WebSocket clients on both processes (the room's owner and a
relay), checking every frame each seat gets. A seat's deltas must rebuild a view whose dice
are its own (as the challenge reveals them), the spectator's carry no dice at all, and
everything else every audience sees is the same."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from meeple.game.delta import apply_delta
from tests.conftest import REDIS_URL, Peer, of_type, open_peer
from tests.servers import ServerProcess, server_processes

pytestmark = pytest.mark.redis

SEATS = 3
MAX_MOVES = 300


@pytest.fixture
async def two_processes(redis_prefix: str) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    env = {"REDIS_URL": REDIS_URL, "MEEPLE_REDIS_PREFIX": redis_prefix}
    async with server_processes(env) as (one, two):
        yield one, two


async def post(http: httpx.AsyncClient, url: str, token: str | None, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = await http.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


class Audience:
    """One connection's frames in order, and the views they rebuild (and who acts then),
    by sequence number."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.views: dict[int, Any] = {}
        self.to_act: dict[int, list[int]] = {}
        self.seq = 0

    def take(self, message: dict[str, Any]) -> None:
        if message["t"] == "snap":
            self.seq, view = message["s"], message["v"]
        elif message["t"] == "d":
            assert message["s"] == self.seq + 1, "a delta missed or repeated"
            self.seq, view = message["s"], apply_delta(self.views[self.seq], message["o"])
        else:
            return
        self.views[self.seq] = view
        self.to_act[self.seq] = message["a"]

    async def until_seq(self, seq: int) -> None:
        while self.seq < seq:
            self.take(await self.peer.recv(10))


async def test_liars_dice_across_two_processes_never_shows_a_seat_anothers_dice(
    two_processes: tuple[ServerProcess, ServerProcess],
) -> None:
    one, two = two_processes
    homes = [one, two, two, two]  # the owner's process for seat 0; a relay for the rest
    async with httpx.AsyncClient(timeout=10) as http:
        tokens = [
            (await post(http, f"{p.http}/api/sessions", None, {"name": f"P{i}"}))["token"]
            for i, p in enumerate(homes)
        ]
        room = await post(
            http, f"{one.http}/api/rooms", tokens[0], {"game": "liarsdice", "seats": SEATS}
        )
        room_id = room["id"]
        for i in range(1, SEATS):
            await post(http, f"{homes[i].http}/api/rooms/{room_id}/seats", tokens[i], {})
        await post(http, f"{two.http}/api/rooms/{room_id}/watch", tokens[SEATS], {})
    peers = [await open_peer(p.ws, room_id, t) for p, t in zip(homes, tokens, strict=True)]
    audiences = [Audience(p) for p in peers]
    for audience in audiences:
        snap = await audience.peer.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
        audience.take(snap)
    seats, spectator = audiences[:SEATS], audiences[SEATS]

    rng = random.Random(21)
    finished = False
    for _ in range(MAX_MOVES):
        seq = max(a.seq for a in audiences)
        for audience in audiences:
            await audience.until_seq(seq)
        if not spectator.to_act[seq]:
            finished = True
            break
        actor = seats[spectator.to_act[seq][0]]
        await actor.peer.send({"t": "moves", "id": seq})
        legal = await actor.peer.until(of_type("moves", id=seq))
        await actor.peer.send({"t": "move", "id": seq + 1, "m": rng.choice(legal["m"])})
        while actor.seq <= seq:
            message = await actor.peer.recv(10)
            assert message["t"] != "err", message
            actor.take(message)
    assert finished, f"no winner after {MAX_MOVES} moves"

    last = spectator.seq
    assert all(a.seq == last for a in audiences)
    challenges = 0
    for s in range(min(spectator.views), last + 1):
        public = spectator.views[s]
        assert "d" not in public, f"the spectator got dice at {s}"
        for seat, audience in enumerate(seats):
            mine = dict(audience.views[s])
            dice = mine.pop("d")
            assert mine == public, f"seat {seat} sees another public state at {s}"
            assert len(dice) == public["n"][seat]
        ending = public["x"]
        if (
            ending
            and ending["k"] == "challenge"
            and s > 1
            and public["r"] != spectator.views[s - 1]["r"]
        ):
            # The challenge revealed the round's dice: each seat held exactly its own.
            challenges += 1
            for seat, audience in enumerate(seats):
                assert audience.views[s - 1]["d"] == ending["d"][seat]
    assert challenges > 0
    for peer in peers:
        await peer.ws.close()
