"""Two games ending at once for one player, on two ``meeple serve`` processes sharing
Redis and PostgreSQL: both rating updates count (each process finishes its game in one
transaction that locks the players' ratings), however the two ends interleave.

Ada plays Bob on the first process and Cy on the second, both games brought to Ada's
winning move; the two winning moves are sent together, and the leaderboard must then
show both games in Ada's rating. Repeated a few times, since a lost update would show
only in some interleavings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from meeple.client.connection import RoomConnection
from meeple.client.rest import MeepleClient
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.servers import PASSWORD, TOP_ROW, ServerProcess, db_upgrade, tictactoe_room, until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(300)]
"""Four processes start and stop: on a loaded machine that takes minutes."""

ROUNDS = 4


@contextlib.asynccontextmanager
async def one_move_from_the_end(
    ada: MeepleClient, rival: MeepleClient
) -> AsyncIterator[RoomConnection]:
    """A game of Ada (seat 0) and ``rival`` played up to Ada's winning move: her connection."""
    async with tictactoe_room(ada, rival) as (ca, cr, _):
        conns = (ca, cr)
        for seat, cell in TOP_ROW[:-1]:
            await conns[seat].wait_for(lambda c: c.my_turn, timeout=20)
            await conns[seat].move({"cell": cell})
        await ca.wait_for(lambda c: c.my_turn, timeout=20)
        yield ca
        await cr.wait_for(lambda c: c.finished, timeout=20)


async def games_of(reader: MeepleClient) -> dict[str, int]:
    board = await reader.leaderboard("tictactoe")
    return {r["name"]: r["games"] for r in board["items"]}


async def test_two_games_ending_at_once_on_two_processes_lose_no_rating_update(
    redis_prefix: str, pg_schema: str
) -> None:
    env = {
        "MEEPLE_CREATE_LIMITS": "off",
        "REDIS_URL": REDIS_URL,
        "MEEPLE_REDIS_PREFIX": redis_prefix,
        "DATABASE_URL": DATABASE_URL,
        "MEEPLE_DATABASE_SCHEMA": pg_schema,
    }
    one, two = ServerProcess(env), ServerProcess(env)
    await db_upgrade(one.env)
    await asyncio.gather(one.start(), two.start())
    try:
        async with (
            MeepleClient(one.http) as ada_one,
            MeepleClient(two.http) as ada_two,
            MeepleClient(one.http) as bob,
            MeepleClient(two.http) as cy,
        ):
            await ada_one.register("ada", PASSWORD, "Ada")
            await ada_two.login("ada", PASSWORD)
            await bob.register("bob", PASSWORD, "Bob")
            await cy.register("cyd", PASSWORD, "Cy")
            ratings: list[float] = []
            for round_no in range(1, ROUNDS + 1):
                async with (
                    one_move_from_the_end(ada_one, bob) as on_one,
                    one_move_from_the_end(ada_two, cy) as on_two,
                ):
                    last = {"cell": TOP_ROW[-1][1]}
                    await asyncio.gather(on_one.move(last), on_two.move(last))
                want = {"Ada": 2 * round_no, "Bob": round_no, "Cy": round_no}

                async def counted(want: dict[str, int] = want) -> dict[str, int] | None:
                    found = await games_of(ada_one)
                    return found if found == want else None

                assert await until(lambda: counted(), within=60, what="both games counted") == want
                ratings.append(await _rating(ada_one, "Ada"))
            assert ratings == sorted(ratings), "every win raised Ada's rating"
    finally:
        one.stop()
        two.stop()


async def _rating(reader: MeepleClient, name: str) -> Any:
    board = await reader.leaderboard("tictactoe")
    return next(r["rating"] for r in board["items"] if r["name"] == name)
