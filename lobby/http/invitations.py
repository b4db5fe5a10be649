"""Invitations: a player asks another into a room by username or player id; the invitee
hears it on their event stream (``invited``), by Web Push if they are connected
nowhere, and finds it in ``GET /api/me/invitations`` until the room starts or it expires.

Nothing here tells who exists: an invitation to a username no account has, or to a
player id no one holds, is answered exactly as one that was sent (and goes nowhere).
What a caller can learn of a player is what the leaderboard already shows.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import Request, RoomOut, iso
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.http.rooms import find_room, room_view
from meeple.lobby.players.accounts import username_key
from meeple.lobby.rooms.matchmaker import ws_path
from meeple.lobby.services import Services
from meeple.lobby.stores.base import Invitation, RoomSummary

router = APIRouter(prefix="/api", tags=["rooms"])

INVITATION_SECONDS = 7 * 86_400.0
"""How long an invitation is kept (the room may start or close before: then it is gone)."""
PLAYER_ID = r"^p_[0-9a-f]{16}$"


def _just(field: str, other: str) -> dict[str, Any]:
    given = {"required": [field], "properties": {field: {"type": "string"}}}
    return {**given, "not": {"required": [other], "properties": {other: {"type": "string"}}}}


class InvitationRequest(Request):
    # The schema says what the validator below does: exactly one of the two, so that a
    # client (or schemathesis) reading the OpenAPI document sends what is accepted.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [_just("username", "player_id"), _just("player_id", "username")]
        }
    )

    username: str | None = Field(default=None, min_length=1, max_length=64, examples=["bo"])
    player_id: str | None = Field(default=None, pattern=PLAYER_ID)

    @model_validator(mode="after")
    def _one(self) -> InvitationRequest:
        if (self.username is None) == (self.player_id is None):
            raise ValueError("give username or player_id, one of them")
        return self


class InvitationSent(BaseModel):
    room: str
    expires_at: str = Field(description="Until when the invitee may find it (ISO 8601).")


class Inviter(BaseModel):
    player_id: str
    name: str


class InvitationOut(BaseModel):
    room: RoomOut = Field(description="The room now (a private one with its invite code).")
    invited_by: Inviter
    at: str
    expires_at: str


class Invitations(BaseModel):
    items: list[InvitationOut] = Field(description="Newest first; rooms still taking players.")


def _open(summary: RoomSummary) -> bool:
    return summary.get("status") == "waiting" and int(summary.get("free", 0)) > 0


async def _invitee(services: Services, body: InvitationRequest) -> str | None:
    """The player id invited; None when no account has the username (or it is deleted)."""
    if body.username is not None:
        account = await services.accounts.store.by_username(username_key(body.username))
        return None if account is None or account.deleted_at is not None else account.player_id
    assert body.player_id is not None
    account = await services.accounts.store.get(body.player_id)
    return None if account is not None and account.deleted_at is not None else body.player_id


@router.post(
    "/rooms/{room_id}/invitations",
    status_code=202,
    response_model=InvitationSent,
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def invite(
    room_id: str, body: InvitationRequest, services: ServicesDep, session: CurrentSession
) -> InvitationSent:
    """Invite a player into this room: its creator or a player seated in it may, while
    it has a free seat. Answered alike whether or not the player exists."""
    summary, creator = await find_room(services, room_id)
    me = session.player_id
    if me != creator and not any(s.get("player_id") == me for s in summary.get("seats", ())):
        raise ProblemError(403, "not_a_member", "only the room's creator and players invite")
    if summary.get("status") != "waiting":
        raise ProblemError(409, "already_started", "the game has started: no one joins it now")
    if not _open(summary):
        raise ProblemError(409, "room_full", "the room has no free seat to invite anyone to")
    services.limits.check("invitations", me)
    invitee = await _invitee(services, body)
    if invitee == me:
        raise ProblemError(409, "invite_yourself", "you cannot invite yourself")
    if invitee is not None and any(s.get("player_id") == invitee for s in summary["seats"]):
        raise ProblemError(409, "already_seated", "that player already has a seat here")
    now = time.time()
    expires_at = now + INVITATION_SECONDS
    if invitee is not None:
        invitation: Invitation = {
            "room": room_id,
            "game": summary["game"],
            "from": {"player_id": me, "name": session.name},
            "at": now,
            "expires_at": expires_at,
        }
        await services.invitations.add(invitee, invitation)
        event = {k: invitation[k] for k in ("room", "game", "from")}
        event.update(private=bool(summary.get("private")), ws=ws_path(room_id))
        services.tell_player(invitee, "invited", event)
    return InvitationSent(room=room_id, expires_at=iso(expires_at))


@router.get("/me/invitations", response_model=Invitations, responses=problem_responses(401))
async def my_invitations(services: ServicesDep, session: CurrentSession) -> Invitations:
    """Your invitations into rooms that still take players, newest first; a private
    room's comes with its invite code (``POST /api/invites/{code}`` takes the seat)."""
    items: list[dict[str, Any]] = []
    for invitation in await services.invitations.of(session.player_id):
        found = await _room(services, invitation["room"])
        if found is None or not _open(found[0]):
            continue
        summary, creator = found
        if any(s.get("player_id") == session.player_id for s in summary["seats"]):
            # Taken up: the invitee sits there now (by this invitation or otherwise).
            await services.invitations.remove(session.player_id, invitation["room"])
            continue
        room = room_view(summary, session.player_id, creator)
        if summary.get("private"):
            room["invite"] = summary.get("invite")
        items.append(
            {
                "room": room,
                "invited_by": invitation["from"],
                "at": iso(invitation["at"]),
                "expires_at": iso(invitation["expires_at"]),
            }
        )
    return Invitations.model_validate({"items": items})


@router.delete(
    "/me/invitations/{room_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401),
)
async def decline(room_id: str, services: ServicesDep, session: CurrentSession) -> Response:
    """Forget an invitation (none there: nothing to do)."""
    await services.invitations.remove(session.player_id, room_id)
    return Response(status_code=204)


async def _room(services: Services, room_id: str) -> tuple[RoomSummary, str | None] | None:
    try:
        return await find_room(services, room_id)
    except ProblemError:
        return None
