"""Rooms: list, create, take and give up seats, watch (joining by invite code is
``invites``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import (
    DEFAULT_PAGE,
    MAX_PAGE,
    TIME_CURSOR,
    NewRoom,
    Reservation,
    RoomCreated,
    RoomOut,
    RoomPage,
    SeatRequest,
    Status,
    Watch,
    WatchRequest,
    iso,
)
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.http.sessions import client_address
from meeple.lobby.rooms.matchmaker import ws_path
from meeple.lobby.rooms.room import describe_validation
from meeple.lobby.services import Services
from meeple.lobby.stores.base import RoomSummary, Session

router = APIRouter(prefix="/api", tags=["rooms"])


def room_view(
    summary: RoomSummary, viewer: str | None, creator: str | None = None
) -> dict[str, Any]:
    """A summary as the API shows it: the invite code only for those who may see it."""
    data = dict(summary)
    invite = data.pop("invite", None)
    creator = data.pop("creator", None) or creator
    data["created_at"] = iso(float(data["created_at"]))
    data["ws"] = ws_path(data["id"])
    if invite and viewer is not None and (viewer == creator or _seated(summary, viewer)):
        data["invite"] = invite
    return data


def _seated(summary: RoomSummary, player_id: str) -> bool:
    return any(seat.get("player_id") == player_id for seat in summary.get("seats", ()))


async def find_room(services: Services, room_id: str) -> tuple[RoomSummary, str | None]:
    """The room's summary (live if it is hosted here) and its creator, or 404."""
    room = services.rooms.get(room_id)
    if room is not None:
        return room.summary(), room.creator
    summary = await services.directory.get(room_id)
    if summary is None:
        raise ProblemError(404, "no_such_room", f"no room {room_id}")
    return summary, summary.get("creator")


def check_invite(
    services: Services,
    request: Request,
    summary: RoomSummary,
    creator: str | None,
    player_id: str,
    invite: str | None,
) -> None:
    """A private room admits its creator, its players, and whoever has the code (tries at
    a code are rate limited, per player and per address)."""
    if not summary.get("private") or player_id == creator or _seated(summary, player_id):
        return
    if invite is None:
        raise ProblemError(403, "invite_required", "this room is private: it needs its invite code")
    limit_invites(services, request, player_id)
    if invite != summary.get("invite"):
        raise ProblemError(403, "bad_invite", "that is not this room's invite code")


def limit_invites(services: Services, request: Request, player_id: str | None = None) -> None:
    """One try at an invite code: counted per player (if signed in) and per address."""
    keys = (client_address(request),) if player_id is None else (player_id, client_address(request))
    services.limits.check("invite attempts", *keys)


async def reserve(
    services: Services, session: Session, room_id: str, seat: int | None
) -> Reservation:
    got, expires_at = await services.rooms.reserve(room_id, session.player_id, session.name, seat)
    return Reservation(room=room_id, seat=got, expires_at=iso(expires_at), ws=ws_path(room_id))


@router.get(
    "/rooms",
    response_model=RoomPage,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 422),
)
async def list_rooms(
    services: ServicesDep,
    session: CurrentSession,
    game: str | None = None,
    status: Status | None = None,
    free: Annotated[
        bool | None, Query(description="Only rooms with (or without) a free seat.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page.", pattern=TIME_CURSOR)
    ] = None,
) -> RoomPage:
    """Public rooms, newest first."""
    try:
        items, next_cursor = await services.directory.page(
            game=game, status=status, free=free, cursor=cursor, limit=limit
        )
    except ValueError:
        raise ProblemError(422, "bad_cursor", "that cursor is not one this server gave") from None
    return RoomPage.model_validate(
        {"items": [room_view(s, None) for s in items], "next_cursor": next_cursor}
    )


