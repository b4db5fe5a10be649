"""The app factory: ``create_app()`` is what uvicorn and the tests run.

The room WebSocket is not an ASGI route: ``meeple.lobby.edge.gateway.RoomSocket`` serves it below
ASGI, and it finds the app's services in the lifespan state this factory yields.
``meeple.lobby.cli.uvicorn_options`` is how uvicorn must be configured for it.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from meeple.game.protocol import CLOSE_INTERNAL, json_schema
from meeple.lobby.edge.asyncapi import asyncapi_document
from meeple.lobby.edge.origins import cors_regex
from meeple.lobby.games import GameSpec, build_games
from meeple.lobby.http import docs, routes
from meeple.lobby.http.problems import PROBLEM_CODES, CrashGuard
from meeple.lobby.ops import health
from meeple.lobby.services import CLOSE_SECONDS, build_services
from meeple.lobby.settings import Settings

WEB_ROOT = Path(__file__).resolve().parent.parent / "client" / "web"
mimetypes.add_type("text/plain", ".ts")  # the browser API's .d.ts files, not MPEG streams


def create_app(
    settings: Settings | None = None,
    games: Iterable[GameSpec] = (),
    *,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """A Meeple server. Settings default to the environment's (``Settings.from_env``), as
    ``meeple serve`` has them: accounts, ratings and records in the SQLite file of
    ``MEEPLE_DATA_DIR`` unless ``DATABASE_URL`` names another database (``memory``: none).
    Settings made in code keep them only with a ``database_url`` (``default_database_url()``
    for that file): ``Settings()`` is a throwaway server, as tests and benchmarks want.

    It serves the installed games (the ``meeple.games`` entry points), those named in
    ``settings.games`` and ``games``: classes, instances or ``"package.module:Class"``.
    A game that cannot be served raises ``GameError`` here, before anything starts.
    ``clock`` is the wall clock of sessions, tickets and matchmaking (``Services.clock``).
    """
    settings = settings or Settings.from_env()
    offered = build_games(settings.games, games, entry_points=settings.entry_point_games)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        services = await build_services(settings, offered, clock)
        logging.getLogger("meeple.games").info(
            "serving %s", ", ".join(f"{n} ({offered.registry.source(n)})" for n in offered.registry)
        )
        app.state.services = services
        services.start_background()
        try:
            yield {"services": services}  # the lifespan state: where RoomSocket looks
        finally:  # bounded: SIGTERM must end the process (services.CLOSE_SECONDS)
            closing = asyncio.ensure_future(services.close())
            await asyncio.wait([closing], timeout=CLOSE_SECONDS)
            if not closing.done():
                logging.getLogger("meeple.app").error("stopping took too long; leaving")
                closing.cancel()

    app = FastAPI(
        title="Meeple",
        version="0.1.0",
        summary="An authoritative turn-based game server: lobby, rooms and MessagePack deltas.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc from local files: meeple.lobby.http.docs
        redoc_url=None,
    )
    app.state.games = offered.registry  # what the OpenAPI document describes, per game
    app.add_middleware(CrashGuard)  # first, so inside CORS
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o for o in settings.origins if "://" in o],
        allow_origin_regex=cors_regex(settings.origins),
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Retry-After"],
    )
    app.include_router(health.router)
    routes.install(app)
    docs.install(app)

    @app.websocket("/ws/rooms/{room_id}")
    async def misconfigured(websocket: WebSocket, room_id: str) -> None:
        """Reached only when uvicorn was not given ``meeple.lobby.edge.gateway.RoomSocket``."""
        logging.getLogger("meeple.gateway").error(
            "a room WebSocket reached the ASGI app: serve with `meeple serve`, or give "
            "uvicorn ws=meeple.lobby.edge.gateway:RoomSocket (meeple.lobby.cli.uvicorn_options)"
        )
        await websocket.accept()
        await websocket.close(CLOSE_INTERNAL, "this server is not set up for room sockets")

    @app.get("/api/protocol.json", tags=["meta"])
    async def protocol() -> dict[str, object]:
        """The WebSocket protocol as JSON Schema, with every code the server sends (the
        REST API's problem codes too); see docs/protocol.md."""
        return {**json_schema(), "problem_codes": PROBLEM_CODES}

    @app.get("/api/asyncapi.json", tags=["meta"])
    async def asyncapi() -> dict[str, object]:
        """The room WebSocket's contract as an AsyncAPI 3 document."""
        return asyncapi_document(app.version)

    if WEB_ROOT.is_dir():
        app.mount("/", StaticFiles(directory=WEB_ROOT, html=True), name="web")
    return app
