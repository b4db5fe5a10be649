"""Bots through a real server: many at once, and bots that stand in for people."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import Any

import httpx
import pytest

from meeple.client.botrunner import run_bots
from meeple.client.rest import Matched, MeepleClient
from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import Ticket
from tests.sample_games import Nim
from tests.servers import LiveServer, ServerProcess, live_server, meeple_bot, metric, until


async def test_twenty_bots_play_fifty_games_without_an_error() -> None:
    async with live_server(Settings()) as srv:
        # The bots all come from one address: lift the per-address session limit.
        srv.services.limits.configure("sessions", rate=1000, burst=1000)
        stats = await asyncio.wait_for(
            run_bots(srv.http, "tictactoe", 20, "random", games=50, seed=1), timeout=100
        )
    assert stats.errors == 0, stats.last_errors
    assert stats.games >= 50
    assert stats.wins + stats.losses + stats.draws >= 2 * 50


async def test_bot_seats_play_a_person(server: LiveServer) -> None:
    async with MeepleClient(server.http) as api:
        await api.create_session("Ada")
        room = await api.create_room("connect4", bots=[1])
        async with api.connect(room["id"]) as conn:
            while True:
                await conn.wait_for(lambda c: c.my_turn or c.finished, timeout=20)
                if conn.finished:
                    break
                free = [c for c in range(7) if len(conn.view["c"][c]) < 6]
                await conn.move({"col": free[0]})
            assert conn.result is not None
            assert conn.seats[1].kind == "bot"


async def test_a_bot_takes_an_abandoned_seat() -> None:
    async with live_server(Settings(grace_seconds=0.3)) as srv, MeepleClient(srv.http) as a:
        await a.create_session("Ada")
        room = await a.create_room("tictactoe", abandon="bot")
        async with MeepleClient(srv.http) as b:
            await b.create_session("Bo")
            await b.take_seat(room["id"])
            cb = b.connect(room["id"])
            await cb.open()
            async with a.connect(room["id"]) as ca:
                await ca.wait_for(lambda c: c.status == "playing", timeout=10)
                await cb.close()  # Bo walks away; after the grace period a bot plays for Bo
                while not ca.finished:
                    await ca.wait_for(lambda c: c.my_turn or c.finished, timeout=20)
                    if not ca.finished:
                        cell = ca.view["b"].index(-1)
                        await ca.move({"cell": cell})
                match = srv.services.rooms.get(room["id"]).match  # type: ignore[union-attr]
                bot_moves = [e for e in match.log if e["seat"] == 1 and e["k"] == "move"]
                assert bot_moves  # seat 1 kept playing without Bo
                assert ca.result is not None


async def test_meeple_bot_command_plays_games() -> None:
    server = ServerProcess({})
    await server.start()
    try:
        stats = await meeple_bot(server.http, "tictactoe", count=2, games=2)
        assert stats["games"] >= 2 and stats["errors"] == 0, stats
        assert stats["wins"] + stats["losses"] + stats["draws"] >= 2 * 2, stats
        assert stats["moves"] >= 2 * 5, stats  # a tic-tac-toe game takes five moves at least
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{server.http}/metrics")).text
        assert metric(metrics, 'meeple_moves_total{result="accepted"}') >= stats["moves"]
    finally:
        server.stop()


async def test_meeple_bot_fails_when_it_plays_none_of_the_games_asked_for() -> None:
    """No server to play on: the bots give up after their retries and the command says
    so in its exit status (a script running bots must be able to tell)."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meeple.lobby.cli", "bot", "--server", f"http://127.0.0.1:{port}",
        "--game", "tictactoe", "--games", "1", "--guests",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    stats = json.loads(out)
    assert proc.returncode == 1, stats
    assert stats["games"] == 0 and stats["errors"] >= 1


async def test_a_bot_plays_on_after_a_rematch(server: LiveServer) -> None:
    """Sequence numbers start again in every game: the bot's turn guard must not mistake
    the new game's first turn for the old one's."""
    async with MeepleClient(server.http) as api:
        await api.create_session("Ada")
        room = await api.create_room("tictactoe", bots=[0])
        async with api.connect(room["id"]) as conn:
            await conn.wait_for(lambda c: c.my_turn, timeout=20)  # the bot opened game 0
            conn.resign()
            await conn.wait_for(lambda c: c.finished, timeout=10)
            conn.rematch()
            await conn.wait_for(lambda c: c.game_no == 1 and c.status == "playing", timeout=10)
            for _ in range(5):  # whoever starts, the bot marks a cell within our next turn
                await conn.wait_for(lambda c: c.my_turn or 0 in c.view["b"], timeout=10)
                if 0 in conn.view["b"]:
                    break
                await conn.move({"cell": conn.view["b"].index(-1)})
            assert 0 in conn.view["b"] and conn.game_no == 1


