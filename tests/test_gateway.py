"""The room WebSocket against a real uvicorn: handshake checks and every reject path.

Good play is in test_play.py (through the Python client); here clients send what a
broken or hostile client would, and we check that the server answers with a clear
error, keeps the connection where the protocol says so, and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus

from meeple.game.codec import encode
from meeple.game.protocol import MAX_FRAME, client_message, json_schema, server_message
from meeple.lobby.rooms.room import Room
from tests.conftest import MakeSettings, Peer, acked, of_type, open_peer
from tests.servers import LiveServer, ManualClock, live_server, run_out_session

pytestmark = pytest.mark.both_stores
"""On the in-memory stores and on Redis: the two forms users deploy."""


async def two_players(srv: LiveServer, game: str = "tictactoe") -> tuple[Room, Peer, Peer]:
    """A started room with two connected players (seat 0 and seat 1)."""
    services = srv.services
    room = await services.rooms.create(game)
    peers = []
    for name in ("Ada", "Bo"):
        token, session = await services.sessions.create(name)
        room.reserve(session.player_id, name)
        peers.append(await open_peer(srv.ws, room.id, token))
    for peer in peers:
        await peer.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
    return room, peers[0], peers[1]


async def still_up(peer: Peer) -> None:
    await peer.send({"t": "ping", "id": 99})
    assert await peer.until(of_type("pong")) == {"t": "pong", "id": 99}


# Handshake ---------------------------------------------------------------------------


async def test_subprotocol_is_echoed_and_token_in_subprotocol_works(server: LiveServer) -> None:
    _, a, _ = await two_players(server)
    assert a.ws.subprotocol == "meeple.v1"
    snap = next(m for m in a.seen if m["t"] == "snap" and m["st"] == "playing")
    assert snap["seat"] == 0 and snap["v"] == {"b": [-1] * 9} and snap["a"] == [0]
    assert [s["on"] for s in snap["seats"]] == [True, True]


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_missing_or_unknown_token_is_closed_4401(
    server: LiveServer, token: str | None
) -> None:
    room = await server.services.rooms.create("tictactoe")
    peer = await open_peer(server.ws, room.id, token)
    code, reason = await peer.closed()
    assert code == 4401
    assert reason and "token" in reason


async def test_expired_token_is_closed_4401(stores: MakeSettings) -> None:
    clock = ManualClock()
    async with live_server(stores(session_ttl_seconds=2), clock=clock) as srv:
        token, _ = await srv.services.sessions.create("Ada")
        room = await srv.services.rooms.create("tictactoe")
        await run_out_session(srv.services, token, clock)
        code, _ = await (await open_peer(srv.ws, room.id, token)).closed()
        assert code == 4401


async def test_unknown_room_is_closed_4404(server: LiveServer) -> None:
    token, _ = await server.services.sessions.create("Ada")
    code, reason = await (await open_peer(server.ws, "r_nope", token)).closed()
    assert code == 4404 and reason == "no room r_nope"


async def test_private_room_needs_its_invite_to_watch(server: LiveServer) -> None:
    room = await server.services.rooms.create("tictactoe", private=True)
    token, _ = await server.services.sessions.create("Eve")
    code, _ = await (await open_peer(server.ws, room.id, token)).closed()
    assert code == 4403
    watcher = await open_peer(server.ws, room.id, token, invite=room.invite)
    snap = await watcher.until(of_type("snap"))
    assert snap["seat"] is None


async def test_foreign_origin_is_refused_before_accept(server: LiveServer) -> None:
    from websockets.asyncio.client import connect

    room = await server.services.rooms.create("tictactoe")
    token, _ = await server.services.sessions.create("Ada")
    url = f"{server.ws}/ws/rooms/{room.id}"
    auth = {"Authorization": f"Bearer {token}"}
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, origin="https://evil.example", additional_headers=auth)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    for allowed in (f"http://127.0.0.1:{server.port}", "http://localhost:5173"):
        ws = await connect(url, origin=allowed, additional_headers=auth)  # type: ignore[arg-type]
        await ws.close()


async def test_cors_uses_the_same_origins(server: LiveServer) -> None:
    async with httpx.AsyncClient() as client:
        good = await client.get(
            f"{server.http}/healthz", headers={"Origin": "http://localhost:3000"}
        )
        bad = await client.get(f"{server.http}/healthz", headers={"Origin": "https://evil.example"})
    assert good.headers.get("access-control-allow-origin") == "http://localhost:3000"
    assert "access-control-allow-origin" not in bad.headers


# Bad frames keep the connection and change nothing ------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xc1", "bad_frame"),
        (b"\x93\x01\x02", "bad_frame"),  # an array, not a map
        (encode({1: 2}), "bad_frame"),  # a non-string key
        (encode({"t": "dance"}), "unknown_type"),
        (encode({"m": {"cell": 1}}), "unknown_type"),
        (encode({"t": "move", "id": 5, "m": "e4"}), "bad_message"),
        (encode({"t": "move", "id": 5, "m": {"cell": "4"}}), "bad_move"),
        (encode({"t": "move", "id": 5, "m": {"cell": 9}}), "bad_move"),
        (encode({"t": "move", "id": 5, "m": {"cell": 4}, "x": 1}), "bad_message"),
        (encode({"t": "chat", "text": "x" * 501}), "bad_message"),
        (encode({"t": "chat", "text": 7}), "bad_message"),
    ],
)
async def test_bad_messages_get_an_error_and_change_nothing(
    server: LiveServer, frame: bytes, code: str
) -> None:
    room, a, b = await two_players(server)
    before = (room.match.seq, room.match.state, list(room.match.log))
    await a.ws.send(frame)
    err = await a.until(of_type("err"))
    assert err["code"] == code and err["msg"]
    assert (room.match.seq, room.match.state, list(room.match.log)) == before
    await still_up(a)
    assert [m for m in await b.drain() if m["t"] in ("d", "err")] == []


async def test_text_frames_are_refused_but_the_connection_stays(server: LiveServer) -> None:
    _, a, _ = await two_players(server)
    await a.ws.send('{"t": "move"}')
    assert (await a.until(of_type("err")))["code"] == "text_frame"
    await still_up(a)


async def test_out_of_turn_and_taken_cells_go_to_the_mover_alone(server: LiveServer) -> None:
    room, a, b = await two_players(server)
    await b.send({"t": "move", "id": 1, "m": {"cell": 0}})
    err = await b.until(of_type("err"))
    assert err == {"t": "err", "id": 1, "code": "not_your_turn", "msg": "it is not seat 1's turn"}
    await a.send({"t": "move", "id": 2, "m": {"cell": 0}})
    delta = await a.until(of_type("d"))
    assert delta == {"t": "d", "s": 2, "o": [[["b", 0], 0]], "a": [1], "ack": 2}
    assert await b.until(of_type("d")) == {
        "t": "d", "s": 2, "o": [[["b", 0], 0]], "a": [1]
    }  # fmt: skip
    await b.send({"t": "move", "id": 3, "m": {"cell": 0}})
    assert (await b.until(of_type("err")))["code"] == "cell_taken"
    assert [m for m in await a.drain() if m["t"] != "room"] == []
    assert room.match.seq == 2


async def test_oversize_frame_closes_1009(stores: MakeSettings) -> None:
    async with live_server(stores(max_frame=1024)) as srv:
        room, a, b = await two_players(srv)
        await a.ws.send(encode({"t": "chat", "text": "x" * 2000}))
        code, _ = await a.closed()
        assert code == 1009
        await still_up(b)
        assert room.match.seq == 1


async def test_flood_gets_errors_then_1008(stores: MakeSettings) -> None:
    async with live_server(stores(message_rate=5, message_burst=10)) as srv:
        room, a, b = await two_players(srv)
        for i in range(40):
            await a.send({"t": "ping", "id": i})
        code, reason = await a.closed()
        assert code == 1008 and reason == "too many refused messages"
        assert any(m.get("code") == "rate_limited" for m in a.seen)
        await still_up(b)
        assert room.match.seq == 1


async def test_spectators_cannot_play_and_see_the_public_view(server: LiveServer) -> None:
    room, a, _ = await two_players(server)
    token, _ = await server.services.sessions.create("Watcher")
    spectator = await open_peer(server.ws, room.id, token)
    snap = await spectator.until(of_type("snap"))
    assert snap["seat"] is None and snap["v"] == {"b": [-1] * 9}
    presence = await a.until(lambda m: m["t"] == "room" and m["spec"] == 1)
    assert presence["spec"] == 1
    await spectator.send({"t": "move", "id": 1, "m": {"cell": 0}})
    assert (await spectator.until(of_type("err")))["code"] == "not_seated"
    await a.send({"t": "move", "id": 1, "m": {"cell": 8}})
    assert (await spectator.until(of_type("d")))["o"] == [[["b", 8], 0]]


# Chat ---------------------------------------------------------------------------------


async def test_chat_reaches_everyone_stamped_in_utc_and_is_rate_limited(
    server: LiveServer,
) -> None:
    _, a, b = await two_players(server)
    await a.send({"t": "chat", "text": "  good luck ✨ "})
    line = await b.until(of_type("chat"))
    assert line["text"] == "good luck ✨" and line["seat"] == 0 and line["name"] == "Ada"
    assert line["at"].endswith("Z") and "T" in line["at"]
    for _ in range(6):
        await a.send({"t": "chat", "text": "spam"})
    assert (await a.until(of_type("err")))["code"] == "chat_rate_limited"
    await still_up(a)


async def test_chat_history_goes_to_whoever_joins_or_resumes(server: LiveServer) -> None:
    room, a, b = await two_players(server)
    fresh = await open_peer(server.ws, room.id, (await server.services.sessions.create("Cy"))[0])
    await fresh.until(of_type("snap"))
    assert not [m for m in fresh.seen if m["t"] == "chats"], "an empty history is not sent"
    await fresh.ws.close()
    # Lines from both seats (under the rate limit: the room's burst is 5 a member).
    for i in range(4):
        await a.send({"t": "chat", "text": f"a{i}"})
        await b.send({"t": "chat", "text": f"b{i}"})
    for _ in range(8):
        await a.until(of_type("chat"))
    # Someone joining now (a spectator here; the browser test reloads a seat, which
    # resumes) gets the eight lines, oldest first, as one valid ``chats`` message.
    token, _ = await server.services.sessions.create("Dee")
    late = await open_peer(server.ws, room.id, token)
    history = await late.until(of_type("chats"))
    server_message.validate_python(history)
    texts = [line["text"] for line in history["l"]]
    assert sorted(texts) == sorted([f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)])
    assert texts.index("a0") < texts.index("a3") and texts.index("b0") < texts.index("b3")
    assert {line["name"] for line in history["l"]} == {"Ada", "Bo"}
    assert [m["t"] for m in late.seen].index("chats") > [m["t"] for m in late.seen].index("snap")


async def test_chat_history_keeps_the_last_fifty_lines_within_a_frame(
    stores: MakeSettings,
) -> None:
    async with live_server(
        stores(chat_rate=1000, chat_burst=1000, message_rate=1000, message_burst=1000)
    ) as srv:
        room, a, b = await two_players(srv)
        for i in range(60):
            await a.send({"t": "chat", "text": f"{i:03d}" + "✨" * 497})
        for _ in range(60):
            await b.until(of_type("chat"))
        await b.ws.close()
        token, _ = await srv.services.sessions.create("Eve")
        late = await open_peer(srv.ws, room.id, token)
        history = await late.until(of_type("chats"))
        texts = [line["text"][:3] for line in history["l"]]
        # 50 lines of 500 three-byte characters pass 64 KiB: the newest that fit, in order.
        assert 0 < len(texts) < 50 and texts[-1] == "059"
        assert texts == [f"{i:03d}" for i in range(60 - len(texts), 60)]
        assert len(encode(history)) <= MAX_FRAME
        for i in range(60, 120):
            await a.send({"t": "chat", "text": f"{i:03d}"})
        for _ in range(60):
            await late.until(of_type("chat"))
        await late.ws.close()
        again = await open_peer(srv.ws, room.id, token)
        history = await again.until(of_type("chats"))
        assert [line["text"] for line in history["l"]] == [f"{i:03d}" for i in range(70, 120)]


# Sequence numbers ---------------------------------------------------------------------


async def test_sync_returns_a_snapshot_at_the_current_sequence(server: LiveServer) -> None:
    _, a, b = await two_players(server)
    await a.send({"t": "move", "id": 1, "m": {"cell": 4}})
    await b.until(of_type("d"))
    await b.send({"t": "sync", "id": 2})
    snap = await b.until(of_type("snap"))
    assert snap["s"] == 2 and snap["v"]["b"][4] == 0 and snap["a"] == [1]
    assert snap["lo"] == [[["b", 4], 0]]  # the change that made the view: the last move


# The machine-readable protocol --------------------------------------------------------


async def test_protocol_schema_is_served_and_matches_the_models(server: LiveServer) -> None:
    async with httpx.AsyncClient() as client:
        served = (await client.get(f"{server.http}/api/protocol.json")).json()
    assert served.pop("problem_codes")  # the REST API's, beside the socket's (test_codes.py)
    assert served == json.loads(json.dumps(json_schema()))
    assert served["client_to_server"] == client_message.json_schema()
    assert served["server_to_client"] == server_message.json_schema()
    assert "session token" in served["close_codes"]["4401"]


async def test_everything_the_server_sends_fits_the_models(server: LiveServer) -> None:
    _, a, b = await two_players(server)
    await a.send({"t": "chat", "text": "hi"})
    for cell, peer in ((0, a), (3, b), (1, a), (4, b), (2, a)):
        await peer.send({"t": "move", "id": cell, "m": {"cell": cell}})
        await peer.until(acked())
    await b.send({"t": "move", "id": 9, "m": {"cell": 8}})
    await b.until(of_type("err"))
    await a.send({"t": "ping", "id": 1})
    await a.until(of_type("pong"))
    seen = a.seen + b.seen + await a.drain() + await b.drain()
    kinds = {m["t"] for m in seen}
    assert kinds >= {"room", "snap", "d", "err", "chat", "pong"}
    for message in seen:
        server_message.validate_python(message)
    final = [m for m in seen if m["t"] == "d" and m.get("st") == "finished"]
    assert final and final[0]["r"]["winners"] == [0]


# Hostile bytes ------------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(frames=st.lists(st.binary(min_size=0, max_size=256), min_size=1, max_size=8))
async def test_random_bytes_never_crash_nor_disturb_another_room(
    server: LiveServer, frames: list[bytes]
) -> None:
    _, a, b = await two_players(server)
    other, c, _ = await two_players(server)
    for frame in frames:
        await a.ws.send(frame)
    await c.send({"t": "move", "id": 1, "m": {"cell": 4}})
    assert (await c.until(acked()))["s"] == other.match.seq
    errors: list[dict[str, Any]] = [m for m in await a.drain(0.1) if m["t"] == "err"]
    assert all(e["code"] for e in errors)
    await still_up(a)
    for peer in (a, b, c):
        await peer.ws.close()


# Resigning and leaving ------------------------------------------------------------------


async def test_resign_ends_the_game_for_everyone(server: LiveServer) -> None:
    room, a, b = await two_players(server)
    await b.send({"t": "resign", "id": 3})
    end = await a.until(lambda m: m["t"] == "d" and m.get("st") == "finished")
    assert end["r"]["winners"] == [0] and end["r"]["reason"] == "resigned"
    assert await b.saw(acked(3))
    await a.send({"t": "move", "id": 4, "m": {"cell": 0}})
    assert (await a.until(of_type("err")))["code"] == "game_over"
    assert room.match.status == "finished"


async def test_leave_during_a_game_forfeits_and_closes_1000(server: LiveServer) -> None:
    room, a, b = await two_players(server)
    await a.send({"t": "leave", "id": 1})
    code, reason = await a.closed()
    assert (code, reason) == (1000, "left the room")
    end = await b.until(lambda m: m["t"] == "d" and m.get("st") == "finished")
    assert end["r"]["winners"] == [1] and end["r"]["reason"] == "left"
    assert room.match.seats[0].player_id is not None  # the finished game keeps its seats


async def test_leave_before_the_game_frees_the_seat(server: LiveServer) -> None:
    room = await server.services.rooms.create("tictactoe")
    token, session = await server.services.sessions.create("Ada")
    room.reserve(session.player_id, "Ada")
    a = await open_peer(server.ws, room.id, token)
    await a.until(of_type("snap"))
    await a.send({"t": "leave"})
    code, _ = await a.closed()
    assert code == 1000
    assert room.match.free_seats() == [0, 1] and room.match.status == "waiting"


async def test_asking_again_for_a_seat_names_the_same_lapse(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A player who asks again for their reserved seat (POST /api/rooms with join does,
    right after making the room) is told when that reservation lapses, not a later time
    its timer does not keep."""
    room = await server.services.rooms.create("tictactoe")
    _, session = await server.services.sessions.create("Ada")
    seat, lapses = room.reserve(session.player_id, "Ada")
    monkeypatch.setattr(Room, "_reservation_seconds", lambda self: 1_000.0)
    again, lapses_again = room.reserve(session.player_id, "Ada")
    assert again == seat and abs(lapses_again - lapses) < 1


async def test_rematch_starts_a_new_game_when_both_vote(server: LiveServer) -> None:
    room, a, b = await two_players(server)
    await b.send({"t": "resign"})
    await a.until(lambda m: m["t"] == "d" and m.get("st") == "finished")
    await a.send({"t": "rematch", "id": 1})
    votes = await b.until(lambda m: m["t"] == "room" and m["rematch"] == [0])
    assert votes["st"] == "finished"
    await b.send({"t": "rematch", "id": 2})
    fresh = await a.until(lambda m: m["t"] == "snap" and m["st"] == "playing")
    assert fresh["v"] == {"b": [-1] * 9} and fresh["s"] == room.match.seq
    assert room.match.game_no == 1
