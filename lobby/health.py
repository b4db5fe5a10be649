"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["meta"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to take players: Redis, when configured, answers."""
    redis = request.app.state.services.redis
    if redis is not None:
        try:
            await redis.ping()
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "redis": repr(exc)}, status_code=503)
    return JSONResponse({"status": "ready"})
