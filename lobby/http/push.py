"""Web Push subscriptions: the server's public key, and each browser's subscription.

A page subscribes with ``pushManager.subscribe({applicationServerKey})`` using the key
from ``GET /api/push/key`` and sends the subscription here; the server then pushes a
correspondence turn (and a reminder) to it when the player has no page open on it.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from meeple.lobby.http.auth import CurrentSession, ServicesDep
from meeple.lobby.http.models import Request
from meeple.lobby.http.problems import ProblemError, problem_responses
from meeple.lobby.players.push import endpoint_allowed, public_key

router = APIRouter(prefix="/api/push", tags=["push"])


class PushKey(BaseModel):
    public_key: str = Field(
        description="The VAPID public key (P-256, uncompressed, base64url), for"
        " pushManager.subscribe's applicationServerKey."
    )


class SubscriptionKeys(Request):
    p256dh: str = Field(
        pattern=r"^B[A-P][A-Za-z0-9_-]{85}={0,3}$",
        description="The browser's P-256 public key (an uncompressed point), base64url.",
    )
    auth: str = Field(
        pattern=r"^[A-Za-z0-9_-]{22}={0,2}$", description="The 16-byte auth secret, base64url."
    )


class NewSubscription(Request):
    endpoint: str = Field(
        max_length=2048,
        json_schema_extra={"format": "push-endpoint"},
        description="The push service URL to POST to: on one of the push services this"
        " server uses (MEEPLE_PUSH_SERVICES).",
    )
    expirationTime: int | float | None = None
    keys: SubscriptionKeys


def _b64(value: str, size: int, what: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or (size == 65 and raw[0] != 4):
        raise ProblemError(422, "bad_subscription", f"keys.{what} is not a valid key")


@router.get("/key", response_model=PushKey, responses=problem_responses(401))
async def push_key(services: ServicesDep, session: CurrentSession) -> PushKey:
    """The server's VAPID public key (made once, then kept)."""
    return PushKey(public_key=public_key(await services.pusher.key()))


@router.post(
    "/subscriptions", status_code=201, response_model=None, responses=problem_responses(401, 422)
)
async def subscribe(body: NewSubscription, services: ServicesDep, session: CurrentSession) -> None:
    """Keep this browser's subscription for the player (up to 10 per player; the same
    endpoint again replaces it). Its endpoint must be on a known push service."""
    if not endpoint_allowed(body.endpoint, services.settings.push_services):
        raise ProblemError(422, "bad_subscription", "endpoint: not a push service this server uses")
    _b64(body.keys.p256dh, 65, "p256dh")
    _b64(body.keys.auth, 16, "auth")
    subscription = {
        "endpoint": body.endpoint,
        "keys": {"p256dh": body.keys.p256dh, "auth": body.keys.auth},
    }
    await services.push_subscriptions.add(session.player_id, subscription)


@router.delete("/subscriptions", status_code=204, responses=problem_responses(401))
async def unsubscribe(
    services: ServicesDep,
    session: CurrentSession,
    endpoint: str = Query(max_length=2048),
) -> Response:
    """Forget a subscription (the browser unsubscribed)."""
    await services.push_subscriptions.remove(session.player_id, endpoint)
    return Response(status_code=204)
