"""The ``meeple`` command: ``meeple serve`` runs a server, ``meeple bot`` runs bots."""

from __future__ import annotations

import argparse
import gc
import sys

from lobby.logs import log_config
from lobby.settings import Settings


def serve(argv: list[str]) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="meeple serve", description="Run a Meeple server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    # Long-lived objects (modules, the app) need no scanning, and a server makes many
    # short-lived ones per move: collect the young generation less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    uvicorn.run(
        "lobby.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_timeout,
        ws_per_message_deflate=False,
        proxy_headers=True,
        log_config=log_config(args.log_level),
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: meeple {serve,bot} [options]   (meeple serve --help)")
        return
    command, rest = args[0], args[1:]
    if command == "serve":
        serve(rest)
    elif command == "bot":
        from client.botrunner import main as bot_main

        sys.exit(bot_main(rest))
    else:
        sys.exit(f"meeple: unknown command {command!r}; use serve or bot")


if __name__ == "__main__":
    main()
