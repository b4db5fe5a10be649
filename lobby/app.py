"""The app factory: ``create_app()`` is what uvicorn and the tests run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from game.protocol import json_schema
from lobby import gateway, health, routers
from lobby.origins import cors_regex
from lobby.services import build_services
from lobby.settings import Settings

WEB_ROOT = Path(__file__).resolve().parent.parent / "client" / "web"


def create_app(settings: Settings | None = None) -> FastAPI:
    """A Meeple server. Settings default to the environment's (``Settings.from_env``)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        services.start_background()
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="Meeple",
        version="0.1.0",
        summary="An authoritative turn-based game server: lobby, rooms and MessagePack deltas.",
        lifespan=lifespan,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o for o in settings.origins if "://" in o],
        allow_origin_regex=cors_regex(settings.origins),
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["Retry-After"],
    )
    app.include_router(health.router)
    app.include_router(gateway.router)
    routers.install(app)

    @app.get("/api/protocol.json", tags=["meta"])
    async def protocol() -> dict[str, object]:
        """The WebSocket protocol as JSON Schema (see docs/protocol.md)."""
        return json_schema()

    if WEB_ROOT.is_dir():
        app.mount("/", StaticFiles(directory=WEB_ROOT, html=True), name="web")
    return app
