"""Accounts over REST, as a client sees them: sign-up, log-in, log-out, log-out
everywhere, a guest keeping its player id, one generic log-in failure, and the
slow-down after repeated failures."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from redis.asyncio import Redis

from meeple.client.errors import ApiError
from meeple.client.rest import MeepleClient
from meeple.lobby.players.accounts import FREE_FAILURES
from meeple.lobby.settings import Settings
from tests.conftest import REDIS_URL, of_type, open_peer, services_of
from tests.servers import live_server, until

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(client: httpx.AsyncClient, username: str, **more: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/accounts", json={"username": username, "password": PASSWORD, **more}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def delete_me(
    client: httpx.AsyncClient, token: str, password: str | None = PASSWORD
) -> httpx.Response:
    """DELETE /api/me as the browser and the SDK send it: the password in a JSON body."""
    body = None if password is None else {"password": password}
    return await client.request("DELETE", "/api/me", json=body, headers=bearer(token))


async def test_sign_up_gives_a_session_and_the_password_is_kept_as_argon2id(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    ada = await sign_up(client, "Ada", display_name="Countess Ada")
    assert ada["username"] == "Ada" and ada["name"] == "Countess Ada" and ada["bot"] is False
    me = (await client.get("/api/session", headers=bearer(ada["token"]))).json()
    assert me["player_id"] == ada["player_id"] and me["name"] == "Countess Ada"
    stored = await services_of(app).accounts.store.get(ada["player_id"])
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


async def test_usernames_are_unique_in_any_case_or_unicode_form(client: httpx.AsyncClient) -> None:
    await sign_up(client, "Ada")
    for other in ("ada", "ADA", "\uff21\uff44\uff41"):  # the last: full-width "Ada"
        response = await client.post(
            "/api/accounts", json={"username": other, "password": PASSWORD}
        )
        assert response.status_code == 409 and response.json()["code"] == "username_taken"
    login = await client.post("/api/login", json={"username": "aDA", "password": PASSWORD})
    assert login.status_code == 200


async def test_passwords_are_8_to_128_characters_of_any_kind(client: httpx.AsyncClient) -> None:
    for password, status in [("a" * 7, 422), ("a" * 129, 422), ("a" * 8, 201), ("é" * 128, 201)]:
        name = f"user{len(password)}{status}"
        response = await client.post("/api/accounts", json={"username": name, "password": password})
        assert response.status_code == status, (password, response.text)
        if status == 422:  # the OpenAPI document says 8 to 128: a validation error
            assert response.json()["code"] == "validation_error"
    bad = await client.post("/api/accounts", json={"username": "a b", "password": PASSWORD})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_username"


async def test_a_password_is_the_same_however_its_accents_are_typed(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """SP 800-63B: passwords are compared in NFKC. "Crème brûlée" typed with composed
    letters (most keyboards) and with a letter and a combining accent (some phones and
    Macs) is one password; a hash made of the password as typed, before this was so,
    still logs in and is made again in NFKC."""
    composed = unicodedata.normalize("NFC", "Crème brûlée 42")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    await client.post("/api/accounts", json={"username": "ada", "password": composed})
    login = await client.post("/api/login", json={"username": "ada", "password": decomposed})
    assert login.status_code == 200, login.text

    store = services_of(app).accounts.store
    old_hash = PasswordHasher().hash(decomposed)  # as sign-up hashed it before
    made = await sign_up(client, "bob")
    bo = await store.get(made["player_id"])
    assert bo is not None
    await store.update(replace(bo, password_hash=old_hash))
    again = await client.post("/api/login", json={"username": "bob", "password": decomposed})
    assert again.status_code == 200, again.text
    rehashed = await store.get(made["player_id"])
    assert rehashed is not None and rehashed.password_hash != old_hash
    assert PasswordHasher().verify(str(rehashed.password_hash), composed)
    other = await client.post("/api/login", json={"username": "bob", "password": composed})
    assert other.status_code == 200, other.text


async def test_a_failed_log_in_says_only_that_it_failed(client: httpx.AsyncClient) -> None:
    await sign_up(client, "Ada")
    wrong = await client.post("/api/login", json={"username": "Ada", "password": "x" * 10})
    unknown = await client.post("/api/login", json={"username": "Nobody", "password": "x" * 10})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "login_failed"


async def test_a_guest_signing_up_keeps_its_player_id_and_gets_a_new_token(
    client: httpx.AsyncClient,
) -> None:
    guest = (await client.post("/api/sessions", json={"name": "Bo"})).json()
    bo = (
        await client.post(
            "/api/accounts",
            json={"username": "bobo", "password": PASSWORD},
            headers=bearer(guest["token"]),
        )
    ).json()
    assert bo["player_id"] == guest["player_id"] and bo["name"] == "Bo"
    assert bo["token"] != guest["token"]
    assert (await client.get("/api/session", headers=bearer(bo["token"]))).status_code == 200
    again = await client.post(
        "/api/accounts",
        json={"username": "bobo2", "password": PASSWORD},
        headers=bearer(bo["token"]),
    )
    assert again.status_code == 409 and again.json()["code"] == "already_registered"
    login = (
        await client.post("/api/login", json={"username": "bobo", "password": PASSWORD})
    ).json()
    assert login["player_id"] == guest["player_id"]


async def test_log_out_and_log_out_everywhere(client: httpx.AsyncClient) -> None:
    await sign_up(client, "Ada")
    tokens = []
    for _ in range(3):
        response = await client.post("/api/login", json={"username": "ada", "password": PASSWORD})
        tokens.append(response.json()["token"])
    assert (await client.post("/api/logout", headers=bearer(tokens[0]))).status_code == 204
    assert (await client.get("/api/session", headers=bearer(tokens[0]))).status_code == 401
    assert (await client.get("/api/session", headers=bearer(tokens[1]))).status_code == 200
    everywhere = await client.post("/api/logout/everywhere", headers=bearer(tokens[1]))
    assert everywhere.status_code == 204
    for token in tokens:
        assert (await client.get("/api/session", headers=bearer(token))).status_code == 401
    assert (await client.post("/api/logout", headers=bearer(tokens[2]))).status_code == 401


async def test_repeated_failures_slow_an_account_down(client: httpx.AsyncClient) -> None:
    await sign_up(client, "Ada")
    for _ in range(FREE_FAILURES):
        response = await client.post("/api/login", json={"username": "ada", "password": "n" * 9})
        assert response.status_code == 401
    # Now even the right password must wait, and the answer says how long.
    blocked = await client.post("/api/login", json={"username": "ADA", "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"
    assert int(blocked.headers["Retry-After"]) >= 1
    # Another account from the same address is not held up by Ada's failures.
    await sign_up(client, "Bobo")
    ok = await client.post("/api/login", json={"username": "bobo", "password": PASSWORD})
    assert ok.status_code == 200


async def test_bot_accounts_are_marked(client: httpx.AsyncClient) -> None:
    bot = await sign_up(client, "robo", bot=True)
    assert bot["bot"] is True
    login = (
        await client.post("/api/login", json={"username": "robo", "password": PASSWORD})
    ).json()
    assert login["bot"] is True


async def finish_a_game(app: FastAPI, winner: dict[str, Any], loser: dict[str, Any]) -> None:
    """A finished rated game between two players, as the room's game-over hooks see it."""
    services = services_of(app)
    seats = [
        {"kind": "human", "player_id": p["player_id"], "name": p["name"]} for p in (winner, loser)
    ]
    record = {
        "id": f"r_{winner['player_id']}-0",
        "room": f"r_{winner['player_id']}",
        "game": "tictactoe",
        "game_no": 0,
        "options": {},
        "seed": "s",
        "seat_count": 2,
        "seats": seats,
        "outcome": {"winners": [0], "draw": False, "returns": [1.0, -1.0], "reason": "win"},
        "log": [],
        "finished_at": 1_700_000_000.0,
        "private": False,
        "invite": None,
        "creator": winner["player_id"],
    }
    for hook in services.rooms.game_over_hooks:
        await hook(record)
    assert await services.record(record["id"]) is not None  # waits for its batch


