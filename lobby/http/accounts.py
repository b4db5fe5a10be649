"""Accounts over REST: sign up (a guest keeps its player id), log in, log out, log out
everywhere. A log-in's token is a session token like a guest's, so the WebSocket
protocol does not change."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from meeple.lobby.http.auth import CurrentSession, ServicesDep, _bearer, session_for
from meeple.lobby.http.models import (
    MAX_PAGE,
    AccountDeletion,
    AccountSessionOut,
    Login,
    NewAccount,
    PasswordChange,
    iso,
)
from meeple.lobby.http.mygames import games_of
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.http.sessions import client_address
from meeple.lobby.players.accounts import ANONYMOUS, AccountError
from meeple.lobby.stores.base import Account, Session

router = APIRouter(prefix="/api", tags=["accounts"])


def _problem(exc: AccountError) -> ProblemError:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return ProblemError(exc.status, exc.code, exc.detail, headers=headers)


def _out(token: str, session: Session, account: Account) -> AccountSessionOut:
    return AccountSessionOut(
        token=token,
        player_id=session.player_id,
        name=session.name,
        expires_at=iso(session.expires_at),
        username=account.username or "",
        bot=account.is_bot,
    )


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountSessionOut,
    responses=problem_responses(401, 409, 422, 429),
)
async def register(body: NewAccount, request: Request, services: ServicesDep) -> AccountSessionOut:
    """Sign up. Called with a guest's token, the guest becomes the account and keeps its
    player id, ratings and history; the guest's token ends, replaced by the answer's (a
    session is renewed when it gains privileges, as OWASP advises: whoever else held
    the guest's token does not get the account), and is 401 ``unauthorized`` after."""
    services.limits.check("sessions", client_address(request))
    credentials: HTTPAuthorizationCredentials | None = await _bearer(request)
    guest = None
    if credentials is not None:
        guest = await session_for(services, credentials.credentials)
    try:
        token, session, account = await services.accounts.register(
            body.username, body.password, body.display_name, is_bot=body.bot, guest=guest
        )
    except AccountError as exc:
        raise _problem(exc) from None
    if guest is not None and credentials is not None:
        await services.sessions.revoke(credentials.credentials)
    return _out(token, session, account)


@router.post("/login", response_model=AccountSessionOut, responses=problem_responses(401, 422, 429))
async def login(body: Login, request: Request, services: ServicesDep) -> AccountSessionOut:
    """A new session for an account. Any failure is the same 401 ``login_failed``; after
    repeated failures an account or address must wait (429 ``too_many_attempts``)."""
    try:
        token, session, account = await services.accounts.login(
            body.username, body.password, client_address(request)
        )
    except AccountError as exc:
        raise _problem(exc) from None
    return _out(token, session, account)


@router.post(
    "/me/password",
    response_model=AccountSessionOut,
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
async def change_password(
    body: PasswordChange, request: Request, services: ServicesDep, session: CurrentSession
) -> AccountSessionOut:
    """Change the account's password, given the one now (403 ``wrong_password``; wrong
    ones slow the account down as failed log-ins do, 429). Every session of the account
    ends, on every device: the answer is a new session for this one."""
    try:
        token, new, account = await services.accounts.change_password(
            session.player_id, body.password, body.new_password, client_address(request)
        )
    except AccountError as exc:
        raise _problem(exc) from None
    return _out(token, new, account)


@router.post("/logout", status_code=204, responses=problem_responses(401))
async def logout(request: Request, services: ServicesDep, session: CurrentSession) -> Response:
    """End this session (its token is no good after)."""
    credentials = await _bearer(request)
    assert credentials is not None  # CurrentSession had it
    await services.sessions.revoke(credentials.credentials)
    return Response(status_code=204)


@router.post("/logout/everywhere", status_code=204, responses=problem_responses(401))
async def logout_everywhere(services: ServicesDep, session: CurrentSession) -> Response:
    """End every session of this player's account (every device, every tab)."""
    await services.sessions.revoke_player(session.player_id)
    return Response(status_code=204)


EXPORT_RECORDS = 10_000
"""The most finished games an export lists (a page of the history each MAX_PAGE)."""


@router.get("/me/export", responses=problem_responses(401))
async def export(services: ServicesDep, session: CurrentSession) -> dict[str, Any]:
    """Everything held about the caller, as JSON: the account (without its password hash),
    the ratings, every finished game with its full record, the rooms they sit in, their
    invitations and the Web Push subscriptions of their browsers (without their keys)."""
    account = await services.accounts.store.get(session.player_id)
    ratings = {}
    for game in services.games.registry:
        found = await services.ratings.get(game, session.player_id)
        if found is not None:
            ratings[game] = asdict(found)
    records: list[dict[str, Any]] = []
    cursor = None
    while len(records) < EXPORT_RECORDS:
        page, cursor = await services.records.for_player(
            session.player_id, cursor=cursor, limit=MAX_PAGE
        )
        records += page
        if cursor is None:
            break
    return {
        "player_id": session.player_id,
        "name": session.name,
        "account": None
        if account is None
        else {
            "username": account.username,
            "display_name": account.display_name,
            "bot": account.is_bot,
            "created_at": iso(account.created_at),
        },
        "ratings": ratings,
        "games": records,
        "rooms": [
            {"room": room["id"], "game": room["game"], "status": room["status"], "seat": seat}
            for room, seat in (
                (g["room"], g["seat"]) for g in await games_of(services, session.player_id)
            )
        ],
        "invitations": await services.invitations.of(session.player_id),
        "push_subscriptions": [
            {"endpoint": s["endpoint"]}
            for s in await services.push_subscriptions.of(session.player_id)
        ],
    }


@router.delete("/me", status_code=204, responses=problem_responses(401, 403, 404, 422, 429))
async def delete_me(
    request: Request,
    services: ServicesDep,
    session: CurrentSession,
    body: AccountDeletion | None = None,
) -> Response:
    """Delete the caller's account, given its password now (403 ``password_required``
    without it, ``wrong_password`` for a wrong one, which slows the account down as
    failed log-ins do, 429; the account is kept either way): its credentials and
    personal fields go, every session ends, its browsers are pushed nothing more, its
    invitations go, and its games stay in others' histories under an anonymous name."""
    player_id = session.player_id
    password = body.password if body is not None else None
    try:
        gone = await services.accounts.delete(player_id, password, client_address(request))
    except AccountError as exc:
        raise _problem(exc) from None
    if gone is None:
        raise ProblemError(404, "no_account", "a guest has no account to delete")
    for subscription in await services.push_subscriptions.of(player_id):
        await services.push_subscriptions.remove(player_id, subscription["endpoint"])
    for invitation in await services.invitations.of(player_id):
        await services.invitations.remove(player_id, invitation["room"])
    await services.records.rename_player(player_id, ANONYMOUS)
    await services.ratings.rename_player(player_id, ANONYMOUS)
    return Response(status_code=204)
