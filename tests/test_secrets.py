"""No secret reaches a log (issue 16, item 12): connect tickets stand in for the session
token in URLs, a token in a URL is never read, and ``meeple serve``'s log (ours and
uvicorn's access log) blanks every credential a client puts where it should not."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from meeple.lobby.ops.logs import redact
from meeple.lobby.settings import Settings
from tests.conftest import Peer, of_type, open_peer
from tests.servers import LiveServer, ManualClock, ServerProcess, live_server, metric, until


async def ticket_for(http: str, token: str) -> str:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{http}/api/session/ticket", headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 201, answer.text
    assert set(answer.json()) == {"ticket", "expires_at"}
    ticket: str = answer.json()["ticket"]
    return ticket


async def test_a_ticket_opens_the_websocket_once(server: LiveServer) -> None:
    room = await server.services.rooms.create("tictactoe")
    token, _ = await server.services.sessions.create("Ada")
    ticket = await ticket_for(server.http, token)
    url = f"{server.ws}/ws/rooms/{room.id}?ticket={ticket}"
    peer = Peer(await connect(url, subprotocols=["meeple.v1"]))  # type: ignore[list-item]
    assert (await peer.until(of_type("snap")))["seat"] is None
    again = Peer(await connect(url, subprotocols=["meeple.v1"]))  # type: ignore[list-item]
    code, reason = await again.closed()
    assert code == 4401 and reason and "ticket" in reason


async def test_a_ticket_expires() -> None:
    clock = ManualClock()
    async with live_server(Settings(connect_ticket_seconds=0.2), clock=clock) as srv:
        room = await srv.services.rooms.create("tictactoe")
        token, _ = await srv.services.sessions.create("Ada")
        ticket = await ticket_for(srv.http, token)
        clock.advance(0.4)  # past the ticket's 0.2 s, not past the session's TTL
        url = f"{srv.ws}/ws/rooms/{room.id}?ticket={ticket}"
        peer = Peer(await connect(url, subprotocols=["meeple.v1"]))  # type: ignore[list-item]
        assert (await peer.closed())[0] == 4401


async def test_a_session_token_in_the_url_is_not_read(server: LiveServer) -> None:
    room = await server.services.rooms.create("tictactoe")
    token, _ = await server.services.sessions.create("Ada")
    url = f"{server.ws}/ws/rooms/{room.id}?token={token}"
    peer = Peer(await connect(url, subprotocols=["meeple.v1"]))  # type: ignore[list-item]
    code, reason = await peer.closed()
    assert code == 4401 and reason and "URL" in reason
    async with httpx.AsyncClient() as client:
        events = await client.get(f"{server.http}/api/matchmaking/events", params={"token": token})
    assert events.status_code == 401


async def test_the_sdk_connects_with_tickets(server: LiveServer) -> None:
    from meeple.client.rest import MeepleClient

    async with MeepleClient(server.http) as api:
        await api.create_session("Ada")
        room = await api.create_room("tictactoe")
        issued: list[str] = []
        real = api.connect_ticket

        async def counted() -> str:
            issued.append(await real())
            return issued[-1]

        async with api.connect(room["id"], ticket=counted) as conn:
            await conn.wait_for(lambda c: c.seq is not None, timeout=5)
        assert len(issued) == 1


def test_redact_blanks_credentials() -> None:
    line = (
        '127.0.0.1:5 - "GET /api/matchmaking/events?ticket=abc&token=s3cr3t HTTP/1.1" 401'
        " Authorization: Bearer s3cr3t token.s3cr3t /ws/rooms/r_1?since=3&invite=c0de"
        ' "GET /api/invites/inv1te HTTP/1.1" 404'
    )
    cleaned = redact(line)
    assert "s3cr3t" not in cleaned and "abc" not in cleaned and "c0de" not in cleaned
    assert "inv1te" not in cleaned and "/api/invites/[redacted] HTTP/1.1" in cleaned
    assert "since=3" in cleaned and "/api/matchmaking/events" in cleaned


async def test_no_token_reaches_the_log_of_meeple_serve(tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    server = ServerProcess({}, log_level="info", log_file=log_file)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.http) as client:
            session = (await client.post("/api/sessions", json={"name": "Ada"})).json()
            token = session["token"]
            auth = {"Authorization": f"Bearer {token}"}
            room = (
                await client.post("/api/rooms", json={"game": "tictactoe"}, headers=auth)
            ).json()
            # What clients should not do, but some will: the token in URLs.
            await client.get("/api/matchmaking/events", params={"token": token})
            await client.get(f"/ws/rooms/{room['id']}", params={"token": token})
            ticket = await ticket_for(server.http, token)
            async with client.stream(
                "GET", "/api/matchmaking/events", params={"ticket": ticket}
            ) as stream:
                assert stream.status_code == 200
                await anext(stream.aiter_bytes())
        peer = await open_peer(server.ws, room["id"], token)
        await peer.until(of_type("snap"))
        await peer.ws.close()

        async def closed() -> bool:  # the server saw the close and logged what it logs then
            metrics = (await client.get("/metrics")).text
            return metric(metrics, "meeple_connections") == 0

        async with httpx.AsyncClient(base_url=server.http) as client:
            await until(closed, what="the server seeing the WebSocket close")
    finally:
        server.stop()
    lines = log_file.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(e["logger"] == "uvicorn.access" for e in entries)  # access logs ran
    assert any("/api/matchmaking/events?token=[redacted]" in e["msg"] for e in entries)
    text = log_file.read_text()
    assert token not in text and ticket not in text


@pytest.mark.parametrize("where", ["header", "ticket"])
async def test_the_event_stream_takes_a_header_or_a_ticket(server: LiveServer, where: str) -> None:
    token, _ = await server.services.sessions.create("Ada")
    async with httpx.AsyncClient(base_url=server.http) as client:
        if where == "header":
            request = {"headers": {"Authorization": f"Bearer {token}"}}
        else:
            request = {"params": {"ticket": await ticket_for(server.http, token)}}
        async with client.stream("GET", "/api/matchmaking/events", **request) as stream:  # type: ignore[arg-type]
            assert stream.status_code == 200
