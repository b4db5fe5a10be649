"""The REST half of the protocol: sessions, the catalog, rooms, quick-match, ratings.

``MeepleClient`` wraps one ``httpx.AsyncClient`` and one session token. Answers are
returned as the JSON the server sent (documented in docs/protocol.md); problems
become ``ApiError`` with the problem's stable ``code``. Rate-limited calls (429)
are retried after ``Retry-After``, since every well-behaved client has to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, NotRequired, TypedDict
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from meeple.client.connection import RoomConnection
from meeple.client.errors import ApiError, MatchmakingError

log = logging.getLogger("meeple.client")

MAX_RETRY_AFTER = 30.0
"""Longest wait for a 429's ``Retry-After`` before giving up instead."""


class Session(TypedDict):
    token: str
    player_id: str
    name: str
    expires_at: str


class Reservation(TypedDict):
    """A seat held for us until we connect to ``ws``."""

    room: str
    seat: int
    expires_at: str
    ws: str


class Ticket(TypedDict):
    id: str
    status: str
    """"waiting", "matched", or how it ended otherwise ("cancelled", "expired")."""
    expires_at: NotRequired[str]
    room: NotRequired[str]
    seat: NotRequired[int]
    ws: NotRequired[str]


class Matched(TypedDict):
    """Where a quick-match ticket put us."""

    ticket: str
    room: str
    seat: int
    ws: NotRequired[str]


class _StreamEnded(Exception):
    """The event stream closed before our match came."""


