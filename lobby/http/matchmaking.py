"""Quick-match tickets, and the server-sent events that tell a player where they were put."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from meeple.lobby.http.auth import CurrentSession, ServicesDep, StreamSession
from meeple.lobby.http.models import MatchedEvent, NewTicket, TicketOut, iso
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.rooms.matchmaker import Matchmaker, TicketConflict, ws_path
from meeple.lobby.services import Services
from meeple.lobby.stores.base import LIVE_TICKET, Session, Ticket

router = APIRouter(prefix="/api/matchmaking", tags=["matchmaking"])

SSE_EVENT = {
    "description": "One server-sent event: `data` is JSON, a MatchedEvent or {ticket}.",
    "type": "object",
    "properties": {
        "event": {"enum": ["matched", "expired"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


def ticket_out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        id=ticket.id,
        status="waiting" if ticket.status == "matching" else ticket.status,
        game=ticket.game,
        options=ticket.options,
        seats=ticket.seats,
        created_at=iso(ticket.created_at),
        expires_at=iso(ticket.expires_at),
        room=ticket.room,
        seat=ticket.seat,
        ws=ws_path(ticket.room) if ticket.room else None,
    )


async def own_ticket(services: Services, session: Session, ticket_id: str) -> Ticket:
    ticket = await services.tickets.get(ticket_id)
    if ticket is None or ticket.player_id != session.player_id:
        raise ProblemError(404, "no_such_ticket", f"you have no ticket {ticket_id}")
    return ticket


@router.post(
    "/tickets",
    status_code=201,
    response_model=TicketOut,
    responses={
        200: {"model": TicketOut, "description": "The same request again: the live ticket."},
        **problem_responses(401, 409, 422, 429),
    },
)
async def create_ticket(
    body: NewTicket, response: Response, services: ServicesDep, session: CurrentSession
) -> TicketOut:
    """Ask for a match. One live ticket per player and game: asking again for the same
    match answers 200 with the ticket there is; for a different one, 409 until that
    ticket is cancelled. A ticket expires after 60 s without a match
    (``MEEPLE_TICKET_SECONDS``)."""
    services.limits.check("tickets", session.player_id)
    try:
        ticket, created = await services.matchmaker.submit(
            session.player_id, session.name, body.game, body.options, body.seats
        )
    except TicketConflict as exc:
        raise ProblemError(
            409,
            "ticket_exists",
            f"you already wait for {exc.existing.game} with ticket {exc.existing.id};"
            " cancel it first",
        ) from None
    if not created:
        response.status_code = 200
    return ticket_out(ticket)


@router.get("/tickets/{ticket_id}", response_model=TicketOut, responses=problem_responses(401, 404))
async def get_ticket(ticket_id: str, services: ServicesDep, session: CurrentSession) -> TicketOut:
    """The ticket; once matched, ``status: "matched"`` with ``room``, ``seat`` and ``ws``.
    A cancelled (deleted) ticket is gone: 404."""
    ticket = await own_ticket(services, session, ticket_id)
    if ticket.status == "cancelled":
        raise ProblemError(404, "no_such_ticket", f"ticket {ticket_id} was cancelled")
    if ticket.status not in LIVE_TICKET:
        services.matchmaker.events.seen(session.player_id, ticket.id)
    return ticket_out(ticket)


@router.delete(
    "/tickets/{ticket_id}", response_model=TicketOut, responses=problem_responses(401, 404, 409)
)
async def cancel_ticket(
    ticket_id: str, services: ServicesDep, session: CurrentSession
) -> TicketOut:
    """Cancel a waiting ticket (a ticket that already ended is answered as it is). A
    matched ticket cannot be cancelled: give the seat up instead."""
    await own_ticket(services, session, ticket_id)
    ticket = await services.tickets.cancel(ticket_id, services.matchmaker.clock())
    if ticket is None:
        raise ProblemError(404, "no_such_ticket", f"you have no ticket {ticket_id}")
    if ticket.status in ("matching", "matched"):
        where = f" (room {ticket.room})" if ticket.room else ""
        raise ProblemError(
            409, "already_matched", f"the ticket is already matched{where}; leave the seat instead"
        )
    services.matchmaker.events.seen(session.player_id, ticket.id)
    return ticket_out(ticket)


def sse(event: str, data: dict[str, object]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def event_stream(matchmaker: Matchmaker, player_id: str) -> AsyncIterator[bytes]:
    events = matchmaker.events
    queue = events.subscribe(player_id)
    try:
        yield b"retry: 2000\n: connected\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), matchmaker.keepalive)
            except TimeoutError:
                yield b": keepalive\n\n"
                continue
            yield sse(event.name, event.data)
    finally:
        events.unsubscribe(player_id, queue)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A text/event-stream: `event: matched` with the data below (and"
            " `event: expired` with `{ticket}`), a comment line every 15 s to keep it open.",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
            "model": MatchedEvent,
        },
        **problem_responses(401),
    },
)
async def matchmaking_events(services: ServicesDep, session: StreamSession) -> StreamingResponse:
    """Server-sent events for this player's tickets. ``EventSource`` cannot set headers,
    so a connect ticket may come as ``?ticket=`` instead (POST /api/session/ticket)."""
    return StreamingResponse(
        event_stream(services.matchmaker, session.player_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
