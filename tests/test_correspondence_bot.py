"""A bot plays a correspondence game through the public API: it opens a room, is told
of its turns on its event stream, connects, moves and leaves each time."""

from __future__ import annotations

import asyncio
import random

from meeple.client.correspondence import run_correspondence_bot
from meeple.client.rest import MeepleClient
from meeple.lobby.settings import Settings
from tests.servers import live_server


async def test_a_bot_plays_a_correspondence_game_to_the_end() -> None:
    async with live_server(Settings(grace_seconds=0.2)) as srv:
        stop = asyncio.Event()
        bot = asyncio.create_task(
            run_correspondence_bot(srv.http, "tictactoe", 2, games=1, stop=stop, seed=1)
        )
        try:
            async with MeepleClient(srv.http) as me:
                await me.create_session("Ada")
                room_id = None
                while room_id is None:  # the bot opens a room of its own
                    page = await me.list_rooms(game="tictactoe", status="waiting", free=True)
                    rooms = [r for r in page["items"] if r["clock"] == {"days": 2}]
                    room_id = rooms[0]["id"] if rooms else None
                    await asyncio.sleep(0.05)
                await me.take_seat(room_id)
                rng = random.Random(2)
                visits = 0
                while True:  # like the bot: come, move if it is my turn, go
                    async with me.connect(room_id) as conn:
                        await conn.wait_for(lambda c: c.finished or c.my_turn, timeout=15)
                        if conn.finished:
                            break
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
                            break
                stats = await asyncio.wait_for(bot, 15)
        finally:
            stop.set()
            if not bot.done():
                bot.cancel()
    assert stats.games == 1 and stats.moves >= 2 and stats.errors == 0, stats
    assert stats.wins + stats.losses + stats.draws == 1
