"""``GET /api/me/games``: the rooms a player sits in, theirs to move first.

What a player needs to come back to every game they have going: live and
correspondence, whose turn it is and by when. The list is the room directory's
(every process's rooms), with the live summary of rooms hosted here; a room hosted by
another process shows whose turn it was at its last summary (correspondence rooms
write one on every move, live rooms when their seats or status change).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import RoomOut, iso
from meeple.lobby.http.problems import problem_responses
from meeple.lobby.http.rooms import room_view
from meeple.lobby.services import Services
from meeple.lobby.stores.base import RoomSummary

router = APIRouter(prefix="/api", tags=["rooms"])


class MyGame(BaseModel):
    room: RoomOut
    seat: int
    your_turn: bool = Field(description="Whether your seat is one of those to act.")
    deadline: str | None = Field(
        description="When the first running clock runs out (ISO 8601), if one runs."
    )
    correspondence: bool


class MyGames(BaseModel):
    items: list[MyGame] = Field(
        description="Yours to move first (soonest deadline first), then the others waiting"
        " or playing, then finished ones, newest first."
    )


def _entry(summary: RoomSummary, player_id: str) -> dict[str, Any] | None:
    seat = next(
        (i for i, s in enumerate(summary["seats"]) if s.get("player_id") == player_id), None
    )
    if seat is None:
        return None
    deadline = summary.get("deadline")
    clock = summary.get("clock") or {}
    return {
        "room": room_view(summary, player_id),
        "seat": seat,
        "your_turn": summary["status"] == "playing" and seat in summary.get("to_act", ()),
        "deadline": None if deadline is None else iso(deadline / 1000),
        "correspondence": "days" in clock,
        "_order": (
            0 if summary["status"] == "playing" and seat in summary.get("to_act", ()) else 1,
            {"playing": 0, "waiting": 1}.get(summary["status"], 2),
            deadline if deadline is not None else float("inf"),
            -float(summary["created_at"]),
        ),
    }


async def games_of(services: Services, player_id: str) -> list[dict[str, Any]]:
    """The rooms ``player_id`` holds a seat in, as ``MyGame`` fields, theirs to move first
    (also what an export lists)."""
    entries = []
    for stored in await services.directory.rooms_of(player_id):
        room = services.rooms.get(stored["id"])
        entry = _entry(room.summary() if room is not None else stored, player_id)
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: e["_order"])
    for entry in entries:
        del entry["_order"]
    return entries


@router.get("/me/games", response_model=MyGames, responses=problem_responses(401))
async def my_games(services: ServicesDep, session: CurrentSession) -> MyGames:
    """Every room you hold a seat in, live and correspondence, yours to move first."""
    return MyGames.model_validate({"items": await games_of(services, session.player_id)})
