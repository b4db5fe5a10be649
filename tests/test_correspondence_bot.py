"""A bot plays a correspondence game through the public API: it opens a room, is told
of its turns on its event stream, connects, moves and leaves each time. ``meeple bot
--days`` plays as a bot account, as ``meeple bot`` does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

from meeple.client.connection import RoomConnection
from meeple.client.correspondence import run_correspondence_bot
from meeple.client.rest import MeepleClient
from meeple.game.codec import DecodeError, decode
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


async def test_a_turn_that_begins_before_the_bot_has_left_is_still_played() -> None:
    """An opponent who moves while the bot, having moved, is still in the room (its close
    not yet at the server) is not told to the bot's event stream: the bot must look
    again after leaving. Every bot move here is followed by such an instant answer: a
    proxy in front of the server holds the bot's close until the answer is in."""
    async with live_server(Settings()) as srv, HoldAfterMove(srv.port) as proxy:
        bot = asyncio.create_task(
            run_correspondence_bot(proxy.http, "tictactoe", 2, "random", games=1, seed=3)
        )
        try:
            async with MeepleClient(srv.http) as me:
                await me.create_session("Ada")
                room_id = await _the_bots_room(me)
                await me.take_seat(room_id)
                rng = random.Random(4)
                holds = answered = 0
                async with me.connect(room_id) as conn:
                    await conn.wait_for(lambda c: c.status != "waiting", timeout=15)
                    bot_seat = 1 - (conn.seat or 0)
                    while conn.status != "finished":
                        release = None
                        if not conn.my_turn:  # the bot comes, moves, and is held in the room
                            release = await asyncio.wait_for(proxy.held.get(), 15)
                            holds += 1
                            await conn.wait_for(lambda c: c.finished or c.my_turn, timeout=15)
                            if _over(conn):  # its move ended the game
                                release.set()
                                break
                            assert conn.seats[bot_seat].on  # the server still sees it here
                            answered += 1
                        await conn.move(rng.choice(await conn.legal_moves()))
                        if release is not None:
                            release.set()
                stats = await asyncio.wait_for(bot, 30)
        finally:
            if not bot.done():
                bot.cancel()
    assert answered >= 2  # the bot came back after each answer it was not told of
    assert stats.games == 1 and stats.errors == 0 and stats.moves == holds, (stats, holds)


def _over(conn: RoomConnection) -> bool:
    """Read afresh: mypy would keep ``conn.finished`` narrowed across the awaits."""
    return conn.finished


class HoldAfterMove:
    """A TCP proxy to the server at ``port``. On a room WebSocket, once the server's
    answer to a move (a ``d`` with ``ack``) passes, what the client sends next (its
    close) is held until the test sets the event it finds in ``held``."""

    def __init__(self, port: int) -> None:
        self._port = port
        self.held: asyncio.Queue[asyncio.Event] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def http(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> HoldAfterMove:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection("127.0.0.1", self._port)
        first = await client.read(65536)
        to_server.write(first)
        gate = asyncio.Event()
        gate.set()
        room_socket = first.startswith(b"GET /ws/rooms/")
        for pump in (
            self._upstream(client, to_server, gate),
            self._downstream(server, to_client, gate if room_socket else None),
        ):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _upstream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gate: asyncio.Event
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                await gate.wait()
                writer.write(data)
            await gate.wait()
        writer.close()

    async def _downstream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        gate: asyncio.Event | None,
    ) -> None:
        with contextlib.suppress(ConnectionError):
            if gate is None:
                while data := await reader.read(65536):
                    writer.write(data)
            else:
                writer.write(await reader.readuntil(b"\r\n\r\n"))  # the 101
                async for frame, payload in _frames(reader):
                    if gate.is_set() and _acknowledges_a_move(payload):
                        gate.clear()
                        release = asyncio.Event()
                        self.held.put_nowait(release)
                        opener = asyncio.create_task(_open_on(release, gate))
                        self._pumps.add(opener)
                        opener.add_done_callback(self._pumps.discard)
                    writer.write(frame)
        writer.close()


async def _open_on(release: asyncio.Event, gate: asyncio.Event) -> None:
    """Let the held bytes go once the test has its answer in."""
    await release.wait()
    gate.set()


async def _frames(reader: asyncio.StreamReader) -> AsyncIterator[tuple[bytes, bytes]]:
    """The server's WebSocket frames (unmasked), whole, with their payloads."""
    with contextlib.suppress(asyncio.IncompleteReadError):
        while True:
            head = await reader.readexactly(2)
            size = head[1] & 0x7F
            extra = b""
            if size == 126:
                extra = await reader.readexactly(2)
            elif size == 127:
                extra = await reader.readexactly(8)
            if extra:
                size = int.from_bytes(extra, "big")
            payload = await reader.readexactly(size)
            yield head + extra + payload, payload if head[0] & 0x0F == 2 else b""


def _acknowledges_a_move(payload: bytes) -> bool:
    """Whether a binary frame's payload is a ``d`` that answers the client's move."""
    if not payload:
        return False
    try:
        message = decode(payload)
    except DecodeError:
        return False
    return message.get("t") == "d" and message.get("ack") is not None
