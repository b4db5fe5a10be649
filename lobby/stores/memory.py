"""In-memory stores: the default, for one process with nothing to set up."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Container, Sequence
from dataclasses import replace

from meeple.lobby.stores.base import (
    LOGIN_FAILURES_KEPT,
    MAX_INVITATIONS,
    MAX_PUSH_SUBSCRIPTIONS,
    Account,
    GameRecord,
    Invitation,
    PlayerRating,
    PushSubscription,
    Rate,
    RatingStore,
    RatingWindow,
    RecordStore,
    RoomSummary,
    Session,
    Ticket,
    TicketStatus,
    hash_token,
    human_players,
    login_wait,
    make_cursor,
    new_id,
    new_token,
    read_cursor,
    renamed,
    seated_players,
)
from meeple.lobby.stores.finished import FinishedGames


class MemorySessionStore:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._by_player: dict[str, set[str]] = {}  # player -> token hashes

    async def create(self, name: str, player_id: str | None = None) -> tuple[str, Session]:
        token = new_token()
        session = Session(player_id or new_id("p"), name, self._clock() + self._ttl)
        key = hash_token(token)
        self._sessions[key] = session
        self._by_player.setdefault(session.player_id, set()).add(key)
        return token, session

    async def get(self, token: str) -> Session | None:
        key = hash_token(token)
        session = self._sessions.get(key)
        now = self._clock()
        if session is None:
            return None
        if session.expires_at <= now:
            self._drop(key)
            return None
        session = Session(session.player_id, session.name, now + self._ttl)
        self._sessions[key] = session
        return session

    async def revoke(self, token: str) -> None:
        self._drop(hash_token(token))

    async def revoke_player(self, player_id: str) -> None:
        for key in self._by_player.pop(player_id, set()):
            self._sessions.pop(key, None)

    def _drop(self, key: str) -> None:
        session = self._sessions.pop(key, None)
        if session is not None:
            keys = self._by_player.get(session.player_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_player[session.player_id]


class MemoryConnectTickets:
    """Tickets by hash, oldest first: all live ones share a ttl, so the expired are at the
    front and are dropped as new ones come."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tickets: OrderedDict[str, tuple[float, Session]] = OrderedDict()

    async def issue(self, session: Session, ttl: float) -> str:
        now = self._clock()
        tickets = self._tickets
        while tickets and next(iter(tickets.values()))[0] <= now:
            tickets.popitem(last=False)
        ticket = new_token()
        tickets[hash_token(ticket)] = (now + ttl, session)
        return ticket

    async def redeem(self, ticket: str) -> Session | None:
        found = self._tickets.pop(hash_token(ticket), None)
        if found is None or found[0] <= self._clock():
            return None
        return found[1]


def _matches(s: RoomSummary, game: str | None, status: str | None, free: bool | None) -> bool:
    if s["private"]:
        return False
    if game is not None and s["game"] != game:
        return False
    if status is not None and s["status"] != status:
        return False
    return free is None or (s["free"] > 0) == free


def room_key(summary: RoomSummary) -> tuple[float, str]:
    """Rooms page newest first by (creation time, id): rooms made meanwhile never shift a page."""
    return summary["created_at"], summary["id"]


class MemoryRoomDirectory:
    def __init__(self) -> None:
        self._rooms: dict[str, RoomSummary] = {}
        self._invites: dict[str, str] = {}
        self._players: dict[str, set[str]] = {}
        """Player id -> the rooms they were seen seated in (checked when read)."""

    async def put(self, summary: RoomSummary) -> None:
        self._rooms[summary["id"]] = summary
        for player_id in seated_players(summary):
            self._players.setdefault(player_id, set()).add(summary["id"])
        if summary.get("invite"):
            self._invites[summary["invite"]] = summary["id"]

    async def put_many(self, summaries: Sequence[RoomSummary]) -> None:
        for summary in summaries:
            await self.put(summary)

    async def get(self, room_id: str) -> RoomSummary | None:
        return self._rooms.get(room_id)

    async def remove(self, room_id: str) -> None:
        summary = self._rooms.pop(room_id, None)
        if summary and summary.get("invite"):
            self._invites.pop(summary["invite"], None)

    async def page(
        self,
        *,
        game: str | None,
        status: str | None,
        free: bool | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[RoomSummary], str | None]:
        after = read_cursor(cursor) if cursor is not None else None
        ordered = sorted(self._rooms.values(), key=room_key, reverse=True)
        items: list[RoomSummary] = []
        for summary in ordered:
            if after is not None and room_key(summary) >= after:
                continue
            if _matches(summary, game, status, free):
                items.append(summary)
                if len(items) > limit:
                    break
        if len(items) > limit:
            return items[:limit], make_cursor(*room_key(items[limit - 1]))
        return items, None

    async def room_for_invite(self, code: str) -> str | None:
        return self._invites.get(code)

    async def rooms_of(self, player_id: str) -> list[RoomSummary]:
        ids = self._players.get(player_id, set())
        found = [self._rooms[i] for i in ids if i in self._rooms]
        mine = [s for s in found if player_id in seated_players(s)]
        if len(mine) < len(ids):  # rooms gone or seats given up: forget them
            self._players[player_id] = {s["id"] for s in mine}
        return mine


