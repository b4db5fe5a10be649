"""A bot plays a correspondence game through the public API: it opens a room, is told
of its turns on its event stream, connects, moves and leaves each time. ``meeple bot
--days`` plays as a bot account, as ``meeple bot`` does."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

from meeple.client.rest import MeepleClient
from meeple.lobby.settings import Settings
from tests.servers import live_server, meeple_bot, until


async def test_meeple_bot_days_plays_a_correspondence_game_as_a_bot_account(
    tmp_path: Path,
) -> None:
    async with live_server(Settings(grace_seconds=0.2)) as srv:
        bot = asyncio.create_task(
            meeple_bot(srv.http, "tictactoe", 1, 1, data=tmp_path, options=["--days", "2"])
        )
        try:
            async with MeepleClient(srv.http) as me:
                await me.create_session("Ada")
                room_id = await _the_bots_room(me)
                listed = await me.get_room(room_id)
                (seat,) = [s for s in listed["seats"] if s.get("player_id")]
                assert seat["bot"] is True and seat["kind"] == "human", seat
                assert seat["player_id"].startswith("bot_")
                await me.take_seat(room_id)
                await _play_it_out(me, room_id)
                stats = await asyncio.wait_for(bot, 30)
        finally:
            if not bot.done():
                bot.cancel()
    assert stats["games"] == 1 and stats["moves"] >= 2 and stats["errors"] == 0, stats
    assert stats["wins"] + stats["losses"] + stats["draws"] == 1
    (account,) = json.loads((tmp_path / "bots.json").read_text())[srv.http].values()
    assert account.keys() == {"username", "password"}


async def _the_bots_room(me: MeepleClient) -> str:
    """The waiting correspondence room the bot opens for itself."""

    async def opened() -> str | None:
        page = await me.list_rooms(game="tictactoe", status="waiting", free=True)
        rooms = [r for r in page["items"] if r["clock"] == {"days": 2}]
        return str(rooms[0]["id"]) if rooms else None

    room = await until(opened, what="the bot's room")
    assert room is not None  # until returns only a truthy answer
    return room


async def _play_it_out(me: MeepleClient, room_id: str) -> None:
    """Like the bot: come, move if it is my turn, go; until the game is over."""
    rng = random.Random(2)
    visits = 0
    while True:
        async with me.connect(room_id) as conn:
            await conn.wait_for(lambda c: c.finished or c.my_turn, timeout=15)
            if conn.finished:
                return
            bot_seat = 1 - (conn.seat or 0)
            if visits:  # it moved, and goes (it was here for that alone)
                gone = lambda c, s=bot_seat: not c.seats[s].on  # noqa: E731
                await conn.wait_for(gone, timeout=5)
            assert conn.clocks is not None and conn.clocks.run == [conn.seat]
            left = conn.clock_left(conn.seat or 0)
            assert left is not None and 2 * 86400 - 60 < left <= 2 * 86400
            moves = await conn.legal_moves()
            await conn.move(rng.choice(moves))
            visits += 1
            if conn.status == "finished":
                return
