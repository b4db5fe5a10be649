"""Run bots against a server, through the public API only, like any other player.

Each bot logs in as a bot account of its own (signed up on its first run, its
credentials kept by ``BotAccounts``, so it keeps its rating from run to run), or plays as
a guest (``accounts=None``, ``meeple bot --guests``), quick-matches, plays the game out
with its strategy, leaves, and asks for the next match, until told to stop or until
``games`` games are done. ``meeple bot --server URL --game GAME --count N`` is the
command-line form.

A game no installed strategy plays (a package game on a server, not installed here)
is played all the same: the bot asks the server for its legal moves and picks one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from meeple.client.botaccounts import BotAccounts
from meeple.client.bots import Strategy, get_strategy, strategies
from meeple.client.botstats import RECOVERABLE, BotStats, record_game
from meeple.client.connection import ConnectionLost, MoveRejected, RoomConnection
from meeple.client.correspondence import run_correspondence_bot
from meeple.client.errors import ApiError
from meeple.client.rest import Matched, MeepleClient

log = logging.getLogger("meeple.bots")

T = TypeVar("T")

MAX_FAILURES = 5
"""A bot gives up after this many failed games in a row: the server is not playable."""
MAX_REJECTIONS = 3
START_TIMEOUT = 45.0
"""Seconds to wait in a matched room for the game to start (a seat is held for 30)."""
"""Moves refused in a row before a bot stops trusting its view of the game."""


async def run_bots(
    server_url: str,
    game: str,
    count: int,
    strategy: str | Strategy = "best",
    games: int | None = None,
    stop: asyncio.Event | None = None,
    *,
    seed: int | None = None,
    name: str = "bot",
    options: dict[str, Any] | None = None,
    seats: int | None = None,
    accounts: BotAccounts | None = None,
) -> BotStats:
    """Run ``count`` bots until ``stop`` is set or at least ``games`` games have finished.

    Bots waiting for a match when it is time to stop cancel their tickets; bots in a
    game finish it first, so a run may end a few games past ``games``.
    """
    chosen = get_strategy(strategy) if isinstance(strategy, str) else strategy
    stop = stop or asyncio.Event()
    stats = BotStats()
    base_seed = random.randrange(2**32) if seed is None else seed

    async def bot(i: int) -> None:
        rng = random.Random(base_seed + i)
        failures = 0
        async with MeepleClient(server_url) as api:
            while not stop.is_set():
                try:
                    if api.token is None:
                        me = f"{name}-{chosen.name}-{i + 1}"
                        if accounts is None:
                            await api.create_session(me)
                        else:
                            await accounts.log_in(api, server_url, me, me)
                    matched = await _unless(stop, api.quick_match(game, options, seats))
                    if matched is None:
                        return
                    await _play(api, matched, game, chosen, rng, stats, stop)
                    failures = 0
                except RECOVERABLE as exc:
                    if isinstance(exc, ApiError) and exc.status == 429:
                        # Still rate limited after the client's own retries (many bots
                        # share one address): wait as told; the server is not failing.
                        await _unless(stop, asyncio.sleep(exc.retry_after or 1.0))
                        continue
                    failures += 1
                    stats.error(f"bot {i + 1}: {exc!r}")
                    if failures >= MAX_FAILURES:
                        return
                    await _unless(stop, asyncio.sleep(min(10.0, 0.5 * 2**failures)))
                if games is not None and stats.games >= games:
                    stop.set()

    results = await asyncio.gather(*(bot(i) for i in range(count)), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            stats.error(f"bot crashed: {result!r}")
    return stats


async def _unless(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``await work``, unless ``stop`` is set first: then cancel it and return None."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return task.result() if not task.cancelled() else None


async def _play(
    api: MeepleClient,
    matched: Matched,
    game: str,
    strategy: Strategy,
    rng: random.Random,
    stats: BotStats,
    stop: asyncio.Event,
) -> None:
    """Play one game to its end with ``strategy``, then leave the room."""
    conn: RoomConnection
    async with api.connect(matched["room"], ws=matched.get("ws")) as conn:
        # An opponent may never come (its seat lapses and the room waits on): give up
        # then, and at once when told to stop, rather than wait for ever.
        with contextlib.suppress(TimeoutError):
            await _unless(stop, conn.wait_for(lambda c: c.status != "waiting", START_TIMEOUT))
        if conn.status == "waiting":
            log.info("room %s: the game did not start; leaving", matched["room"])
            await conn.leave()
            return
        rejected = 0
        while True:
            await conn.wait_for(lambda c: c.finished or c.my_turn)
            if conn.finished or conn.seat is None:
                break
            seq, seat, view = conn.seq, conn.seat, conn.view
            playing = conn.game or game
            try:
                if strategy.supports(playing):
                    # Searching takes a while; a thread keeps other bots' heartbeats going.
                    move = await asyncio.to_thread(strategy.choose, playing, view, seat, rng)
                else:  # a game we have no rules for: the server lists the moves
                    move = rng.choice(await conn.legal_moves())
                await conn.move(move)
            except MoveRejected as exc:
                rejected += 1
                stats.error(f"room {matched['room']}: {exc}")
                if rejected >= MAX_REJECTIONS:
                    raise
                if conn.seq == seq:  # nothing moved on: our view may be stale
                    conn.sync()
                    await asyncio.sleep(0.2)
                continue
            except ConnectionLost:
                continue  # the connection resumes; the state says whether the move counted
            rejected = 0
            stats.moves += 1
        record_game(conn, stats)
        await conn.leave()


def main(argv: Sequence[str] | None = None) -> int:
    """``meeple bot``: run bots from the command line; prints the stats as JSON, and exits
    non-zero when no game finished (a script or health check relies on it)."""
    parser = argparse.ArgumentParser(
        prog="meeple bot", description="Run bots that quick-match and play on a Meeple server."
    )
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="the server's URL")
    parser.add_argument("--game", required=True, help="the game to play, e.g. tictactoe")
    parser.add_argument("--count", type=int, default=1, help="how many bots (default 1)")
    parser.add_argument(
        "--strategy",
        default="best",
        choices=sorted(strategies()),
        help="how they play (default: the best one for the game; a game no strategy "
        "plays gets random legal moves)",
    )
    parser.add_argument("--games", type=int, help="stop after this many games (default: never)")
    parser.add_argument("--seed", type=int, help="seed the bots' choices")
    parser.add_argument(
        "--days",
        type=int,
        help="play correspondence instead, at this many days per move (1, 2, 3, 5, 7, 14):"
        " one bot sits in --count rooms and moves when told it is its turn",
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        help="where the bots' accounts are kept (default: bots.json in MEEPLE_DATA_DIR)",
    )
    parser.add_argument("--guests", action="store_true", help="play as guests, not as bot accounts")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )

    stop = asyncio.Event()
    interrupted: list[int] = []  # the signals received

    async def run() -> BotStats:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def interrupt() -> None:
            # The first signal lets games in play finish; a second one stops at once.
            if interrupted and task is not None:
                task.cancel()
            interrupted.append(1)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, interrupt)
        accounts = None if args.guests else BotAccounts(args.credentials)
        if args.days is not None:
            return await run_correspondence_bot(
                args.server,
                args.game,
                args.days,
                args.strategy,
                args.games,
                stop,
                seed=args.seed,
                rooms=args.count,
                accounts=accounts,
            )
        return await run_bots(
            args.server,
            args.game,
            args.count,
            args.strategy,
            args.games,
            stop,
            seed=args.seed,
            accounts=accounts,
        )

    try:
        stats = asyncio.run(run())
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    json.dump(stats.as_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    # Success is games played: all that were asked for (unless stopped by a signal), or,
    # running for ever, at least one whenever something went wrong.
    if args.games is not None and not interrupted:
        return 0 if stats.games >= args.games else 1
    return 0 if stats.games > 0 or stats.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
