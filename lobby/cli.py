"""The ``meeple`` command: ``meeple serve`` runs a server, ``meeple bot`` runs bots,
``meeple db`` upgrades the database, ``meeple new-game`` writes a game package to start from."""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import resource
import sys
from typing import TYPE_CHECKING, Any

from meeple.game.registry import GameError
from meeple.lobby.ops.logs import log_config

if TYPE_CHECKING:
    from fastapi import FastAPI


def uvicorn_options() -> dict[str, Any]:
    """What uvicorn needs besides the app: HTTP through ``edge.http11.BoundedHttp`` (a
    deadline and size caps on every request), room WebSockets to ``edge.gateway.RoomSocket``
    (which does its own heartbeats and frame limits), and proxies' headers are trusted
    from ``FORWARDED_ALLOW_IPS`` only."""
    from meeple.lobby.edge.gateway import RoomSocket
    from meeple.lobby.edge.http11 import BoundedHttp

    return {
        "http": BoundedHttp,
        "ws": RoomSocket,
        "proxy_headers": True,
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
    }


GRACEFUL_SECONDS = 2
"""On SIGTERM, how long uvicorn waits for connections to finish their close handshakes
before the app stops (``services.CLOSE_SECONDS`` more at most)."""


def raise_open_files() -> float:
    """Lift the soft limit on open files to the hard one, and return the soft limit
    now (``inf`` when unlimited): every WebSocket is a file, and the usual soft limit
    (1,024) would cap a server at about a thousand players."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):  # some kernels refuse "unlimited"
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return math.inf if soft == resource.RLIM_INFINITY else soft


def tune_gc() -> None:
    """Long-lived objects (modules, the app) need no scanning, and a server makes many
    short-lived ones per move: freeze what exists and collect the young generation less
    often."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def check_games() -> None:
    """Find the games before uvicorn starts: a game that cannot be served stops
    ``meeple serve`` with one line naming it and why, not a traceback per worker."""
    from meeple.lobby.games import build_games
    from meeple.lobby.settings import Settings

    if "" not in sys.path:  # ``--game mygame:MyGame`` from the author's own checkout
        sys.path.insert(0, "")
    settings = Settings.from_env()
    try:
        build_games(settings.games, entry_points=settings.entry_point_games)
    except GameError as exc:
        sys.exit(f"meeple serve: {exc}")


WORKER_HEALTHCHECK_SECONDS = 60
"""With ``--workers``, how long the parent waits for a worker to answer its ping before
it kills the worker as hung and starts another. A worker is a new interpreter that
imports the app before it can answer its first ping: on a busy machine that takes more
than uvicorn's 5 s, and the parent would kill every worker as it starts, for ever."""

WORKERS_NEED_REDIS = (
    "meeple serve: --workers N needs REDIS_URL (the workers share rooms, sessions and "
    "quick-match through Redis); without it run one worker"
)


def worker_app() -> FastAPI:
    """The app of a ``--workers`` worker (uvicorn's factory, run in the worker): the
    worker ends when its parent does (``ops.parent``), even by kill -9."""
    import multiprocessing

    from meeple.lobby.app import create_app
    from meeple.lobby.ops.parent import end_with_parent

    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        end_with_parent(parent.pid)
    return create_app()


def serve(argv: list[str]) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="meeple serve", description="Run a Meeple server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run N processes on one port as one server (needs REDIS_URL; default 1)",
    )
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--game",
        action="append",
        default=[],
        metavar="PACKAGE.MODULE:CLASS",
        help="serve this game too, besides the installed ones (repeatable; also MEEPLE_GAMES)",
    )
    args = parser.parse_args(argv)
    if args.workers > 1 and not os.environ.get("REDIS_URL"):
        sys.exit(WORKERS_NEED_REDIS)
    if args.game:  # the app factory (and every worker) reads them from the environment
        listed = [g for g in os.environ.get("MEEPLE_GAMES", "").split(",") if g.strip()]
        os.environ["MEEPLE_GAMES"] = ",".join([*listed, *args.game])
    check_games()
    from meeple.lobby.dbcli import check_database

    check_database()
    raise_open_files()
    tune_gc()
    uvicorn.run(
        "meeple.lobby.cli:worker_app" if args.workers > 1 else "meeple.lobby.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_level=args.log_level,
        log_config=log_config(args.log_level),
        **uvicorn_options(),
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: meeple {serve,bot,db,new-game} [options]   (meeple serve --help)")
        return
    command, rest = args[0], args[1:]
    if command == "serve":
        serve(rest)
    elif command == "bot":
        from meeple.client.botrunner import main as bot_main

        sys.exit(bot_main(rest))
    elif command == "db":
        from meeple.lobby.dbcli import main as db_main

        sys.exit(db_main(rest))
    elif command == "new-game":
        from meeple.lobby.newgame import main as new_game

        new_game(rest)
    else:
        sys.exit(f"meeple: unknown command {command!r}; use serve, bot, db or new-game")


if __name__ == "__main__":
    main()
