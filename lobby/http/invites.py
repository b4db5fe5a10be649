"""Invites: what room a private room's code leads to, and taking a seat with it.

A code is the only key to a private room, so both calls are rate limited with the other
invite attempts (``limits.INVITES``) and answer an unknown code and one whose room has
gone (finished and dropped, or never there) with the same 404. The lookup needs no
session (someone opening an invite link signed out is told where it leads before they
pick a name, and a signed-in player before they join), so it is limited per client
address, and it shows only what the invitee would see on joining: the game, the host's
name, the seats and the names on them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import InvitedPlayer, InvitePreview, InviteRequest, Reservation
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.http.rooms import find_room, limit_invites, reserve
from meeple.lobby.services import Services
from meeple.lobby.stores.base import RoomSummary

router = APIRouter(prefix="/api", tags=["rooms"])

MAX_CODE = 64
"""Longer than any code the server makes (22 characters): such a "code" is not looked up."""


def unknown_invite() -> ProblemError:
    return ProblemError(404, "unknown_invite", "no room has that invite code")


async def room_id_of(services: Services, code: str) -> str:
    """The id of the room ``code`` opens, or the one 404 for every miss."""
    room_id = await services.directory.room_for_invite(code) if len(code) <= MAX_CODE else None
    if room_id is None:
        raise unknown_invite()
    return room_id


async def room_of(services: Services, code: str) -> tuple[RoomSummary, str | None]:
    """The private room ``code`` opens and its creator, or the one 404 for every miss."""
    room_id = await room_id_of(services, code)
    try:
        summary, creator = await find_room(services, room_id)
    except ProblemError:
        raise unknown_invite() from None
    if summary.get("invite") != code:
        raise unknown_invite()
    return summary, creator


def host_name(summary: RoomSummary, creator: str | None) -> str | None:
    """The creator's name as their seat shows it (None if they took no seat)."""
    for seat in summary.get("seats", ()):
        if creator is not None and seat.get("player_id") == creator:
            name = seat.get("name")
            return str(name) if name else None
    return None


@router.get(
    "/invites/{code}",
    response_model=InvitePreview,
    responses=problem_responses(404, 429),
)
async def look_up_invite(
    code: str, request: Request, response: Response, services: ServicesDep
) -> InvitePreview:
    """What room this invite code opens: the game, who invited you, who is in it, the
    seats. Open to
    anyone holding the code, signed in or not; tries are rate limited per address with
    the other invite attempts (429 past ten, then one every 5 s), and an unknown code
    and an expired one (its room has gone) are the same 404."""
    limit_invites(services, request)
    summary, creator = await room_of(services, code)
    response.headers["Cache-Control"] = "no-store"
    try:
        title = services.games.registry.lookup(summary["game"]).title
    except KeyError:
        title = summary["game"]
    return InvitePreview(
        game=summary["game"],
        title=title,
        host=host_name(summary, creator),
        status=summary["status"],
        seat_count=summary["seat_count"],
        free=summary["free"],
        players=[
            InvitedPlayer(name=seat.get("name"), bot=bool(seat.get("bot")))
            for seat in summary.get("seats", ())
            if seat.get("kind") != "empty"
        ],
        clock=summary.get("clock"),
    )


@router.post(
    "/invites/{code}",
    response_model=Reservation,
    responses=problem_responses(401, 404, 409, 422, 429, 503),
)
async def join_by_invite(
    code: str,
    request: Request,
    services: ServicesDep,
    session: CurrentSession,
    body: InviteRequest | None = None,
) -> Reservation:
    """Take a seat in the private room this invite code belongs to (tries are rate
    limited: 429 past ten, then one every 5 s)."""
    limit_invites(services, request, session.player_id)
    room_id = await room_id_of(services, code)
    return await reserve(services, session, room_id, (body or InviteRequest()).seat)
