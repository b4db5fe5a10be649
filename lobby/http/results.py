"""After the game: leaderboards, a player's finished games, and full game records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import (
    DEFAULT_PAGE,
    MAX_PAGE,
    GameRecordOut,
    Leaderboard,
    RatingOut,
    RecordPage,
    RecordSummary,
    iso,
)
from meeple.lobby.http.problems import ProblemError, problem_responses

router = APIRouter(prefix="/api", tags=["results"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]


def _record_view(record: dict[str, Any]) -> dict[str, Any]:
    data = dict(record)
    data["finished_at"] = iso(float(data["finished_at"]))
    return data


@router.get(
    "/leaderboards/{game}", response_model=Leaderboard, responses=problem_responses(401, 404, 422)
)
async def leaderboard(
    game: str,
    services: ServicesDep,
    session: CurrentSession,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Leaderboard:
    """Glicko-2 ratings for one game, best first."""
    if game not in services.games.registry:
        raise ProblemError(404, "unknown_game", f"no game {game!r}")
    try:
        entries, next_cursor = await services.ratings.page(game, cursor=cursor, limit=limit)
    except ValueError:
        raise ProblemError(422, "bad_cursor", "that cursor is not one this server gave") from None
    start = int(cursor) if cursor and cursor.isdigit() else 0
    items = [
        RatingOut(
            rank=start + i + 1,
            player_id=e.player_id,
            name=e.name,
            rating=e.rating,
            rd=e.rd,
            volatility=e.volatility,
            games=e.games,
        )
        for i, e in enumerate(entries)
    ]
    return Leaderboard(game=game, items=items, next_cursor=next_cursor)


@router.get(
    "/players/{player_id}/games", response_model=RecordPage, responses=problem_responses(401, 422)
)
async def player_games(
    player_id: str,
    services: ServicesDep,
    session: CurrentSession,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> RecordPage:
    """A player's finished games, newest first (without their move logs)."""
    try:
        records, next_cursor = await services.records.for_player(
            player_id, cursor=cursor, limit=limit
        )
    except ValueError:
        raise ProblemError(422, "bad_cursor", "that cursor is not one this server gave") from None
    items = [RecordSummary.model_validate(_record_view(r)) for r in records]
    return RecordPage(items=items, next_cursor=next_cursor)


@router.get(
    "/records/{record_id}", response_model=GameRecordOut, responses=problem_responses(401, 404)
)
async def game_record(
    record_id: str, services: ServicesDep, session: CurrentSession
) -> GameRecordOut:
    """A finished game, with its seed and full move log: enough to replay it."""
    record = await services.records.get(record_id)
    if record is None:
        raise ProblemError(404, "no_such_record", f"no finished game {record_id}")
    return GameRecordOut.model_validate(_record_view(record))
