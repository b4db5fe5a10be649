"""HTTP answers a client relies on (issue 16, item 10): a 500 is a problem detail and the
keep-alive connection stays open for the next request."""

from __future__ import annotations

import asyncio

import pytest

from tests.servers import LiveServer


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await asyncio.wait_for(reader.readexactly(length), 5)


@pytest.mark.server_errors("the store broke")
async def test_a_500_keeps_the_connection_for_the_next_request(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(name: str) -> None:
        raise RuntimeError("the store broke")

    monkeypatch.setattr(server.services.sessions, "create", broken)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    body = b'{"name": "Ada"}'
    writer.write(
        b"POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Origin: http://localhost:3000\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    head, problem = await read_response(reader)
    assert head.startswith(b"HTTP/1.1 500")
    assert b"application/problem+json" in head and b'"code":"internal"' in problem
    assert b"access-control-allow-origin: http://localhost:3000" in head.lower()
    writer.write(b"GET /api/games HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _ = await read_response(reader)
    assert head.startswith(b"HTTP/1.1 200")
    writer.close()
