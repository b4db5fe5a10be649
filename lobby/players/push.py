"""Web Push: a correspondence turn reaches a player with no page open.

RFC 8030 (the push service), RFC 8291 (the payload, encrypted for the subscription's
keys: aes128gcm) and RFC 8292 (VAPID: the server signs each request with its own key),
through pywebpush. The VAPID key is made once and kept (in Redis for every process, or
in ``Settings.vapid_key_file``); browsers subscribe with its public half. Subscriptions
are kept per player and dropped when the push service says they are gone (404, 410).
Only endpoints on the push services in ``Settings.push_services`` are accepted: the
server POSTs to them, so an endpoint is never an address of the client's choosing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from meeple.lobby.settings import Settings
from meeple.lobby.stores.base import PushSubscription, PushSubscriptions

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from meeple.lobby.players.presence import Presence

log = logging.getLogger("meeple.push")

PUSH_TTL = 86_400
"""Seconds a push service keeps a message for a device that is offline."""
PUSHED = frozenset(("your_turn", "reminder"))
"""The player events that are pushed, for correspondence rooms."""
PUSHED_ALWAYS = frozenset(("invited",))
"""The player events that are pushed, from any room."""


def endpoint_allowed(endpoint: str, services: tuple[str, ...]) -> bool:
    """Whether ``endpoint`` is on one of the allowed push services (``*.`` a subdomain)."""
    try:
        url = urlsplit(endpoint)
    except ValueError:
        return False
    if url.scheme not in ("https", "http") or not url.hostname or url.username:
        return False
    origin = f"{url.scheme}://{url.netloc.lower()}"
    for allowed in services:
        scheme, _, host = allowed.lower().partition("://")
        if host.startswith("*."):
            if url.scheme == scheme and url.netloc.lower().endswith(host[1:]):
                return True
        elif origin == allowed.lower():
            return True
    return False


def public_key(vapid: Vapid02) -> str:
    """The application server key for ``pushManager.subscribe``: the uncompressed P-256
    point, base64url without padding."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def load_key(settings: Settings, redis: Redis | None) -> Vapid02:
    """The server's VAPID key: the one kept, or a new one that is kept from now on."""
    if redis is not None:
        key = f"{settings.redis_prefix}push:vapid"
        made = Vapid02()
        made.generate_keys()
        await redis.set(key, made.private_pem(), nx=True)  # the first process's wins
        pem = await redis.get(key)
        assert pem is not None  # set just now, if nobody had
        return Vapid02.from_pem(pem if isinstance(pem, bytes) else str(pem).encode())
    return await asyncio.to_thread(_key_from_file, Path(settings.vapid_key_file))


def _key_from_file(path: Path) -> Vapid02:
    if not path.exists():
        made = Vapid02()
        made.generate_keys()
        with contextlib.suppress(FileExistsError):  # another process made it first
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private
            with os.fdopen(fd, "wb") as out:
                out.write(made.private_pem())
    return Vapid02.from_pem(path.read_bytes())


class Pusher:
    """Sends the pushed player events to every subscription of the player."""

    def __init__(
        self,
        settings: Settings,
        subscriptions: PushSubscriptions,
        redis: Redis | None,
        presence: Presence | None = None,
    ) -> None:
        self.settings = settings
        self.subscriptions = subscriptions
        self.presence = presence
        """Whether a player has a connection open somewhere: then nothing is pushed."""
        self._redis = redis
        self._key: asyncio.Future[Vapid02] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.skipped = 0
        """Pushes not sent: the player was connected."""

    async def key(self) -> Vapid02:
        if self._key is None:
            self._key = asyncio.ensure_future(load_key(self.settings, self._redis))
        try:
            return await asyncio.shield(self._key)
        except Exception:
            self._key = None  # try again next time
            raise

    def event(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """A player event: pushed if it is an invitation, or a correspondence turn or
        reminder (and the player is connected nowhere: ``push``)."""
        if name in PUSHED_ALWAYS or (name in PUSHED and data.get("correspondence")):
            task = asyncio.get_running_loop().create_task(self.push(player_id, name, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def push(self, player_id: str, name: str, data: dict[str, Any]) -> None:
        """To each subscription, unless the player is connected (and hears it there)."""
        if self.presence is not None:
            try:
                if await self.presence.present(player_id):
                    self.skipped += 1
                    return
            except Exception as exc:  # unknown: better a push too many than a turn missed
                log.warning("presence unknown: %s", type(exc).__name__)
        subscriptions = await self.subscriptions.of(player_id)
        if not subscriptions:
            return
        payload = json.dumps({"event": name, **data}, separators=(",", ":"))
        vapid = await self.key()
        for subscription in subscriptions:
            await self._send(player_id, subscription, payload, vapid)

    async def _send(
        self, player_id: str, subscription: PushSubscription, payload: str, vapid: Vapid02
    ) -> None:
        try:
            await webpush_async(
                subscription,
                payload,
                vapid_private_key=vapid,
                vapid_claims={"sub": self.settings.vapid_subject},
                ttl=PUSH_TTL,
                timeout=10,
            )
            self.sent += 1
        except WebPushException as exc:
            status = getattr(exc.response, "status", None)
            if status in (404, 410):  # unsubscribed, or expired: forget it
                await self.subscriptions.remove(player_id, subscription["endpoint"])
                log.info("push subscription gone (%s); dropped", status)
            else:
                log.warning("push failed: %s", status or exc.message.splitlines()[0])
        except Exception as exc:  # a push service down must not reach the room
            log.warning("push failed: %r", type(exc).__name__)

    async def drain(self, within: float | None = None) -> None:
        """Wait for the pushes under way (for a clean shutdown, and tests), for up to
        ``within`` seconds: a turn announced just before a restart still reaches the
        player's phone. Each push ends by itself (its request times out)."""
        if self._tasks:
            done, _ = await asyncio.wait(set(self._tasks), timeout=within)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved, as gather would: a store's error ends it
