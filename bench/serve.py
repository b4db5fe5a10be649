"""``meeple serve`` for benchmarks: the same command, with per-client limits lifted.

    .venv/bin/python bench/serve.py --port 8000 [--keep-limits] [meeple serve options]

Runs ``lobby.cli.serve`` unchanged (same uvicorn options, same app factory, settings
from the environment) after three adjustments a benchmark needs:

* the open-file limit is raised to its hard limit (10,000 idle connections);
* the per-connection message limit (20 messages a second, bursts of 40) is lifted, so
  two players can play one room faster than 20 moves a second each;
* the per-client limits on creating sessions and rooms are lifted, because every
  simulated player comes from 127.0.0.1 and set-up would otherwise wait minutes.

The server has no setting (environment variable) for either limit, so this wrapper
swaps the app factory uvicorn imports for one that builds the app with those limits
raised; the limits are still checked on every message, only never hit.
``--keep-limits`` runs the server exactly as configured.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi import FastAPI

from bench.common import raise_nofile
from lobby import app as app_module
from lobby.cli import serve
from lobby.settings import Settings

UNLIMITED_RATE = 1e9
UNLIMITED_BURST = 1_000_000_000

create_app = app_module.create_app
"""The server's own factory; ``bench_app`` wraps it."""


def bench_app() -> FastAPI:
    """``lobby.app.create_app`` with the message and creation limits out of reach."""
    settings = dataclasses.replace(
        Settings.from_env(), message_rate=UNLIMITED_RATE, message_burst=UNLIMITED_BURST
    )
    app = create_app(settings)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            limits = app.state.services.limits
            for kind in list(limits.limits):
                limits.configure(kind, UNLIMITED_RATE, UNLIMITED_BURST)
            yield

    app.router.lifespan_context = lifespan
    return app


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    keep = "--keep-limits" in args
    if keep:
        args.remove("--keep-limits")
    raise_nofile()
    if not keep:
        app_module.create_app = bench_app  # type: ignore[assignment]  # what uvicorn imports
    serve(args)


if __name__ == "__main__":
    main()
