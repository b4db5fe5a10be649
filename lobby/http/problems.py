"""Errors as RFC 9457 problem details: one JSON shape for every error the server answers.

``{"type": "about:blank", "title": "Conflict", "status": 409, "detail": "seat 1 is taken",
"code": "seat_taken"}`` with media type ``application/problem+json``. ``code`` is stable
(clients branch on it); ``detail`` is for people. Request validation failures (422) add
``errors``, one entry per broken field.

Raise ``ProblemError`` from an endpoint or dependency; ``RoomError`` (meeple.lobby.rooms.room),
FastAPI's validation errors and Starlette's HTTP exceptions (unknown routes, wrong
methods) are turned into the same shape by the handlers ``install_problem_handlers``
registers, and any other error into the 500 problem by ``CrashGuard`` (Redis failing as
a whole into 503 ``store_unavailable``: ``STORE_OUTAGES``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ClusterDownError, ReadOnlyError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meeple.lobby.http.openapi import patch
from meeple.lobby.rooms.room import RoomError

log = logging.getLogger("meeple.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Codes for errors that carry no code of their own (framework errors), by status.
STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}

PROBLEM_CODES: dict[str, str] = {
    # Any call
    "bad_request": "400: the request is not HTTP the server can read (e.g. malformed JSON)",
    "unauthorized": "401: missing, unknown or expired session token (or connect ticket)",
    "forbidden": "403: not allowed",
    "not_found": "404: no such endpoint under /api",
    "method_not_allowed": "405: the path exists, the method does not (see Allow)",
    "conflict": "409: the request conflicts with the state",
    "too_large": "413: a body over 1 MiB",
    "unsupported_media_type": "415: the body is not JSON",
    "validation_error": "422: the request breaks its schema (see errors)",
    "rate_limited": "429: over a rate limit (see Retry-After)",
    "internal": "500: an error inside the server",
    "unavailable": "503: the server is starting or stopping",
    "store_unavailable": "503: the server's Redis did not answer (down, restarting, failing over); "
    "try again",
    # Accounts
    "invalid_username": "422: not a username (3 to 32 letters, digits, _ . -)",
    "invalid_password": "422: a password is 8 to 128 characters",
    "username_taken": "409: another account has that username (in any case or form)",
    "already_registered": "409: this player has an account already",
    "login_failed": "401: wrong username or password",
    "too_many_attempts": "429: too many failed log-ins; wait Retry-After seconds",
    "no_account": "404: a guest has no account to delete (or password to change)",
    "wrong_password": "403: not the account's password (changing it or deleting the account"
    " needs the one now)",
    "password_required": "403: deleting the account needs its password",
    "password_changed": "409: the password changed while this change was checked",
    # Rooms
    "unknown_game": "422 (404 for a leaderboard): no game by that name",
    "bad_seats": "422: the game does not take that many seats",
    "bad_options": "422: the options break the game's options schema",
    "bad_bots": "422: a bot seat listed twice, or bots in every seat",
    "bad_abandon": "422: abandon is not forfeit, skip or bot",
    "bad_clock": "422: the clock is not a bank and increment, a time per move or days per move",
    "bad_cursor": "422: a cursor this server did not give",
    "no_such_room": "404: no room by that id",
    "no_such_seat": "404: the room has no seat by that number",
    "seat_taken": "409: that seat is taken",
    "room_full": "409: every seat is taken",
    "already_started": "409: the game has started; watch instead",
    "not_a_member": "403: only the room's creator and players invite others into it",
    "already_seated": "409: that player has a seat in the room already",
    "invite_yourself": "409: an invitation is for another player",
    "not_seated": "404: you hold no seat in that room",
    "invite_required": "403: a private room needs its invite code",
    "bad_invite": "403: that is not the room's invite code",
    "unknown_invite": "404: no room has that invite code",
    "owner_unavailable": "503: the room's server process did not answer; try again",
    "owner_moved": "503: the room moved to another server process; try again",
    "moved": "503: the room is no longer hosted by this process; try again",
    "bad_call": "500: one server process asked another for something it does not do",
    "game_not_served": "503: no server process up now offers the room's game; try again",
    "not_saved": "503: the change (a new room, a seat taken or given up) could not be saved "
    "where it must (its store failed or refused it); nothing changed: try again",
    # Quick-match
    "ticket_exists": "409: you already wait for that game with another ticket",
    "no_such_ticket": "404: you have no ticket by that id",
    "already_matched": "409: the ticket is matched; leave the seat instead",
    # Web Push
    "bad_subscription": "422: a push subscription not on a known push service, or bad keys",
    # Results
    "no_such_record": "404: no finished game by that id (or not one you may read)",
}
"""The ``code`` of every problem the REST API answers, with its status and meaning
(docs/protocol.md lists the same; tests/test_codes.py checks the code sends no other)."""

STORE_OUTAGES = (
    RedisConnectionError,  # also: loading after a restart, no Sentinel primary, no connection
    RedisTimeoutError,
    ReadOnlyError,  # a primary turned replica, mid-failover
    ClusterDownError,
    TryAgainError,
)
"""Redis failing as a whole rather than a bug of the server's: the request may work once
it is back, so it answers 503 ``store_unavailable`` (``CrashGuard``), not 500."""

_PROBE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class FieldError(BaseModel):
    """One broken field of a request that failed validation."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem detail, with Meeple's stable ``code``."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["seat 1 is taken"])
    code: str = Field(examples=["seat_taken"])
    errors: list[FieldError] | None = Field(
        default=None, description="Only for validation errors (422): each broken field."
    )


