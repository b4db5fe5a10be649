"""The REST API under /api: sessions, the catalog, rooms, quick-match, ratings, records
(and the games' board modules under /games/).

``install(app)`` adds the routers and the problem-detail error handlers.
"""

from __future__ import annotations

from fastapi import FastAPI

from meeple.lobby.http import (
    accounts,
    events,
    games,
    invitations,
    invites,
    matchmaking,
    mygames,
    players,
    push,
    results,
    rooms,
    sessions,
)
from meeple.lobby.http.problems import install_problem_handlers


def install(app: FastAPI) -> None:
    install_problem_handlers(app)
    for module in (
        sessions,
        accounts,
        games,
        rooms,
        invites,
        invitations,
        mygames,
        events,
        push,
        matchmaking,
        results,
        players,
    ):
        app.include_router(module.router)
