"""Who is calling: ``Authorization: Bearer <token>`` to a guest ``Session``.

``CurrentSession`` is the dependency every authenticated endpoint takes; it answers
401 (a problem detail with ``WWW-Authenticate``) when the token is missing, unknown
or expired. ``StreamSession`` also accepts a connect ticket, ``?ticket=``, for
server-sent events, since a browser's ``EventSource`` cannot set headers; a session
token never goes in a URL (URLs reach logs).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer

from meeple.lobby.http.problems import ProblemError
from meeple.lobby.services import Services
from meeple.lobby.stores.base import Session

_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/sessions.")
_ticket = APIKeyQuery(
    name="ticket",
    auto_error=False,
    description="A connect ticket (POST /api/session/ticket), for EventSource, which cannot"
    " send headers. Good once, for 30 s.",
)


async def get_services(request: Request) -> Services:
    """The app's services. ``async`` although it awaits nothing: FastAPI runs a plain
    ``def`` dependency in a worker thread, a thread hop on every REST call."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def unauthorized(detail: str, *, invalid: bool) -> ProblemError:
    challenge = 'Bearer realm="meeple"'
    if invalid:
        challenge += ', error="invalid_token"'
    return ProblemError(401, "unauthorized", detail, headers={"WWW-Authenticate": challenge})


async def session_for(services: Services, token: str | None) -> Session:
    """The live session of ``token``, or the 401 that says what is wrong with it."""
    if not token:
        raise unauthorized(
            "this call needs a session: send Authorization: Bearer <token> "
            "(POST /api/sessions gives one)",
            invalid=False,
        )
    session = await services.sessions.get(token)
    if session is None:
        raise unauthorized(
            "the session token is unknown, expired or ended (logged out, or a guest's that"
            " signed up: the sign-up's answer has the account's)",
            invalid=True,
        )
    return session


async def current_session(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    return await session_for(services, credentials.credentials if credentials else None)


async def stream_session(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ticket: Annotated[str | None, Depends(_ticket)],
) -> Session:
    if credentials or not ticket:
        return await session_for(services, credentials.credentials if credentials else None)
    session = await services.connect_tickets.redeem(ticket)
    if session is None:
        raise unauthorized("the connect ticket is unknown, used or expired", invalid=True)
    return session


CurrentSession = Annotated[Session, Depends(current_session)]
StreamSession = Annotated[Session, Depends(stream_session)]