@router.post(
    "/rooms",
    status_code=201,
    response_model=RoomCreated,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 409, 422, 429, 503),
)
async def create_room(body: NewRoom, services: ServicesDep, session: CurrentSession) -> RoomCreated:
    """A new room. With ``join`` (the default) the creator gets a seat: the first one no
    bot takes. A private room's answer carries its ``invite`` code."""
    services.limits.check("rooms", session.player_id)
    try:
        definition = services.games.registry.lookup(body.game)
    except KeyError as exc:
        raise ProblemError(422, "unknown_game", str(exc.args[0])) from None
    seats = body.seats or definition.min_seats
    if not definition.min_seats <= seats <= definition.max_seats:
        raise ProblemError(
            422,
            "bad_seats",
            f"{definition.name} takes {definition.min_seats} to {definition.max_seats} seats,"
            f" not {seats}",
        )
    try:
        definition.parse_options(body.options)
    except ValidationError as exc:
        raise ProblemError(422, "bad_options", f"options.{describe_validation(exc)}") from None
    if len(set(body.bots)) != len(body.bots):
        raise ProblemError(422, "bad_bots", "a seat is listed twice in bots")
    if len(body.bots) >= seats:
        raise ProblemError(422, "bad_bots", "bots may fill every seat but one")
    room = await services.rooms.create(
        body.game,
        seats=seats,
        options=body.options,
        private=body.private,
        creator=session.player_id,
        bots={seat: body.bot for seat in body.bots},
        abandon=body.abandon,
        clock=None if body.clock is None else body.clock.model_dump(),
        join=(session.player_id, session.name) if body.join else None,
    )  # saved with the creator's seat before it is returned
    reservation = await reserve(services, session, room.id, None) if body.join else None
    data = room_view(room.summary(), session.player_id, room.creator)
    if reservation is not None:
        data["reservation"] = reservation.model_dump()
    return RoomCreated.model_validate(data)


@router.get(
    "/rooms/{room_id}",
    response_model=RoomOut,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 404),
)
async def get_room(room_id: str, services: ServicesDep, session: CurrentSession) -> RoomOut:
    """One room (private ones too, by id; their invite code only for their members)."""
    summary, creator = await find_room(services, room_id)
    return RoomOut.model_validate(room_view(summary, session.player_id, creator))


@router.post(
    "/rooms/{room_id}/seats",
    response_model=Reservation,
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503),
)
async def take_seat(
    room_id: str,
    request: Request,
    services: ServicesDep,
    session: CurrentSession,
    body: SeatRequest | None = None,
) -> Reservation:
    """Reserve a seat (``seat``, or the first free one). Connect to the room's WebSocket
    before ``expires_at`` or the seat is freed. Asking again gives the same seat. The
    answer comes once the seat is saved: 503 ``not_saved`` if it could not be (the seat
    stays free)."""
    body = body or SeatRequest()
    summary, creator = await find_room(services, room_id)
    check_invite(services, request, summary, creator, session.player_id, body.invite)
    return await reserve(services, session, room_id, body.seat)


@router.delete(
    "/rooms/{room_id}/seats/me",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 404, 503),
)
async def leave_seat(room_id: str, services: ServicesDep, session: CurrentSession) -> Response:
    """Give the seat up: freed before the game starts, resigned during it; answered once
    that is saved (503 ``not_saved`` if it could not be)."""
    await services.rooms.release(room_id, session.player_id)
    return Response(status_code=204)


@router.post(
    "/rooms/{room_id}/watch",
    response_model=Watch,
    response_model_exclude_unset=True,
    responses=problem_responses(401, 403, 404, 422, 429),
)
async def watch(
    room_id: str,
    request: Request,
    services: ServicesDep,
    session: CurrentSession,
    body: WatchRequest | None = None,
) -> Watch:
    """Where to watch from. A private room needs its invite code, which the answer repeats
    for the WebSocket's ``?invite=``."""
    body = body or WatchRequest()
    summary, creator = await find_room(services, room_id)
    check_invite(services, request, summary, creator, session.player_id, body.invite)
    if summary.get("private"):
        return Watch(room=room_id, ws=ws_path(room_id), invite=summary.get("invite"))
    return Watch(room=room_id, ws=ws_path(room_id))