class MeepleClient:
    """REST calls for one player, and ``connect`` for their room WebSockets."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.player_id: str | None = None
        self.name: str | None = None
        self.max_retries = max_retries
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> MeepleClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Plumbing -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """One call: the decoded JSON answer (None if empty), or ``ApiError``."""
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        for attempt in range(self.max_retries + 1):
            response = await self._http.request(
                method, path, json=json, params=params, headers=self._headers()
            )
            if response.status_code == 429 and attempt < self.max_retries:
                wait = _retry_after(response)
                if wait is not None and wait <= MAX_RETRY_AFTER:
                    log.info("rate limited on %s %s; retrying in %.1f s", method, path, wait)
                    await asyncio.sleep(wait)
                    continue
            if response.is_error:
                raise _problem(response)
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # pragma: no cover

    def ws_url(self, path: str) -> str:
        """A WebSocket URL for ``path`` (or a full ws:// URL) on this server."""
        if path.startswith(("ws://", "wss://")):
            return path
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, "", ""))

    # Sessions and catalog -------------------------------------------------------

    async def create_session(self, name: str) -> Session:
        """A guest session; its token is used for every later call."""
        session: Session = await self.request("POST", "/api/sessions", json={"name": name})
        self.token = session["token"]
        self.player_id = session["player_id"]
        self.name = session["name"]
        return session

    async def register(
        self,
        username: str,
        password: str,
        display_name: str | None = None,
        *,
        bot: bool = False,
    ) -> dict[str, Any]:
        """Sign up. Called as a guest (after ``create_session``), the guest becomes the
        account and keeps its player id, ratings and history. Logs in as the account
        (the guest's token ends: this client goes on with the account's)."""
        body: dict[str, Any] = {"username": username, "password": password, "bot": bot}
        if display_name is not None:
            body["display_name"] = display_name
        return self._logged_in(await self.request("POST", "/api/accounts", json=body))

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """A new session for the account, used for every later call."""
        body = {"username": username, "password": password}
        return self._logged_in(await self.request("POST", "/api/login", json=body))

    async def logout(self, *, everywhere: bool = False) -> None:
        """End this session (``everywhere``: every session of the account)."""
        await self.request("POST", "/api/logout/everywhere" if everywhere else "/api/logout")
        self.token = None

    async def change_password(self, password: str, new_password: str) -> dict[str, Any]:
        """A new password for the account, given the one now (``ApiError`` 403
        ``wrong_password`` if it is not). Every session of the account ends; this client
        goes on with the new one the answer carries."""
        body = {"password": password, "new_password": new_password}
        return self._logged_in(await self.request("POST", "/api/me/password", json=body))

    async def export(self) -> dict[str, Any]:
        """Everything the server holds about this player."""
        result: dict[str, Any] = await self.request("GET", "/api/me/export")
        return result

    async def delete_account(self, password: str) -> None:
        """Delete the account, given its password now (``ApiError`` 403 ``wrong_password``
        if it is not, and the account is kept): its games stay in others' histories,
        under an anonymous name."""
        await self.request("DELETE", "/api/me", json={"password": password})
        self.token = None

    def _logged_in(self, answer: dict[str, Any]) -> dict[str, Any]:
        self.token = answer["token"]
        self.player_id = answer["player_id"]
        self.name = answer["name"]
        return answer

    async def session(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", "/api/session")
        return result

    async def list_games(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.request("GET", "/api/games")
        return result

    # Rooms ---------------------------------------------------------------------

    async def list_rooms(
        self,
        game: str | None = None,
        status: str | None = None,
        free: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of public rooms: ``{items, next_cursor}``."""
        params = {
            "game": game,
            "status": status,
            "free": None if free is None else str(free).lower(),
            "limit": limit,
            "cursor": cursor,
        }
        result: dict[str, Any] = await self.request("GET", "/api/rooms", params=params)
        return result

    async def get_room(self, room_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", f"/api/rooms/{room_id}")
        return result

    async def create_room(
        self,
        game: str,
        seats: int | None = None,
        options: dict[str, Any] | None = None,
        private: bool = False,
        bots: list[int] | None = None,
        abandon: str | None = None,
        clock: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A new room; a private one's answer carries its ``invite`` code. ``clock``:
        ``{"bank": s, "inc": s}``, ``{"move": s}`` or correspondence, ``{"days": n}``."""
        body: dict[str, Any] = {"game": game, "private": private}
        for key, value in (
            ("seats", seats),
            ("options", options),
            ("bots", bots),
            ("clock", clock),
        ):
            if value is not None:
                body[key] = value
        if abandon is not None:
            body["abandon"] = abandon
        result: dict[str, Any] = await self.request("POST", "/api/rooms", json=body)
        return result

    async def my_games(self) -> list[dict[str, Any]]:
        """The rooms we sit in, ours to move first: ``{room, seat, your_turn, deadline,
        correspondence}`` each."""
        answer = await self.request("GET", "/api/me/games")
        items: list[dict[str, Any]] = answer["items"]
        return items

    async def player_events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Our event stream (``GET /api/me/events``), as ``(event, data)`` pairs, for as
        long as it stays open: ``your_turn``, ``reminder``, ``game_over``,
        ``opponent_left``, ``invited``, ``matched``, ``expired``. The first pair,
        ``("open", {})``, says it is open."""
        timeout = httpx.Timeout(10.0, read=45.0)  # keep-alive comments come every 15 s
        async with self._http.stream(
            "GET", "/api/me/events", headers=self._headers(), timeout=timeout
        ) as response:
            if response.is_error:
                await response.aread()
                raise _problem(response)
            yield "open", {}
            async for event in _server_sent(response):
                yield event

    async def take_seat(
        self, room_id: str, seat: int | None = None, invite: str | None = None
    ) -> Reservation:
        """Reserve a seat (any free one unless ``seat``); connect to keep it."""
        body = {k: v for k, v in (("seat", seat), ("invite", invite)) if v is not None}
        result: Reservation = await self.request("POST", f"/api/rooms/{room_id}/seats", json=body)
        return result

    async def leave_seat(self, room_id: str) -> None:
        await self.request("DELETE", f"/api/rooms/{room_id}/seats/me")

    async def watch(self, room_id: str, invite: str | None = None) -> dict[str, Any]:
        """Spectate: ``{room, ws}``."""
        body = {"invite": invite} if invite else {}
        result: dict[str, Any] = await self.request(
            "POST", f"/api/rooms/{room_id}/watch", json=body
        )
        return result

    async def look_up_invite(self, code: str) -> dict[str, Any]:
        """Where an invite code leads, before taking a seat: ``{game, title, host, status,
        seat_count, free, clock}``. Needs no session (someone sent a link may have none);
        an unknown code and one whose room has gone are the same ``ApiError`` 404
        (``unknown_invite``)."""
        result: dict[str, Any] = await self.request("GET", f"/api/invites/{quote(code, safe='')}")
        return result

    async def join_invite(self, code: str) -> Reservation:
        """Take a seat in the private room with this invite code."""
        result: Reservation = await self.request("POST", f"/api/invites/{quote(code, safe='')}")
        return result

    async def invite(
        self, room_id: str, *, username: str | None = None, player_id: str | None = None
    ) -> dict[str, Any]:
        """Invite a player (by ``username`` or ``player_id``) into a room we created or sit
        in: ``{room, expires_at}``, answered alike whether or not the player exists. They
        hear ``invited`` on their event stream, or by Web Push."""
        body = {"username": username} if username is not None else {"player_id": player_id}
        result: dict[str, Any] = await self.request(
            "POST", f"/api/rooms/{room_id}/invitations", json=body
        )
        return result

    async def invitations(self) -> list[dict[str, Any]]:
        """Our invitations into rooms still taking players, newest first: ``{room,
        invited_by, at, expires_at}`` each (a private room with its ``invite`` code)."""
        answer = await self.request("GET", "/api/me/invitations")
        items: list[dict[str, Any]] = answer["items"]
        return items

    async def decline(self, room_id: str) -> None:
        """Forget our invitation into this room."""
        await self.request("DELETE", f"/api/me/invitations/{room_id}")

    async def accept(self, invitation: dict[str, Any]) -> Reservation:
        """Take a seat in the room of one of ``invitations()``."""
        room = invitation["room"]
        return await self.take_seat(room["id"], invite=room.get("invite"))

    def connect(
        self,
        room_id: str,
        *,
        ws: str | None = None,
        invite: str | None = None,
        **options: Any,
    ) -> RoomConnection:
        """The room's WebSocket, to use as ``async with api.connect(room) as conn``.

        ``ws`` is the path or URL a reservation or match named, if any; ``options``
        go to ``RoomConnection`` (heartbeat, backoff, ...).
        """
        if self.token is None:
            raise ValueError("create a session first: the WebSocket needs its token")
        url = self.ws_url(ws or f"/ws/rooms/{room_id}")
        if invite:
            url += ("&" if "?" in url else "?") + urlencode({"invite": invite})
        options.setdefault("ticket", self.connect_ticket)
        return RoomConnection(url, self.token, **options)

    async def connect_ticket(self) -> str:
        """A connect ticket: good once, for 30 s, in the URL where the token must not go."""
        answer = await self.request("POST", "/api/session/ticket")
        ticket: str = answer["ticket"]
        return ticket

    # Quick-match ---------------------------------------------------------------

    async def create_ticket(
        self, game: str, options: dict[str, Any] | None = None, seats: int | None = None
    ) -> Ticket:
        body: dict[str, Any] = {"game": game}
        if options is not None:
            body["options"] = options
        if seats is not None:
            body["seats"] = seats
        result: Ticket = await self.request("POST", "/api/matchmaking/tickets", json=body)
        return result

    async def get_ticket(self, ticket_id: str) -> Ticket:
        result: Ticket = await self.request("GET", f"/api/matchmaking/tickets/{ticket_id}")
        return result

    async def cancel_ticket(self, ticket_id: str) -> None:
        await self.request("DELETE", f"/api/matchmaking/tickets/{ticket_id}")

    async def wait_for_match(
        self,
        ticket_id: str,
        timeout: float | None = None,  # noqa: ASYNC109 (the convenience is the point)
        poll_interval: float = 0.5,
    ) -> Matched:
        """Wait for the ticket's match: by server-sent events, or by polling if those fail."""
        async with asyncio.timeout(timeout):
            try:
                return await self._match_by_events(ticket_id)
            except (httpx.HTTPError, ApiError, _StreamEnded, ValueError) as exc:
                log.info("matchmaking events unavailable (%r); polling the ticket", exc)
            while True:
                matched = _matched(await self.get_ticket(ticket_id))
                if matched is not None:
                    return matched
                await asyncio.sleep(poll_interval)

    async def quick_match(
        self,
        game: str,
        options: dict[str, Any] | None = None,
        seats: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Matched:
        """A ticket and its match. If we stop waiting first (cancelled, or ``timeout``), the
        ticket is withdrawn, also one whose creation was still on its way (the server may
        have made it: without this it would wait on, and match somebody with nobody), and
        a match made meanwhile gives its seat back, so nobody waits for a player who went."""
        creating = asyncio.ensure_future(self.create_ticket(game, options, seats))
        try:
            ticket = await asyncio.shield(creating)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._withdraw((await creating)["id"])
            raise
        try:
            return await self.wait_for_match(ticket["id"], timeout=timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await self._withdraw(ticket["id"])
            raise

    async def _withdraw(self, ticket_id: str, within: float = 10.0) -> None:
        """Cancel a ticket; if it is matched (or being matched) already, give up the seat
        it got instead: the server refuses to cancel a matched ticket (409)."""
        async with asyncio.timeout(within):
            while True:
                try:
                    await self.cancel_ticket(ticket_id)
                    return
                except ApiError as exc:
                    if exc.code != "already_matched":
                        raise
                ticket = await self.get_ticket(ticket_id)
                if ticket["status"] == "matched" and "room" in ticket:
                    await self.leave_seat(ticket["room"])
                    return
                if ticket["status"] not in ("matching", "waiting"):
                    return  # ended by itself (expired)
                await asyncio.sleep(0.1)  # a round is matching it right now: see how it ends

    async def _match_by_events(self, ticket_id: str) -> Matched:
        # Reads may be quiet for long: the server sends keep-alive comments, and
        # if even those stop for a while, polling takes over.
        timeout = httpx.Timeout(10.0, read=30.0)
        async with self._http.stream(
            "GET", "/api/matchmaking/events", headers=self._headers(), timeout=timeout
        ) as response:
            if response.is_error:
                await response.aread()
                raise _problem(response)
            # The match may have been made before the stream opened.
            matched = _matched(await self.get_ticket(ticket_id))
            if matched is not None:
                return matched
            async for event, payload in _server_sent(response):
                if payload.get("ticket") == ticket_id:
                    if event == "matched":
                        result: Matched = payload  # type: ignore[assignment]
                        return result
                    if event == "expired":
                        raise MatchmakingError(ticket_id, "expired")
        raise _StreamEnded("the matchmaking event stream ended")

    # Ratings and records ----------------------------------------------------------

    async def leaderboard(
        self, game: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Any:
        """A page of ``game``'s ratings, best first: ``{game, items, next_cursor}``; pass
        ``next_cursor`` back as ``cursor`` for the next page."""
        params = {"limit": limit, "cursor": cursor}
        return await self.request("GET", f"/api/leaderboards/{game}", params=params)

    async def player(self, player_id: str) -> dict[str, Any]:
        """A player's profile: ``{player_id, name, account, bot, ratings}``, their rating
        in every game they are rated in (what the browser's profile page shows)."""
        result: dict[str, Any] = await self.request("GET", f"/api/players/{player_id}")
        return result

    async def player_games(
        self, player_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Any:
        """A page of a player's finished games, newest first: ``{items, next_cursor}``."""
        params = {"limit": limit, "cursor": cursor}
        return await self.request("GET", f"/api/players/{player_id}/games", params=params)

    async def record(self, game_id: str, invite: str | None = None) -> dict[str, Any]:
        """A finished game with its seed and every move. A private room's are for its
        members, and for whoever passes its ``invite`` code."""
        result: dict[str, Any] = await self.request(
            "GET", f"/api/records/{game_id}", params={"invite": invite}
        )
        return result


async def _server_sent(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The events of a text/event-stream whose data is a JSON object (comments skipped)."""
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if line == "":
            payload = json.loads("\n".join(data)) if data else None
            if isinstance(payload, dict):
                yield event, payload
            event, data = "message", list[str]()
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)


def _matched(ticket: Ticket) -> Matched | None:
    """The match a ticket names, None while it waits; ``MatchmakingError`` if it ended."""
    status = ticket["status"]
    if status == "waiting":
        return None
    if status != "matched" or "room" not in ticket or "seat" not in ticket:
        raise MatchmakingError(ticket["id"], status)
    matched: Matched = {"ticket": ticket["id"], "room": ticket["room"], "seat": ticket["seat"]}
    if "ws" in ticket:
        matched["ws"] = ticket["ws"]
    return matched


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return None


def _problem(response: httpx.Response) -> ApiError:
    """An ``ApiError`` from a problem-details answer (or whatever else came)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    code = body.get("code") or str(body.get("title") or response.reason_phrase).lower()
    detail = body.get("detail") or response.text[:200] or response.reason_phrase
    retry_after = _retry_after(response) if response.status_code == 429 else None
    return ApiError(response.status_code, str(code), str(detail), retry_after)
