"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from meeple.lobby.ops.metrics import registry_for, render

router = APIRouter(tags=["meta"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    state = request.app.state
    registry = getattr(state, "metrics_registry", None)
    if registry is None:
        services = state.services
        registry = state.metrics_registry = registry_for(
            services.rooms.stats, services.rooms.status_counts
        )
    return Response(render(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready to take players: Redis, when configured, answers (every master of a Redis
    Cluster), and this process hears its cluster channel (after Redis restarts, not
    until it has subscribed again)."""
    services = request.app.state.services
    try:
        await services.redis_answers()
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "redis": repr(exc)}, status_code=503)
    cluster = services.cluster
    if cluster is not None and not cluster.subscribed:
        return JSONResponse(
            {"status": "unavailable", "cluster": "not subscribed to its channel yet"},
            status_code=503,
        )
    return JSONResponse({"status": "ready"})
