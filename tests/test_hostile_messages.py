"""Messages a broken or hostile client sends, and answers the docs promise (issue 16,
item 8): odd types for ``t``, keys that are not strings, ``leave`` with an id, the
``room`` message at a game's end, names in every script, and logs that never carry
what a client sent."""

from __future__ import annotations

import logging

import httpx
import pytest

from meeple.game.codec import encode
from meeple.lobby.edge.gateway import RoomSocket
from tests.conftest import of_type, open_peer
from tests.servers import LiveServer
from tests.test_gateway import still_up, two_players


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("kind", [["move"], {"a": 1}, 7, None, b"ping"])
async def test_a_t_that_is_no_string_is_unknown_type(
    server: LiveServer, kind: object, caplog: pytest.LogCaptureFixture
) -> None:
    room, a, _ = await two_players(server)
    seq = room.match.seq
    await a.ws.send(encode({"t": kind, "id": 3}))
    err = await a.until(of_type("err"))
    assert err["code"] == "unknown_type" and err["id"] == 3
    await still_up(a)
    assert room.match.seq == seq and errors(caplog) == []


async def test_a_key_that_is_no_string_is_a_bad_frame(server: LiveServer) -> None:
    _, a, _ = await two_players(server)
    await a.ws.send(encode({b"t": "ping", b"id": 1}))
    err = await a.until(of_type("err"))
    assert err["code"] == "bad_frame" and err["id"] is None
    await still_up(a)


@pytest.mark.server_errors("the room broke")
async def test_hostile_input_is_logged_by_size_and_kind_only(
    server: LiveServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    room, a, _ = await two_players(server)

    def broken(conn: object, message: object) -> None:
        raise RuntimeError("the room broke")

    monkeypatch.setattr(room, "handle", broken)  # the socket took room.handle on connect
    for sock in [s for slot in server.services.heartbeat._slots for s in slot]:
        assert isinstance(sock, RoomSocket)
        if sock.conn is not None and sock.conn.seat == 0:
            sock._handle = broken
    secret = "s3cr3t-" * 50
    await a.send({"t": "chat", "text": secret})
    assert (await a.until(of_type("err")))["code"] == "internal"
    [record] = errors(caplog)
    text = record.getMessage() + str(record.__dict__)
    assert secret[:20] not in text
    assert "chat message" in record.getMessage() and "bytes" in record.getMessage()


async def test_leave_during_a_game_echoes_its_id_in_the_forfeit(server: LiveServer) -> None:
    _, a, b = await two_players(server)
    await a.send({"t": "leave", "id": 41})
    end = await a.until(of_type("d"))
    assert end["ack"] == 41 and end["st"] == "finished" and end["r"]["reason"] == "left"
    assert await a.closed() == (1000, "left the room")
    assert "ack" not in await b.until(of_type("d"))


async def test_leave_before_a_game_is_acked(server: LiveServer) -> None:
    room = await server.services.rooms.create("tictactoe")
    token, session = await server.services.sessions.create("Ada")
    room.reserve(session.player_id, "Ada")
    a = await open_peer(server.ws, room.id, token)
    await a.until(of_type("snap"))
    await a.send({"t": "leave", "id": 5})
    assert await a.until(of_type("ack")) == {"t": "ack", "id": 5, "s": room.match.seq}
    assert (await a.closed())[0] == 1000


async def test_a_room_message_tells_everyone_the_game_finished(server: LiveServer) -> None:
    _, a, b = await two_players(server)
    await b.send({"t": "resign", "id": 1})
    for peer in (a, b):
        await peer.until(lambda m: m["t"] == "d" and m.get("st") == "finished")
        update = await peer.until(of_type("room"), timeout=2)
        assert update["st"] == "finished"


@pytest.mark.parametrize(
    "name",
    ["👩\u200d💻", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "क्\u200dष", "Zoë"],
)
async def test_names_with_joiners_are_accepted(server: LiveServer, name: str) -> None:
    async with httpx.AsyncClient() as client:
        made = await client.post(f"{server.http}/api/sessions", json={"name": name})
    assert made.status_code == 201 and made.json()["name"] == name


@pytest.mark.parametrize("name", ["evil\u202egnp", "tab\there", "nul\x00"])
async def test_other_invisible_characters_are_refused(server: LiveServer, name: str) -> None:
    async with httpx.AsyncClient() as client:
        made = await client.post(f"{server.http}/api/sessions", json={"name": name})
    assert made.status_code == 422
