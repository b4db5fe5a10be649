"""Web Push, end to end: real encrypted pushes (RFC 8291, aes128gcm) signed with the
server's VAPID key (RFC 8292), sent to a local push-service stand-in that checks the
signature and decrypts each message with the subscription's own keys, as a browser's
push service and browser would."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_ece
import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import FastAPI, Request, Response

from meeple.lobby.rooms import room as room_module
from meeple.lobby.settings import Settings
from tests.conftest import acked, open_peer
from tests.servers import LiveServer, ServerProcess, free_port, live_server, serving, until
from tests.test_cluster import next_event, session, started
from tests.test_correspondence import two_player_room


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's side of a subscription: its P-256 key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def keys(self) -> dict[str, str]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64(point), "auth": b64(self.auth)}


@dataclass
class PushService:
    """The stand-in: ``/push/{name}`` takes messages for a device, ``/gone/{name}`` is an
    unsubscribed endpoint (410)."""

    origin: str
    devices: dict[str, Device] = field(default_factory=dict)
    received: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    refused: list[str] = field(default_factory=list)
    server_key: str | None = None
    hold: float = 0.0
    """How long a push waits for its answer: a slow push service."""
    arrived: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    stayed: list[bool] = field(default_factory=list)
    """Per held push, whether the sender was still connected when it was answered."""

    def verify_vapid(self, header: str) -> dict[str, Any]:
        fields = dict(p.strip().split("=", 1) for p in header.removeprefix("vapid ").split(","))
        assert fields["k"] == self.server_key, "signed with another key than the one published"
        head, claims, signature = fields["t"].split(".")
        raw = unb64(signature)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        return dict(json.loads(unb64(claims)))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/push/{name}")
        async def push(name: str, request: Request) -> Response:
            claims = self.verify_vapid(request.headers["authorization"])
            assert claims["aud"] == self.origin and claims["exp"] > time.time()
            assert request.headers["content-encoding"] == "aes128gcm"
            device = self.devices[name]
            plain = http_ece.decrypt(
                await request.body(), private_key=device.key, auth_secret=device.auth
            )
            if self.hold:
                await self.arrived.put(name)
                await asyncio.sleep(self.hold)
                self.stayed.append(not await request.is_disconnected())
            await self.received.put(
                {"device": name, "ttl": int(request.headers["ttl"]), **json.loads(plain)}
            )
            return Response(status_code=201)

        @app.post("/gone/{name}")
        async def gone(name: str) -> Response:
            self.refused.append(name)
            return Response(status_code=410)

        return app


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    port = free_port()
    service = PushService(f"http://127.0.0.1:{port}")
    async with serving(uvicorn.Config(service.app(), port=port, log_level="warning")):
        yield service


@pytest.fixture
async def srv(push_service: PushService, tmp_path: Path) -> AsyncIterator[LiveServer]:
    settings = Settings(
        push_services=(push_service.origin,),
        vapid_key_file=str(tmp_path / "vapid.pem"),
        vapid_subject="mailto:ops@example.com",
    )
    async with live_server(settings) as server:
        yield server


async def test_a_correspondence_turn_is_pushed_encrypted_to_each_subscription(
    srv: LiveServer, push_service: PushService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Remind with all but 0.001% of the day spent: within a second of the move.
    monkeypatch.setattr(room_module, "REMIND_AT_LEFT", 0.99999)
    async with httpx.AsyncClient(timeout=10) as http:
        token_a, auth_a = await session(http, srv.http, "Ada")
        token_b, auth_b = await session(http, srv.http, "Bo")
        key = (await http.get(f"{srv.http}/api/push/key", headers=auth_b)).json()["public_key"]
        assert len(unb64(key)) == 65 and (tmp_path / "vapid.pem").stat().st_mode & 0o777 == 0o600
        again = (await http.get(f"{srv.http}/api/push/key", headers=auth_a)).json()
        assert again["public_key"] == key  # made once, kept
        push_service.server_key = key
        phone = push_service.devices["phone"] = Device()
        subs = f"{srv.http}/api/push/subscriptions"
        for endpoint, device in (("/push/phone", phone), ("/gone/laptop", Device())):
            body = {"endpoint": push_service.origin + endpoint, "keys": device.keys()}
            r = await http.post(subs, json={**body, "expirationTime": None}, headers=auth_b)
            assert r.status_code == 201, r.text
        here = push_service.origin + "/push/x"
        bad: list[dict[str, Any]] = [
            {"endpoint": "http://169.254.169.254/latest", "keys": phone.keys()},  # not a service
            {"endpoint": push_service.origin + "@evil.example/x", "keys": phone.keys()},
            {"endpoint": here, "keys": {**phone.keys(), "auth": "AAAA"}},
            {"endpoint": here, "keys": {**phone.keys(), "auth": "A" * 23}},
            {"endpoint": here, "keys": {**phone.keys(), "p256dh": b64(b"\x05" * 65)}},
        ]
        for body in bad:
            r = await http.post(subs, json=body, headers=auth_b)
            # the schema catches malformed keys, the server the rest
            assert r.status_code == 422, r.text
            assert r.json()["code"] in ("bad_subscription", "validation_error"), r.text

        room_id = await two_player_room(http, srv.http, auth_a, auth_b, clock={"days": 1})
        a = await open_peer(srv.ws, room_id, token_a)
        b = await open_peer(srv.ws, room_id, token_b)
        await started(a)
        await started(b)
        await b.ws.close()  # Bo closes the tab
        await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
        moved = await a.until(acked(1))
        turn = await asyncio.wait_for(push_service.received.get(), 10)
        assert turn == {
            "device": "phone",
            "ttl": 86_400,
            "event": "your_turn",
            "room": room_id,
            "game": "tictactoe",
            "seat": 1,
            "deadline": moved["dl"],
            "correspondence": True,
        }
        reminder = await asyncio.wait_for(push_service.received.get(), 10)
        assert reminder["event"] == "reminder" and reminder["room"] == room_id
        assert push_service.refused == ["laptop"]  # tried once, answered 410 ...
        await srv.services.pusher.drain()
        bo_id = (await http.get(f"{srv.http}/api/session", headers=auth_b)).json()["player_id"]
        kept = await srv.services.push_subscriptions.of(bo_id)
        assert [s["endpoint"] for s in kept] == [push_service.origin + "/push/phone"]  # ... dropped
        # Bo unsubscribes: nothing is kept for him any more.
        r = await http.delete(subs, params={"endpoint": kept[0]["endpoint"]}, headers=auth_b)
        assert r.status_code == 204
        assert await srv.services.push_subscriptions.of(bo_id) == []
    assert push_service.received.empty()


async def test_a_player_connected_anywhere_gets_no_push_and_an_invitation_is_pushed(
    srv: LiveServer, push_service: PushService
) -> None:
    """Bo's event stream is open: his correspondence turn comes there, and nothing is
    pushed. Once he is connected nowhere, his next turn and an invitation are pushed."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=20)) as http:
        token_a, auth_a = await session(http, srv.http, "Ada")
        token_b, auth_b = await session(http, srv.http, "Bo")
        bo_id = (await http.get(f"{srv.http}/api/session", headers=auth_b)).json()["player_id"]
        key = (await http.get(f"{srv.http}/api/push/key", headers=auth_b)).json()["public_key"]
        push_service.server_key = key
        phone = push_service.devices["phone"] = Device()
        body = {"endpoint": push_service.origin + "/push/phone", "keys": phone.keys()}
        r = await http.post(f"{srv.http}/api/push/subscriptions", json=body, headers=auth_b)
        assert r.status_code == 201, r.text
        room_id = await two_player_room(http, srv.http, auth_a, auth_b, clock={"days": 1})
        a = await open_peer(srv.ws, room_id, token_a)
        b = await open_peer(srv.ws, room_id, token_b)
        await started(a)
        await started(b)
        await b.ws.close()
        pusher, presence = srv.services.pusher, srv.services.presence
        async with http.stream("GET", f"{srv.http}/api/me/events", headers=auth_b) as events:
            lines = events.aiter_lines()
            async for line in lines:
                if line == ": connected":
                    break
            await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
            await a.until(acked(1))
            turn = await asyncio.wait_for(next_event(lines, "your_turn"), 10)
            assert turn["room"] == room_id
            await pusher.drain()
            assert pusher.skipped == 1 and push_service.received.empty()

        async def away() -> bool:
            return not await presence.present(bo_id)

        await until(away, what="the server seeing Bo's stream end")

        b = await open_peer(srv.ws, room_id, token_b, since=2)
        await b.send({"t": "move", "id": 1, "m": {"cell": 0}})
        await b.until(acked(1))
        await b.ws.close()
        await until(away, what="the server seeing Bo's socket close")
        await a.send({"t": "move", "id": 2, "m": {"cell": 8}})
        await a.until(acked(2))
        pushed = await asyncio.wait_for(push_service.received.get(), 10)
        assert (pushed["event"], pushed["room"]) == ("your_turn", room_id)

        r = await http.post(f"{srv.http}/api/rooms", json={"game": "connect4"}, headers=auth_a)
        other = r.json()["id"]
        r = await http.post(
            f"{srv.http}/api/rooms/{other}/invitations", json={"player_id": bo_id}, headers=auth_a
        )
        assert r.status_code == 202, r.text
        invited = await asyncio.wait_for(push_service.received.get(), 10)
        ada_id = (await http.get(f"{srv.http}/api/session", headers=auth_a)).json()["player_id"]
        assert invited == {
            "device": "phone",
            "ttl": 86_400,
            "event": "invited",
            "room": other,
            "game": "connect4",
            "from": {"player_id": ada_id, "name": "Ada"},
            "private": False,
            "ws": f"/ws/rooms/{other}",
        }
        await a.ws.close()
    await pusher.drain()
    assert pusher.skipped == 1 and push_service.received.empty()


