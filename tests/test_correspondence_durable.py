"""Correspondence rooms outlive a restart without Redis: a plain ``meeple serve`` (its
SQLite default, a file in a MEEPLE_DATA_DIR of the test's own; or PostgreSQL with
DATABASE_URL) plays some moves of a correspondence game, is stopped and started again;
both players resume with their tokens (an account's and a guest's), see the same
deadline and the room's chat, and finish the game. Live rooms stay in memory: no
database on their moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from meeple.lobby.stores.sql import Database
from meeple.lobby.stores.sql.database import upgrade
from tests.conftest import DATABASE_URL, of_type, open_peer
from tests.servers import ServerProcess
from tests.test_cluster import play, reconnect, session, started
from tests.test_correspondence import my_games, two_player_room


async def account(http: httpx.AsyncClient, base: str, username: str) -> tuple[str, dict[str, str]]:
    """A new account's token (the correspondence player the docs advise)."""
    r = await http.post(
        f"{base}/api/accounts", json={"username": username, "password": "correct horse 42"}
    )
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token, {"Authorization": f"Bearer {token}"}


async def play_across_a_restart(env: dict[str, str]) -> None:
    first = ServerProcess({**env, "MEEPLE_CREATE_LIMITS": "off", "MEEPLE_GRACE_SECONDS": "0.2"})
    await first.start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            token_a, auth_a = await account(http, first.http, "ada")
            token_b, auth_b = await session(http, first.http, "Bo")
            room_id = await two_player_room(http, first.http, auth_a, auth_b, clock={"days": 3})
            live_id = await two_player_room(http, first.http, auth_a, auth_b)  # not kept
            a = await open_peer(first.ws, room_id, token_a)
            b = await open_peer(first.ws, room_id, token_b)
            await started(a)
            await play(a, 1, 0)
            await b.until(lambda m: m["t"] == "d" and m["s"] == 2, timeout=10)
            await play(b, 1, 3)
            moved = await a.until(lambda m: m["t"] == "d" and m["s"] == 3, timeout=10)
            await play(a, 2, 1)
            await b.send({"t": "chat", "text": "back tomorrow"})
            await a.until(of_type("chat"), timeout=10)
            await a.ws.close()
            await b.ws.close()
            before = await my_games(http, first.http, auth_b)
            first.stop()

            second = ServerProcess(first.env, port=first.port)
            await second.start()
            try:
                after = await my_games(http, second.http, auth_b)  # Bo's guest token still good
                assert [(g["room"]["id"], g["your_turn"]) for g in after] == [(room_id, True)]
                kept = next(g for g in before if g["room"]["id"] == room_id)
                assert after[0]["deadline"] == kept["deadline"]
                gone = await http.get(f"{second.http}/api/rooms/{live_id}", headers=auth_a)
                assert gone.status_code == 404, "a live room is not kept across a restart"

                a2 = await reconnect(second, room_id, token_a, since=4)
                b2 = await reconnect(second, room_id, token_b, since=4)
                chats = await a2.until(of_type("chats"))  # the room's chat outlived it too
                assert [(line["name"], line["text"]) for line in chats["l"]] == [
                    ("Bo", "back tomorrow")
                ]
                await b2.send({"t": "sync", "id": 2})
                snap = await b2.until(of_type("snap"))
                assert snap["st"] == "playing" and snap["k"]["run"] == [1]
                assert snap["dl"] >= moved["dl"]  # set by Ada's third move, before the stop
                await play(b2, 3, 4)
                await a2.until(lambda m: m["t"] == "d" and m["s"] == 5, timeout=10)
                await play(a2, 3, 2)  # the top row
                done: dict[str, Any] = await b2.until(
                    lambda m: m["t"] == "d" and m.get("st") == "finished", timeout=10
                )
                assert done["r"]["winners"] == [0]
                await a2.ws.close()
                await b2.ws.close()
            finally:
                second.stop()
    finally:
        first.stop()


async def test_a_correspondence_game_outlives_a_restart_on_the_sqlite_default(
    tmp_path: Path,
) -> None:
    await play_across_a_restart({"MEEPLE_DATA_DIR": str(tmp_path)})
    assert (tmp_path / "meeple.db").exists()


@pytest.mark.postgres
async def test_a_correspondence_game_outlives_a_restart_on_postgresql(pg_schema: str) -> None:
    db = Database(DATABASE_URL, pg_schema)
    try:
        await upgrade(db.engine)  # `meeple db upgrade`: a server refuses a schema behind
    finally:
        await db.close()
    await play_across_a_restart({"DATABASE_URL": DATABASE_URL, "MEEPLE_DATABASE_SCHEMA": pg_schema})