class ProblemError(Exception):
    """Raise to answer with a problem detail."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def title_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def code_of(status: int) -> str:
    return STATUS_CODES.get(status) or title_of(status).lower().replace(" ", "_")


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title_of(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status (and 422) documented as a Problem."""
    return {
        status: {
            "model": Problem,
            "description": title_of(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in sorted({*statuses, 422})
    }


def problem_openapi(app: FastAPI) -> None:
    """Document error answers as ``application/problem+json`` only (FastAPI adds a plain
    JSON entry for every response model), and what ``openapi.patch`` adds."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in "45" and PROBLEM_MEDIA_TYPE in content:
                        content.pop("application/json", None)
        patch(schema, getattr(app.state, "games", {}).values())
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# Handlers ----------------------------------------------------------------------------


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.code, exc.detail, headers=exc.headers)


async def _on_room_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RoomError)
    return problem_response(exc.status, exc.code, exc.message)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        detail = f"{where}: {first['msg']}"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
    else:
        detail = "the request is not valid"
    return problem_response(422, "validation_error", detail, errors=errors)


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route answers on this request's path (mounts left out)."""
    allowed = []
    for method in _PROBE_METHODS:
        probe = {
            "type": "http",
            "method": method,
            "path": request.scope.get("path", "/"),
            "root_path": request.scope.get("root_path", ""),
            "headers": [],
            "query_string": b"",
        }
        for route in request.app.router.routes:
            if isinstance(route, Mount):
                continue
            if route.matches(probe)[0] == Match.FULL:
                allowed.append(method)
                break
    return allowed


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) else title_of(status)
    if status in (404, 405) and request.url.path.startswith("/api/"):
        # Unknown API paths fall through to the static files; answer as the API would.
        allowed = _allowed_methods(request)
        if request.method not in allowed:
            if allowed:
                status, detail = 405, f"{request.method} is not allowed here"
                headers["Allow"] = ", ".join(allowed)
            else:
                status, detail = 404, f"no such endpoint: {request.url.path}"
                headers.pop("Allow", None)
    if detail == title_of(status):
        detail = {404: "not found", 405: "method not allowed"}.get(status, detail.lower())
    return problem_response(status, code_of(status), detail, headers=headers)


class CrashGuard:
    """Answers an error no handler took with the 500 problem, and keeps the connection.

    Starlette's outermost middleware answers such an error too, but then raises it again
    for the server to log, and uvicorn closes the keep-alive connection when a request
    raised: under the client's next request. Added inside CORS, so a 500 gets its headers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # half an answer is out: only closing the line can end it
                raise
            # The path as far as a route's is: the client may have sent 16 KiB of it.
            if isinstance(exc, STORE_OUTAGES):
                log.warning(
                    "%s %.120s: Redis did not answer: %s: %s",
                    scope["method"], scope["path"], type(exc).__name__, exc,
                )  # fmt: skip
                response = problem_response(
                    503, "store_unavailable", "the server's store did not answer; try again",
                    headers={"Retry-After": "1"},
                )  # fmt: skip
            else:
                log.exception("unhandled error on %s %.120s", scope["method"], scope["path"])
                response = problem_response(500, "internal", "an error inside the server")
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error with a problem detail."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RoomError, _on_room_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    problem_openapi(app)
