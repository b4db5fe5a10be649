"""A bot that plays correspondence games, as a person on their own schedule would.

It sits in correspondence rooms (a waiting one with a free seat, else one it opens),
then waits on its player event stream (``GET /api/me/events``). Told it is its turn,
it connects to that room, makes one move and leaves again (closes: by correspondence
being away is normal and costs nothing). On (re)opening the stream it first looks at
"my games" (``GET /api/me/games``) for turns it was told of while away.
It plays as a bot account (``accounts``, as ``meeple bot`` does: signed up once, logged
in on later runs, so it keeps its player, its rating and its games), or as a guest.
``meeple bot --days N --game GAME`` is the command-line form.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any, Literal

from meeple.client.botaccounts import BotAccounts
from meeple.client.bots import Strategy, get_strategy
from meeple.client.botstats import RECOVERABLE, BotStats, record_game
from meeple.client.connection import MoveRejected
from meeple.client.rest import MeepleClient

log = logging.getLogger("meeple.bots")

RETRY_SECONDS = 2.0
"""Wait before opening the event stream again after it failed."""
VISITS = 3
"""Visits in a row that find nothing to do (a listing behind its room) before waiting."""


async def run_correspondence_bot(
    server_url: str,
    game: str,
    days: int,
    strategy: str | Strategy = "best",
    games: int | None = None,
    stop: asyncio.Event | None = None,
    *,
    seed: int | None = None,
    name: str = "bot",
    rooms: int = 1,
    accounts: BotAccounts | None = None,
) -> BotStats:
    """Sit in ``rooms`` correspondence rooms of ``game`` at ``days`` per move and play
    them, taking a new one as each ends, until ``stop`` or ``games`` games are done.

    With ``accounts`` it plays as its own bot account: a slot apart from the live bots'
    (``meeple bot`` without ``--days``), so neither takes the other's rooms for its own."""
    chosen = get_strategy(strategy) if isinstance(strategy, str) else strategy
    stop = stop or asyncio.Event()
    stats = BotStats()
    rng = random.Random(seed)
    async with MeepleClient(server_url) as api:
        me = f"{name}-{chosen.name}"
        if accounts is None:
            await api.create_session(me)
        else:
            await accounts.log_in(api, server_url, f"{me}-correspondence", me)

        async def play() -> None:
            while not stop.is_set():
                try:
                    await _serve(api, game, days, rooms, chosen, rng, stats, games, stop)
                except RECOVERABLE as exc:
                    stats.error(f"correspondence bot: {exc!r}")
                    await asyncio.sleep(RETRY_SECONDS)

        task = asyncio.create_task(play())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (task, stopped):
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending
    return stats


async def _serve(
    api: MeepleClient,
    game: str,
    days: int,
    rooms: int,
    strategy: Strategy,
    rng: random.Random,
    stats: BotStats,
    games: int | None,
    stop: asyncio.Event,
) -> None:
    async for event, data in api.player_events():
        if event == "open":  # what happened while the stream was closed
            mine = await api.my_games()
            live = [g for g in mine if g["room"]["status"] != "finished"]
            for _ in range(rooms - len(live)):
                await _sit(api, game, days)
            for entry in await api.my_games():
                if entry["room"]["status"] == "waiting" or entry["your_turn"]:
                    await _visit(api, entry["room"]["id"], strategy, rng, stats)
        elif event == "your_turn":
            await _visit(api, data["room"], strategy, rng, stats)
        elif event == "game_over":
            if data["room"] not in stats.rooms:  # else a visit saw the end first
                stats.rooms.add(data["room"])
                stats.games += 1
                result = data.get("r") or {}
                if result.get("draw"):
                    stats.draws += 1
                elif data["seat"] in result.get("winners", ()):
                    stats.wins += 1
                else:
                    stats.losses += 1
            if not _done(stats, games, stop):
                await _sit(api, game, days)
        if _done(stats, games, stop):
            return


def _done(stats: BotStats, games: int | None, stop: asyncio.Event) -> bool:
    """Whether ``games`` games are done (counted by an event or by a visit): then stop."""
    if games is not None and stats.games >= games:
        stop.set()
    return stop.is_set()


async def _sit(api: MeepleClient, game: str, days: int) -> None:
    """Take a free seat in a waiting correspondence room at ``days``, or open one."""
    page = await api.list_rooms(game=game, status="waiting", free=True)
    for room in page["items"]:
        if room.get("clock") == {"days": days} and not await _seated(api, room["id"]):
            await api.take_seat(room["id"])
            return
    await api.create_room(game, clock={"days": days})


async def _seated(api: MeepleClient, room_id: str) -> bool:
    return any(g["room"]["id"] == room_id for g in await api.my_games())


async def _visit(
    api: MeepleClient, room_id: str, strategy: Strategy, rng: random.Random, stats: BotStats
) -> None:
    """Connect, move if it is our turn, and go (the seat stays ours); come back while
    "my games" says it is our turn again.

    A turn that begins while we are connected is not told on the event stream (the room
    shows it): an opponent who moves between our move and our leaving, the game starting
    as we confirmed our seat. So after every visit, moved or not, look once more: such a
    turn was otherwise lost, nobody would tell us again. ``VISITS`` visits in a row that
    find nothing to do end it (a listing behind its room), and so does a move refused."""
    idle = 0
    while idle < VISITS:
        outcome = await _visit_once(api, room_id, strategy, rng, stats)
        if outcome == "done":
            return
        idle = 0 if outcome == "moved" else idle + 1
        if not any(g["room"]["id"] == room_id and g["your_turn"] for g in await api.my_games()):
            return


async def _visit_once(
    api: MeepleClient, room_id: str, strategy: Strategy, rng: random.Random, stats: BotStats
) -> Literal["moved", "idle", "done"]:
    """One visit: ``moved`` (and left, it being the others' turn), ``idle`` (a seat
    confirmed, the game starting once all have come, or not our turn), or ``done``: the
    game is over or our move was refused. A turn already ours again is played at once."""
    outcome: Literal["moved", "idle"] = "idle"
    async with api.connect(room_id) as conn:
        while True:
            if conn.finished:
                if room_id not in stats.rooms:  # its game_over may have come first
                    record_game(conn, stats)
                return "done"
            if not conn.my_turn or conn.seat is None:
                return outcome
            view, seat, playing = conn.view, conn.seat, conn.game or ""
            move: dict[str, Any]
            if strategy.supports(playing):
                move = await asyncio.to_thread(strategy.choose, playing, view, seat, rng)
            else:
                move = rng.choice(await conn.legal_moves())
            try:
                await conn.move(move)
            except MoveRejected as exc:
                stats.error(f"room {room_id}: {exc}")
                return "done"
            stats.moves += 1
            outcome = "moved"
