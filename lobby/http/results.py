"""After the game: leaderboards, a player's finished games, and full game records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from meeple.game.match import is_bot_player
from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import (
    DEFAULT_PAGE,
    MAX_PAGE,
    RANK_CURSOR,
    TIME_CURSOR,
    GameRecordOut,
    Leaderboard,
    RatingOut,
    RecordPage,
    RecordSummary,
    iso,
)
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.http.rooms import limit_invites

router = APIRouter(prefix="/api", tags=["results"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[
    str | None, Query(description="next_cursor of the previous page.", pattern=TIME_CURSOR)
]
RankCursor = Annotated[
    str | None, Query(description="next_cursor of the previous page.", pattern=RANK_CURSOR)
]


def readable(record: dict[str, Any], player_id: str, invite: str | None = None) -> bool:
    """A private room's finished games are for its players, its creator, and whoever
    has its invite code; everyone else is told there is no such game."""
    if not record.get("private"):
        return True
    if player_id == record.get("creator") or any(
        seat.get("player_id") == player_id for seat in record.get("seats", ())
    ):
        return True
    return invite is not None and invite == record.get("invite")


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
    cursor: RankCursor = None,
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
            bot=is_bot_player(e.player_id),
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
    items = [
        RecordSummary.model_validate(_record_view(r))
        for r in records
        if readable(r, session.player_id)
    ]
    return RecordPage(items=items, next_cursor=next_cursor)


@router.get(
    "/records/{record_id}",
    response_model=GameRecordOut,
    responses=problem_responses(401, 404, 429),
)
async def game_record(
    record_id: str,
    request: Request,
    services: ServicesDep,
    session: CurrentSession,
    invite: Annotated[
        str | None, Query(description="A private room's invite code, for those not in it.")
    ] = None,
) -> GameRecordOut:
    """A finished game, with its seed and full move log: enough to replay it. A private
    room's are for its members, and for whoever passes its invite code."""
    if invite is not None:
        limit_invites(services, request, session.player_id)
    record = await services.record(record_id)
    if record is None or not readable(record, session.player_id, invite):
        raise ProblemError(404, "no_such_record", f"no finished game {record_id}")
    return GameRecordOut.model_validate(_record_view(record))