async def test_a_profile_has_the_name_and_a_rating_per_game(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """GET /api/players/{id}: what a profile page shows, for anyone to read."""
    ada = await sign_up(client, "Ada")
    guest = (await client.post("/api/sessions", json={"name": "Gil"})).json()
    await finish_a_game(app, ada, guest)
    reader = bearer(guest["token"])
    profile = (await client.get(f"/api/players/{ada['player_id']}", headers=reader)).json()
    assert (profile["name"], profile["account"], profile["bot"]) == ("Ada", True, False)
    [rating] = profile["ratings"]
    assert rating["game"] == "tictactoe" and rating["games"] == 1 and rating["rating"] > 1500
    gil = (await client.get(f"/api/players/{guest['player_id']}", headers=reader)).json()
    assert (gil["name"], gil["account"]) == ("Gil", False)
    assert gil["ratings"][0]["rating"] < 1500
    nobody = (await client.get("/api/players/p_nobody", headers=reader)).json()
    assert nobody == {
        "player_id": "p_nobody", "name": None, "account": False, "bot": False, "ratings": []
    }  # fmt: skip
    assert (await client.get(f"/api/players/{ada['player_id']}")).status_code == 401
    assert (await delete_me(client, ada["token"])).status_code == 204
    gone = (await client.get(f"/api/players/{ada['player_id']}", headers=reader)).json()
    assert (gone["name"], gone["account"]) == ("deleted player", False)


async def test_export_holds_everything_and_deletion_anonymises(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    ada = await sign_up(client, "Ada")
    bo = await sign_up(client, "Bobo")
    await finish_a_game(app, ada, bo)
    # A room Ada sits in (once "my games" lists it), an invitation from Bo, a browser of
    # Ada's subscribed to pushes (no push is sent: these tests do not reach the Internet).
    game = {"game": "tictactoe"}
    mine = (await client.post("/api/rooms", json=game, headers=bearer(ada["token"]))).json()

    async def listed() -> Any:
        return (await client.get("/api/me/games", headers=bearer(ada["token"]))).json()["items"]

    await until(listed, what="Ada's room in her games")
    bos = (await client.post("/api/rooms", json=game, headers=bearer(bo["token"]))).json()
    invitations = services_of(app).invitations
    await invitations.add(  # as POST /api/rooms/{id}/invitations keeps it (without its push)
        ada["player_id"],
        {"room": bos["id"], "game": "tictactoe", "from": {"player_id": bo["player_id"],
         "name": "Bobo"}, "at": 1.0, "private": False, "invite": None, "expires_at": 2e9},
    )  # fmt: skip
    pushes = services_of(app).push_subscriptions
    phone = {"endpoint": "https://fcm.googleapis.com/fcm/send/ada-phone",
             "keys": {"p256dh": "BPhoneKey", "auth": "phone-secret"}}  # fmt: skip
    await pushes.add(ada["player_id"], phone)
    export = (await client.get("/api/me/export", headers=bearer(ada["token"]))).json()
    assert export["player_id"] == ada["player_id"]
    assert export["account"]["username"] == "Ada" and "password" not in str(export)
    assert export["ratings"]["tictactoe"]["games"] == 1
    assert [g["id"] for g in export["games"]] == [f"r_{ada['player_id']}-0"]
    assert export["rooms"] == [
        {"room": mine["id"], "game": "tictactoe", "status": "waiting", "seat": 0}
    ]
    assert [(i["room"], i["from"]["name"]) for i in export["invitations"]] == [(bos["id"], "Bobo")]
    assert export["push_subscriptions"] == [{"endpoint": phone["endpoint"]}]
    assert "phone-secret" not in str(export)  # a subscription's keys are not handed out

    assert (await delete_me(client, ada["token"])).status_code == 204
    assert await pushes.of(ada["player_id"]) == []  # nothing is pushed to a deleted player
    assert await invitations.of(ada["player_id"]) == []
    assert (await client.get("/api/session", headers=bearer(ada["token"]))).status_code == 401
    login = await client.post("/api/login", json={"username": "ada", "password": PASSWORD})
    assert login.status_code == 401
    games = (
        await client.get(f"/api/players/{bo['player_id']}/games", headers=bearer(bo["token"]))
    ).json()
    names = [s["name"] for s in games["items"][0]["seats"]]
    assert names == ["deleted player", "Bobo"]
    board = (await client.get("/api/leaderboards/tictactoe", headers=bearer(bo["token"]))).json()
    assert [r["name"] for r in board["items"]] == ["deleted player", "Bobo"]
    assert "Ada" not in str(await services_of(app).accounts.store.get(ada["player_id"]))
    guest = (await client.post("/api/sessions", json={"name": "G"})).json()
    no = await delete_me(client, guest["token"], None)
    assert no.status_code == 404 and no.json()["code"] == "no_account"


async def test_deleting_an_account_takes_its_password(client: httpx.AsyncClient) -> None:
    """A session alone (a computer left logged in) does not delete an account: without
    the password, or with a wrong one, it is a 403 that says so and the account is kept,
    sessions and all; wrong ones slow the account down as failed log-ins do; the right
    one deletes it."""
    ada = await sign_up(client, "Ada")
    missing = await delete_me(client, ada["token"], None)
    assert missing.status_code == 403 and missing.json()["code"] == "password_required"
    empty = await client.request("DELETE", "/api/me", json={}, headers=bearer(ada["token"]))
    assert empty.status_code == 403 and empty.json()["code"] == "password_required"
    codes = [
        (await delete_me(client, ada["token"], "not it at all")).json()["code"]
        for _ in range(FREE_FAILURES + 1)
    ]
    assert codes == ["wrong_password"] * FREE_FAILURES + ["too_many_attempts"]
    held = await delete_me(client, ada["token"])  # even the right one waits now
    assert held.status_code == 429 and int(held.headers["Retry-After"]) >= 1
    me = await client.get("/api/session", headers=bearer(ada["token"]))
    assert me.status_code == 200 and me.json()["name"] == "Ada"  # kept, still logged in
    profile = await client.get(f"/api/players/{ada['player_id']}", headers=bearer(ada["token"]))
    assert (profile.json()["name"], profile.json()["account"]) == ("Ada", True)

    bo = await sign_up(client, "Bobo")
    assert (await delete_me(client, bo["token"], "wrong password")).status_code == 403
    assert (await delete_me(client, bo["token"])).status_code == 204
    assert (await client.get("/api/session", headers=bearer(bo["token"]))).status_code == 401
    login = await client.post("/api/login", json={"username": "bobo", "password": PASSWORD})
    assert login.status_code == 401 and login.json()["code"] == "login_failed"


async def test_the_sdk_deletes_an_account_given_its_password() -> None:
    async with live_server(Settings()) as srv, MeepleClient(srv.http) as ada:
        made = await ada.register("ada", PASSWORD, "Ada")
        with pytest.raises(ApiError) as wrong:
            await ada.delete_account("not the password")
        assert (wrong.value.status, wrong.value.code) == (403, "wrong_password")
        assert (await ada.session())["player_id"] == made["player_id"]
        await ada.delete_account(PASSWORD)
        assert ada.token is None
        async with MeepleClient(srv.http) as again:
            with pytest.raises(ApiError) as gone:
                await again.login("ada", PASSWORD)
            assert gone.value.code == "login_failed"


@pytest.mark.redis
async def test_the_slow_down_holds_across_processes(redis_prefix: str, tmp_path: Path) -> None:
    """Two processes on one Redis and one database: failures on one slow the account down
    on the other too (each process counted its own before)."""
    settings = Settings(
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}",
    )
    async with (
        live_server(settings) as one,
        live_server(settings) as two,
        httpx.AsyncClient(base_url=one.http) as first,
        httpx.AsyncClient(base_url=two.http) as second,
    ):
        await sign_up(first, "Ada")
        for _ in range(FREE_FAILURES):
            wrong = {"username": "ada", "password": "n" * 9}
            assert (await first.post("/api/login", json=wrong)).status_code == 401
        right = {"username": "ada", "password": PASSWORD}
        blocked = await second.post("/api/login", json=right)
        assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"


@pytest.mark.redis
async def test_sessions_in_redis_outlive_a_restart_and_an_upgrade(
    redis_prefix: str, tmp_path: Path
) -> None:
    """A server on Redis keeps its sessions there, in the one form they have had since the
    first release: a hash at ``<prefix>session:<the token's SHA-256, hex>`` holding
    ``player_id`` and ``name`` (an account's also ``account``, and its player's set
    ``<prefix>player:<id>:sessions`` for logging out everywhere). So an upgrade needs no
    migration: a session as the first release wrote it (by hand here, no ``account``)
    is still good on a new server, and so is an account's from before its restart."""
    settings = Settings(
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'meeple.db'}",
    )
    old_token = "a-token-of-the-first-release"
    raw = Redis.from_url(REDIS_URL)
    try:
        key = f"{redis_prefix}session:{hashlib.sha256(old_token.encode()).hexdigest()}"
        await raw.hset(key, mapping={"player_id": "p_0ld", "name": "Olde"})
        await raw.pexpire(key, 3_600_000)
        async with live_server(settings) as first, httpx.AsyncClient(base_url=first.http) as c:
            ada = await sign_up(c, "Ada")
        async with live_server(settings) as again, httpx.AsyncClient(base_url=again.http) as c:
            old = await c.get("/api/session", headers=bearer(old_token))
            assert old.status_code == 200, old.text
            assert (old.json()["player_id"], old.json()["name"]) == ("p_0ld", "Olde")
            mine = await c.get("/api/session", headers=bearer(ada["token"]))
            assert mine.status_code == 200 and mine.json()["player_id"] == ada["player_id"]
            out = await c.post("/api/logout/everywhere", headers=bearer(ada["token"]))
            assert out.status_code == 204, out.text
            gone = await c.get("/api/session", headers=bearer(ada["token"]))
            assert gone.status_code == 401
    finally:
        await raw.aclose()


