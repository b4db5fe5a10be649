"""Guest sessions."""

from __future__ import annotations

from fastapi import APIRouter, Request

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import ConnectTicketOut, Me, NewSession, SessionOut, iso
from meeple.lobby.http.problems import problem_responses

router = APIRouter(prefix="/api", tags=["sessions"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionOut,
    responses=problem_responses(422, 429),
)
async def create_session(body: NewSession, request: Request, services: ServicesDep) -> SessionOut:
    """A guest session. Its token goes with every later call, as a bearer token."""
    services.limits.check("sessions", client_address(request))
    token, session = await services.sessions.create(body.name)
    return SessionOut(
        token=token,
        player_id=session.player_id,
        name=session.name,
        expires_at=iso(session.expires_at),
    )


@router.get("/session", response_model=Me, responses=problem_responses(401))
async def whoami(session: CurrentSession) -> Me:
    """Whom the token belongs to (and, since using it slides it, when it now expires)."""
    return Me(player_id=session.player_id, name=session.name, expires_at=iso(session.expires_at))


@router.post(
    "/session/ticket",
    status_code=201,
    response_model=ConnectTicketOut,
    responses=problem_responses(401, 429),
)
async def connect_ticket(services: ServicesDep, session: CurrentSession) -> ConnectTicketOut:
    """A connect ticket: a single-use, short-lived stand-in for the session token in the
    URLs of the room WebSocket and the event stream."""
    services.limits.check("connect tickets", session.player_id)
    ttl = services.settings.connect_ticket_seconds
    ticket = await services.connect_tickets.issue(session, ttl)
    return ConnectTicketOut(ticket=ticket, expires_at=iso(services.clock() + ttl))