class MemoryInvitations:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._of: dict[str, OrderedDict[str, Invitation]] = {}
        """Invitee -> room -> invitation, oldest first."""

    async def add(self, player_id: str, invitation: Invitation) -> None:
        kept = self._of.setdefault(player_id, OrderedDict())
        kept.pop(invitation["room"], None)
        kept[invitation["room"]] = invitation
        while len(kept) > MAX_INVITATIONS:
            kept.popitem(last=False)

    async def of(self, player_id: str) -> list[Invitation]:
        kept = self._of.get(player_id)
        if kept is None:
            return []
        now = self._clock()
        for room in [r for r, i in kept.items() if i["expires_at"] <= now]:
            del kept[room]
        if not kept:
            del self._of[player_id]
        return list(reversed(kept.values()))

    async def remove(self, player_id: str, room_id: str) -> None:
        kept = self._of.get(player_id)
        if kept is not None:
            kept.pop(room_id, None)
            if not kept:
                del self._of[player_id]


class MemoryPresence:
    """Player -> node -> until when it is there."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, dict[str, float]] = {}

    async def renew(self, node: str, players: Sequence[str], ttl: float) -> None:
        until = self._clock() + ttl
        for player_id in players:
            self._until.setdefault(player_id, {})[node] = until

    async def leave(self, node: str, player_id: str) -> None:
        nodes = self._until.get(player_id)
        if nodes is not None:
            nodes.pop(node, None)
            if not nodes:
                del self._until[player_id]

    async def present(self, player_id: str) -> bool:
        now = self._clock()
        nodes = self._until.get(player_id, {})
        for node in [n for n, until in nodes.items() if until <= now]:
            del nodes[node]
        if not nodes:
            self._until.pop(player_id, None)
        return bool(nodes)


class MemoryPushSubscriptions:
    def __init__(self) -> None:
        self._subs: dict[str, dict[str, PushSubscription]] = {}

    async def add(self, player_id: str, subscription: PushSubscription) -> None:
        mine = self._subs.setdefault(player_id, {})
        mine.pop(subscription["endpoint"], None)
        mine[subscription["endpoint"]] = subscription
        while len(mine) > MAX_PUSH_SUBSCRIPTIONS:
            del mine[next(iter(mine))]

    async def of(self, player_id: str) -> list[PushSubscription]:
        return list(self._subs.get(player_id, {}).values())

    async def remove(self, player_id: str, endpoint: str) -> None:
        mine = self._subs.get(player_id)
        if mine is not None:
            mine.pop(endpoint, None)
            if not mine:
                del self._subs[player_id]


# Quick-match tickets ----------------------------------------------------------------


def pick_group(
    tickets: Sequence[Ticket], size: int, now: float, window: RatingWindow
) -> list[Ticket] | None:
    """The best group of ``size`` among tickets with one key, or None.

    Candidates are runs of neighbours in rating order (the tightest groups there are);
    a run qualifies when its spread fits every member's window. Of those, the one
    holding the longest-waiting ticket wins, then the tightest.
    """
    if len(tickets) < size:
        return None
    ordered = sorted(tickets, key=lambda t: (t.rating, t.created_at))
    best: tuple[float, float, int] | None = None
    for i in range(len(ordered) - size + 1):
        run = ordered[i : i + size]
        spread = run[-1].rating - run[0].rating
        if spread > min(window.width(now - t.created_at) for t in run):
            continue
        rank = (min(t.created_at for t in run), spread, i)
        if best is None or rank < best:
            best = rank
    if best is None:
        return None
    start = best[2]
    return sorted(ordered[start : start + size], key=lambda t: t.created_at)


class MemoryTicketQueue:
    def __init__(self, keep_settled: float = 600.0) -> None:
        self._keep = keep_settled
        self._tickets: dict[str, Ticket] = {}
        self._waiting: dict[str, dict[str, None]] = {}  # key -> ticket ids, oldest first
        self._live: dict[tuple[str, str], str] = {}  # (player, game) -> live ticket id
        self._settled: deque[tuple[float, str]] = deque()

    async def add(self, ticket: Ticket) -> tuple[Ticket, bool]:
        live = self._live.get((ticket.player_id, ticket.game))
        if live is not None:
            return self._tickets[live], False
        self._tickets[ticket.id] = ticket
        self._live[(ticket.player_id, ticket.game)] = ticket.id
        self._waiting.setdefault(ticket.key, {})[ticket.id] = None
        return ticket, True

    async def get(self, ticket_id: str) -> Ticket | None:
        return self._tickets.get(ticket_id)

    async def cancel(self, ticket_id: str, now: float) -> Ticket | None:
        ticket = self._tickets.get(ticket_id)
        if ticket is None or ticket.status != "waiting":
            return ticket
        return self._close(ticket, "cancelled", now)

    async def take_group(
        self, now: float, window: RatingWindow, games: Container[str] | None = None
    ) -> list[Ticket] | None:
        for key, ids in self._waiting.items():
            tickets = [self._tickets[i] for i in ids]
            if not tickets or (games is not None and tickets[0].game not in games):
                continue
            group = pick_group(tickets, tickets[0].seats, now, window)
            if group is None:
                continue
            taken = []
            for ticket in group:
                del ids[ticket.id]
                ticket = replace(ticket, status="matching")
                self._tickets[ticket.id] = ticket
                taken.append(ticket)
            if not ids:
                del self._waiting[key]
            return taken
        return None

    async def settle(self, tickets: Sequence[Ticket]) -> None:
        for ticket in tickets:
            self._tickets[ticket.id] = ticket
            if ticket.status == "waiting":
                self._waiting.setdefault(ticket.key, {})[ticket.id] = None
            elif ticket.status != "matching":
                self._forget_live(ticket)
                self._settled.append((ticket.settled_at or 0.0, ticket.id))

    async def expire(self, now: float) -> list[Ticket]:
        expired = []
        for ids in list(self._waiting.values()):
            for ticket_id in list(ids):
                ticket = self._tickets[ticket_id]
                if ticket.expires_at <= now:
                    expired.append(self._close(ticket, "expired", now))
        while self._settled and self._settled[0][0] < now - self._keep:
            _, ticket_id = self._settled.popleft()
            self._tickets.pop(ticket_id, None)
        return expired

    def _close(self, ticket: Ticket, status: TicketStatus, now: float) -> Ticket:
        ids = self._waiting.get(ticket.key)
        if ids is not None:
            ids.pop(ticket.id, None)
            if not ids:
                del self._waiting[ticket.key]
        ticket = replace(ticket, status=status, settled_at=now)
        self._tickets[ticket.id] = ticket
        self._forget_live(ticket)
        self._settled.append((now, ticket.id))
        return ticket

    def _forget_live(self, ticket: Ticket) -> None:
        if self._live.get((ticket.player_id, ticket.game)) == ticket.id:
            del self._live[(ticket.player_id, ticket.game)]


# Finished games and ratings --------------------------------------------------------


def record_key(record: GameRecord) -> tuple[float, str]:
    """Records page newest first by (finishing time, id)."""
    return record["finished_at"], record["id"]


class MemoryRecordStore:
    """The last ``max_records`` finished games."""

    def __init__(self, max_records: int = 10_000) -> None:
        self._max = max_records
        self._records: OrderedDict[str, GameRecord] = OrderedDict()
        self._by_player: dict[str, dict[str, None]] = {}  # player -> record ids, in order

    async def put(self, record: GameRecord) -> None:
        record_id = record["id"]
        self._records[record_id] = record
        for seat in record.get("seats", ()):
            if seat.get("kind") == "human" and seat.get("player_id"):
                self._by_player.setdefault(seat["player_id"], {})[record_id] = None
        while len(self._records) > self._max:
            _, old = self._records.popitem(last=False)
            for seat in old.get("seats", ()):
                player_id = seat.get("player_id") or ""
                gone = self._by_player.get(player_id)
                if gone is not None:
                    gone.pop(old["id"], None)
                    if not gone:
                        del self._by_player[player_id]

    async def get(self, record_id: str) -> GameRecord | None:
        return self._records.get(record_id)

    async def for_player(
        self, player_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[GameRecord], str | None]:
        records = [self._records[i] for i in self._by_player.get(player_id, ())]
        records.sort(key=record_key, reverse=True)
        if cursor is not None:
            after = read_cursor(cursor)
            records = [r for r in records if record_key(r) < after]
        if len(records) > limit:
            return records[:limit], make_cursor(*record_key(records[limit - 1]))
        return records, None

    async def rename_player(self, player_id: str, name: str) -> None:
        for record_id in self._by_player.get(player_id, ()):
            self._records[record_id] = renamed(self._records[record_id], player_id, name)


class MemoryRatingStore:
    def __init__(self) -> None:
        self._games: dict[str, dict[str, PlayerRating]] = {}

    async def get(self, game: str, player_id: str) -> PlayerRating | None:
        return self._games.get(game, {}).get(player_id)

    async def put_many(self, game: str, ratings: Sequence[PlayerRating]) -> None:
        table = self._games.setdefault(game, {})
        for rating in ratings:
            table[rating.player_id] = rating

    async def rename_player(self, player_id: str, name: str) -> None:
        for table in self._games.values():
            if player_id in table:
                table[player_id] = replace(table[player_id], name=name)

    async def page(
        self, game: str, *, cursor: str | None, limit: int
    ) -> tuple[list[PlayerRating], str | None]:
        """The cursor is the rank to start after (ratings move, so pages are approximate)."""
        offset = int(cursor) if cursor else 0
        if offset < 0:
            raise ValueError("a cursor is not negative")
        ordered = sorted(self._games.get(game, {}).values(), key=lambda r: (-r.rating, r.player_id))
        items = ordered[offset : offset + limit]
        more = offset + limit < len(ordered)
        return items, str(offset + limit) if more else None


class MemoryFinishedGames(FinishedGames):
    """In memory, each game of a batch through the record and rating stores' own calls
    (nothing fails over to another process here, but a game is written once all the
    same)."""

    def __init__(
        self, records: RecordStore, ratings: RatingStore, rate: Rate, failed: Callable[[], None]
    ) -> None:
        super().__init__(failed)
        self._records = records
        self._ratings = ratings
        self._rate = rate

    async def _write_batch(self, games: list[GameRecord]) -> None:
        for record in games:
            try:
                await self._write_game(record)
            except Exception:  # the bad one fails alone
                self.failed()

    async def _write_game(self, record: GameRecord) -> None:
        if await self._records.get(record["id"]) is not None:
            return
        game = record.get("game", "")
        before = {p: await self._ratings.get(game, p) for p in human_players(record)}
        rated = self._rate(record, before)  # before anything is written: it may raise
        await self._records.put(record)
        if rated:
            await self._ratings.put_many(game, rated)


class MemoryAccountStore:
    """Accounts for one process (an app made in code, a test): gone when it ends."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._by_key: dict[str, str] = {}

    async def create(self, account: Account) -> bool:
        if account.player_id in self._accounts or (
            account.username_key is not None and account.username_key in self._by_key
        ):
            return False
        await self.update(account)
        return True

    async def get(self, player_id: str) -> Account | None:
        return self._accounts.get(player_id)

    async def by_username(self, username_key: str) -> Account | None:
        player_id = self._by_key.get(username_key)
        return self._accounts.get(player_id) if player_id is not None else None

    async def update(self, account: Account) -> None:
        old = self._accounts.get(account.player_id)
        if old is not None and old.username_key is not None:
            self._by_key.pop(old.username_key, None)
        self._accounts[account.player_id] = account
        if account.username_key is not None:
            self._by_key[account.username_key] = account.player_id

    async def replace_hash(self, player_id: str, old: str, new: str) -> bool:
        account = self._accounts.get(player_id)
        if account is None or account.password_hash != old:
            return False
        self._accounts[player_id] = replace(account, password_hash=new)
        return True


class MemoryLoginFailures:
    """Per key, (failures in a row, when the next attempt may come, last failure); the
    least recently failed keys are forgotten past ``max_keys``."""

    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 50_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._keys: OrderedDict[str, tuple[int, float, float]] = OrderedDict()

    def _live(self, key: str) -> tuple[int, float, float] | None:
        found = self._keys.get(key)
        if found is not None and found[2] + LOGIN_FAILURES_KEPT <= self._clock():
            del self._keys[key]
            return None
        return found

    async def wait(self, keys: Sequence[str]) -> float:
        now = self._clock()
        return max([0.0] + [found[1] - now for k in keys if (found := self._live(k))])

    async def failed(self, key: str, free: int) -> None:
        now = self._clock()
        found = self._live(key)
        count = (found[0] if found else 0) + 1
        self._keys.pop(key, None)
        self._keys[key] = (count, now + login_wait(count, free), now)
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)

    async def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)