async def test_changing_the_password_logs_out_every_other_device() -> None:
    """Through the SDK on a real server: the laptop changes the password; the phone,
    logged in with the old one, is logged out; the old password no longer logs in, the
    new one does; a wrong password now is refused and slows the account down as failed
    log-ins do; a guest has none to change."""
    async with (
        live_server(Settings()) as srv,
        MeepleClient(srv.http, max_retries=0) as laptop,  # a 429 is answered, not waited out
        MeepleClient(srv.http) as phone,
    ):
        made = await laptop.register("ada", PASSWORD, "Ada")
        await phone.login("ada", PASSWORD)
        before = laptop.token
        changed = await laptop.change_password(PASSWORD, "a much longer passphrase")
        assert changed["player_id"] == made["player_id"] and laptop.token != before
        assert (await laptop.session())["player_id"] == made["player_id"]
        for dead in (phone, MeepleClient(srv.http, before)):
            with pytest.raises(ApiError) as out:
                await dead.session()
            assert out.value.status == 401
        async with MeepleClient(srv.http) as again:
            with pytest.raises(ApiError) as old:
                await again.login("ada", PASSWORD)
            assert old.value.code == "login_failed"
            await again.login("ada", "a much longer passphrase")
        codes = []
        for _ in range(FREE_FAILURES + 1):
            with pytest.raises(ApiError) as wrong:
                await laptop.change_password("not it at all", "another passphrase")
            codes.append(wrong.value.code)
        assert codes == ["wrong_password"] * FREE_FAILURES + ["too_many_attempts"]
        assert (await laptop.session())["player_id"] == made["player_id"]  # still logged in
        async with MeepleClient(srv.http) as guest:
            await guest.create_session("Gus")
            with pytest.raises(ApiError) as none:
                await guest.change_password(PASSWORD, "another passphrase")
            assert (none.value.status, none.value.code) == (404, "no_account")