async def test_a_bot_seat_plays_a_game_no_strategy_knows() -> None:
    """ "Bots" in the lobby for a package game: the server's generic bot plays nim by its
    rules (a tree search: nim hides nothing), and plays it well."""
    async with live_server(games=[Nim]) as srv, MeepleClient(srv.http) as api:
        await api.create_session("Ada")
        room = await api.create_room("nim", bots=[0])
        async with api.connect(room["id"]) as conn:
            while not conn.finished:
                await conn.wait_for(lambda c: c.my_turn or c.finished, timeout=20)
                if not conn.finished:
                    await conn.move({"n": 1})
            # Nine left, the bot opens: taking one leaves eight, and it wins from there.
            assert conn.result is not None and conn.result.winners == [0]


async def test_meeple_bot_plays_a_game_it_has_no_rules_for() -> None:
    """``meeple bot`` against a server with a game not installed on the bots' side: the
    bots ask the server for their legal moves."""
    server = ServerProcess({"MEEPLE_CREATE_LIMITS": "off"})
    server.extra_args = ["--game", "tests.sample_games:Nim"]
    await server.start()
    try:
        stats = await meeple_bot(server.http, "nim", count=2, games=2)
        assert stats["games"] >= 2 and stats["errors"] == 0, stats
    finally:
        server.stop()


# A bot stopped while it waits for a match (client/rest.py quick_match) -------------------


async def test_a_quick_match_stopped_while_its_ticket_is_made_withdraws_the_ticket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped while the ticket's POST is on its way: the server made the ticket, the
    client has not heard its id yet. It waits for the answer and cancels the ticket;
    before, the ticket waited on and could match somebody with a bot that was gone."""
    async with live_server() as srv, MeepleClient(srv.http) as api:
        await api.create_session("Ada")
        matchmaker = srv.services.matchmaker
        submit = matchmaker.submit
        made: list[Ticket] = []
        answer = asyncio.Event()

        async def held(*args: Any, **kwargs: Any) -> tuple[Ticket, bool]:
            result = await submit(*args, **kwargs)
            made.append(result[0])
            await answer.wait()  # the ticket is made; its answer is held back
            return result

        monkeypatch.setattr(matchmaker, "submit", held)
        task = asyncio.create_task(api.quick_match("tictactoe"))
        await until(lambda: made, what="the ticket being made")
        task.cancel()  # the bot is stopped
        answer.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        ticket = await srv.services.tickets.get(made[0].id)
        assert ticket is not None and ticket.status == "cancelled"


async def test_a_quick_match_stopped_as_it_is_matched_gives_the_seat_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stopped after the match was made but before the client heard of it: the ticket
    cannot be cancelled any more (409), so the client gives its seat up, and the room
    does not hold a seat for a player who went."""
    async with (
        live_server() as srv,
        MeepleClient(srv.http) as ada,
        MeepleClient(srv.http) as bo,
    ):
        me = await ada.create_session("Ada")
        await bo.create_session("Bo")
        waiting: list[str] = []

        async def not_heard_yet(ticket_id: str) -> Matched:
            waiting.append(ticket_id)
            await asyncio.Event().wait()  # the match event is still on its way
            raise AssertionError("unreachable")

        monkeypatch.setattr(ada, "_match_by_events", not_heard_yet)
        task = asyncio.create_task(ada.quick_match("tictactoe"))
        await until(lambda: waiting, what="Ada's ticket")
        matched = await asyncio.wait_for(bo.quick_match("tictactoe"), 30)
        room = srv.services.rooms.get(matched["room"])
        assert room is not None
        assert me["player_id"] in [s.player_id for s in room.match.seats]  # Ada's seat
        task.cancel()  # the bot is stopped
        with pytest.raises(asyncio.CancelledError):
            await task
        ticket = await srv.services.tickets.get(waiting[0])
        assert ticket is not None and ticket.status == "matched"
        assert me["player_id"] not in [s.player_id for s in room.match.seats]
        assert room.match.status == "waiting"
