"""``GET /api/me/events``: one server-sent event stream per player, for everything.

The quick-match stream (``/api/matchmaking/events``) generalised: the same per-player
``Notifier`` (relayed between processes), carrying quick-match results and what rooms
tell players who are away from them: a turn that begins, an opponent who left, the end
of a game. The browser's lobby keeps one open; a bot can play correspondence from it.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from meeple.lobby.http.auth import ServicesDep, StreamSession
from meeple.lobby.http.matchmaking import event_stream
from meeple.lobby.http.problems import problem_responses

router = APIRouter(prefix="/api", tags=["events"])

PLAYER_EVENTS = {
    "matched": "{ticket, room, seat, ws}: a quick-match ticket found a room",
    "expired": "{ticket}: a quick-match ticket waited 60 s without a match",
    "your_turn": "{room, game, seat, deadline, correspondence}: your turn began in a room"
    " you are not connected to (deadline: ms since the Unix epoch, or null)",
    "reminder": "{room, game, seat, deadline, correspondence}: a fifth of a correspondence"
    " move's time is left, and you are not in the room",
    "opponent_left": "{room, seat, reason}: another seat resigned, left or was abandoned",
    "game_over": "{room, seat, r}: a game you sat in ended (r: its result)",
    "invited": "{room, game, from: {player_id, name}, private, ws}: a player invited you"
    " into a room (GET /api/me/invitations has it, a private room's code too)",
}
"""Every event of the per-player stream (docs/protocol.md lists the same)."""

SSE_SCHEMA = {
    "description": "One server-sent event: `data` is JSON (see the event names).",
    "type": "object",
    "properties": {
        "event": {"enum": list(PLAYER_EVENTS)},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "retry": {"type": "integer"},
    },
}


@router.get(
    "/me/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A text/event-stream: "
            + "; ".join(f"`{k}` {v}" for k, v in PLAYER_EVENTS.items())
            + "; a comment line every 15 s to keep it open.",
            "content": {"text/event-stream": {"schema": SSE_SCHEMA}},
        },
        **problem_responses(401),
    },
)
async def player_events(services: ServicesDep, session: StreamSession) -> StreamingResponse:
    """Your events, from every room and the quick-match queue. ``EventSource`` cannot set
    headers: pass a connect ticket as ``?ticket=`` (POST /api/session/ticket)."""
    return StreamingResponse(
        event_stream(services.matchmaker, session.player_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