@pytest.mark.both_stores
async def test_a_guests_old_token_is_refused_once_it_signed_up(
    stores: Callable[..., Settings],
) -> None:
    """A guest who signs up gets the account's session in the answer, and the guest's own
    token ends there, in memory as on Redis: it is refused (401, saying why) everywhere a
    token goes, the REST API, connect tickets and the room WebSocket, rather than going on
    as a second session under the guest's old name ("Bo" beside the account's "Robert")
    or handing the account to whoever else held it."""
    async with live_server(stores()) as srv, httpx.AsyncClient(base_url=srv.http) as c:
        guest = (await c.post("/api/sessions", json={"name": "Bo"})).json()
        room = (await c.post("/api/rooms", json={"game": "tictactoe"},
                             headers=bearer(guest["token"]))).json()  # fmt: skip
        made = await c.post(
            "/api/accounts",
            json={"username": "robert", "password": PASSWORD, "display_name": "Robert"},
            headers=bearer(guest["token"]),
        )
        assert made.status_code == 201, made.text
        account = made.json()
        assert (account["player_id"], account["name"]) == (guest["player_id"], "Robert")
        me = (await c.get("/api/session", headers=bearer(account["token"]))).json()
        assert (me["player_id"], me["name"]) == (guest["player_id"], "Robert")
        for method, path in [
            ("GET", "/api/session"),
            ("POST", "/api/session/ticket"),
            ("GET", f"/api/rooms/{room['id']}"),
        ]:
            old = await c.request(method, path, headers=bearer(guest["token"]))
            assert old.status_code == 401, (path, old.text)
            assert old.json()["code"] == "unauthorized" and "signed up" in old.json()["detail"]
        again = await c.post(
            "/api/accounts",
            json={"username": "robert2", "password": PASSWORD},
            headers=bearer(guest["token"]),
        )
        assert again.status_code == 401 and again.json()["code"] == "unauthorized"
        code, _ = await (await open_peer(srv.ws, room["id"], guest["token"])).closed()
        assert code == 4401
        mine = await open_peer(srv.ws, room["id"], account["token"])
        snap = await mine.until(of_type("snap"))
        assert snap["seat"] == 0  # the guest's seat is the account's
