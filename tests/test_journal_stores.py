"""The journal's contract, on every store that keeps one: Redis (rooms of a cluster) and
SQL, SQLite and PostgreSQL (correspondence rooms without Redis). A room's metadata and
its current game's log come back as saved; entries append; a new game drops the log
before; each room of a batch is its own; a deleted room is gone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from meeple.lobby.rooms.journal import Journal
from meeple.lobby.stores.base import Changes
from meeple.lobby.stores.sql.journal import SqlJournal
from tests.test_stores import SQL_IMPLS, meta, open_impl, place_of

KINDS = [pytest.param("redis", marks=pytest.mark.redis), *SQL_IMPLS]


class Place:
    """Opens journals on one store, each with connections of its own (another run of
    the server, or another process)."""

    def __init__(self, kind: str, where: str) -> None:
        self.kind = kind
        self.where = where
        self.opened = contextlib.AsyncExitStack()

    async def open(self) -> Journal:
        stores = await self.opened.enter_async_context(open_impl(self.kind, self.where))
        return stores.journal()

    async def open_sql(self) -> SqlJournal:
        journal = await self.open()
        assert isinstance(journal, SqlJournal)
        return journal


@pytest.fixture(params=KINDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    return place_of(request, tmp_path)


@pytest.fixture
async def place(where: tuple[str, str]) -> AsyncIterator[Place]:
    found = Place(*where)
    async with found.opened:
        yield found


def move(s: int, cell: int) -> dict[str, Any]:
    return {"s": s, "seat": s % 2, "k": "move", "m": {"cell": cell}, "c": {"ms": [1, 2]}}


async def test_a_room_comes_back_as_saved_and_entries_append(place: Place) -> None:
    journal = await place.open()
    assert await journal.load("r_1") is None
    first = Changes("r_1", 0, [move(2, 4)], meta("r_1", seats=[["p_a", "Ada", None]]))
    assert await journal.save([first]) == [None]
    assert await journal.save([Changes("r_1", 0, [move(3, 0), move(4, 8)])]) == [None]
    again = await place.open()
    assert await again.load("r_1") == (
        meta("r_1", seats=[["p_a", "Ada", None]]),
        [move(2, 4), move(3, 0), move(4, 8)],
    )


async def test_metadata_is_replaced_and_a_new_game_drops_the_log_before(place: Place) -> None:
    journal = await place.open()
    await journal.save([Changes("r_2", 0, [move(2, 1), move(3, 2)], meta("r_2"))])
    await journal.save([Changes("r_2", 0, [], meta("r_2", status="finished"))])
    loaded = await journal.load("r_2")
    assert loaded is not None and loaded[0]["status"] == "finished" and len(loaded[1]) == 2
    await journal.save([Changes("r_2", 1, [move(2, 7)], meta("r_2", 1), new_game=True)])
    assert await journal.load("r_2") == (meta("r_2", 1), [move(2, 7)])


async def test_rooms_of_one_batch_are_each_their_own_and_delete_forgets_one(place: Place) -> None:
    journal = await place.open()
    batch = [
        Changes("r_3", 0, [move(2, 4)], meta("r_3")),
        Changes("r_4", 0, [], meta("r_4", status="waiting")),
        Changes("r_5", 0, []),  # nothing to save
    ]
    assert await journal.save(batch) == [None, None, None]
    assert await journal.load("r_3") == (meta("r_3"), [move(2, 4)])
    assert await journal.load("r_4") == (meta("r_4", status="waiting"), [])
    assert await journal.load("r_5") is None
    await journal.delete("r_3")
    await journal.delete("r_3")  # twice is fine
    assert await journal.load("r_3") is None
    assert await journal.load("r_4") is not None


@pytest.mark.parametrize("where", KINDS[1:], indirect=True)
async def test_the_sql_journal_lists_its_rooms_for_start_up(place: Place) -> None:
    journal = await place.open()
    await journal.save([Changes(r, 0, [], meta(r)) for r in ("r_a", "r_b", "r_c")])
    await journal.delete("r_b")
    assert sorted(await (await place.open_sql()).rooms()) == ["r_a", "r_c"]


@pytest.mark.redis
async def test_a_redis_batch_sent_again_after_a_lost_reply_is_saved_once(
    redis_prefix: str,
) -> None:
    """A pipeline whose reply was lost (the connection dropped after Redis ran it) is
    sent again on a fresh connection: the second run of a room's save finds its entries
    at the log's end and adds nothing; a save out of step with the log is refused and
    changes nothing."""
    async with open_impl("redis", redis_prefix) as stores:
        journal = stores.journal()
        assert await journal.save([Changes("r_6", 0, [move(2, 4)], meta("r_6"))]) == [None]
        batch = Changes("r_6", 0, [move(3, 0), move(4, 8)], meta("r_6", turn=4))
        assert await journal.save([batch]) == [None]
        assert await journal.save([batch]) == [None]  # sent again: already there
        saved = (meta("r_6", turn=4), [move(2, 4), move(3, 0), move(4, 8)])
        assert await journal.load("r_6") == saved
        [error] = await journal.save([Changes("r_6", 0, [move(6, 1)], meta("r_6", turn=6))])
        assert error is not None and "out of step" in str(error)
        assert await journal.load("r_6") == saved