async def test_a_stopping_server_waits_for_the_push_under_way(
    push_service: PushService, tmp_path: Path
) -> None:
    """SIGTERM while an invitation is being pushed to a slow push service: the process
    waits for the answer (``services.PUSH_DRAIN_SECONDS``) before it ends, so the
    invitation is delivered, not cut off."""
    server = ServerProcess(
        {
            "DATABASE_URL": "memory",
            "MEEPLE_PUSH_SERVICES": push_service.origin,
            "MEEPLE_VAPID_KEY_FILE": str(tmp_path / "vapid.pem"),
            "MEEPLE_VAPID_SUBJECT": "mailto:ops@example.com",
        }
    )
    await server.start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            _, auth_a = await session(http, server.http, "Ada")
            _, auth_b = await session(http, server.http, "Bo")
            bo = await http.get(f"{server.http}/api/session", headers=auth_b)
            bo_id = bo.json()["player_id"]
            key = (await http.get(f"{server.http}/api/push/key", headers=auth_b)).json()
            push_service.server_key = key["public_key"]
            phone = push_service.devices["phone"] = Device()
            body = {"endpoint": push_service.origin + "/push/phone", "keys": phone.keys()}
            r = await http.post(f"{server.http}/api/push/subscriptions", json=body, headers=auth_b)
            assert r.status_code == 201, r.text
            push_service.hold = 0.5
            r = await http.post(
                f"{server.http}/api/rooms", json={"game": "connect4"}, headers=auth_a
            )
            room = r.json()["id"]
            r = await http.post(
                f"{server.http}/api/rooms/{room}/invitations",
                json={"player_id": bo_id},
                headers=auth_a,
            )
            assert r.status_code == 202, r.text
        assert await asyncio.wait_for(push_service.arrived.get(), 10) == "phone"
        await asyncio.to_thread(server.stop)  # SIGTERM, and wait for the process to end
    finally:
        server.kill()
    assert push_service.stayed == [True]
    invited = push_service.received.get_nowait()
    assert (invited["event"], invited["room"]) == ("invited", room)
