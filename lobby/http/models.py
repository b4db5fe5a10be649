"""The REST API's request and response bodies (what /docs shows)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from meeple.game.api import whole_numbers
from meeple.game.clock import MAX_BANK_S, MAX_INC_S
from meeple.game.match import is_bot_player

MAX_PAGE = 100
DEFAULT_PAGE = 20
TIME_CURSOR = r"^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?:[A-Za-z0-9_-]+$"
"""The cursors of lists by time (rooms, finished games): a time and an id."""
RANK_CURSOR = r"^[0-9]+$"
"""The cursors of leaderboards: the rank to start after."""

Status = Literal["waiting", "playing", "finished"]
SeatKind = Literal["empty", "human", "bot"]
AbandonPolicy = Literal["forfeit", "skip", "bot"]


def iso(ts: float) -> str:
    """Unix time as ISO 8601 UTC, e.g. ``2026-11-25T10:00:00.000Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Request(BaseModel):
    """Request bodies refuse fields they do not know, so a typo is an error, not a no-op,
    and values of another JSON type (``false`` for a seat, ``0`` for a flag): what the
    OpenAPI document says is what is accepted."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        return whole_numbers(cls, data)


# Sessions --------------------------------------------------------------------------

JOINERS = frozenset("\u200c\u200d")
"""The zero-width (non-)joiners: format characters that names need (emoji sequences,
Persian and Indic scripts), unlike the other invisible ones (bidi overrides, …)."""


def _ranges(chars: list[int]) -> str:
    """A regex character class body for these code points, as ``\\uXXXX`` ranges."""
    out, start, prev = [], chars[0], chars[0]
    for c in [*chars[1:], -1]:
        if c != prev + 1:
            out.append(f"\\u{start:04x}" + (f"-\\u{prev:04x}" if prev != start else ""))
            start = c
        prev = c
    return "".join(out)


_HIDDEN = [
    c
    for c in range(0x10000)
    if not 0xD800 <= c <= 0xDFFF
    and unicodedata.category(chr(c)) in ("Cc", "Cf")
    and chr(c) not in JOINERS
]
_SPACES = [c for c in range(0x10000) if chr(c).isspace()]
_VISIBLE = f"[^{_ranges(sorted({*_HIDDEN, *_SPACES}))}]"
_SPACE = f"[{_ranges(_SPACES)}]"
NAME_PATTERN = f"^{_SPACE}*{_VISIBLE}(?:[^{_ranges(_HIDDEN)}]{{0,30}}{_VISIBLE})?{_SPACE}*$"
"""A name: 1 to 32 characters that are not all white space, with white space of any kind
around them (it is stripped) and no control or invisible format characters (but the
joiners) among them. Python's regexes and JSON Schema's read it alike (an astral
character, an emoji, counts as two to the latter)."""
_NAME = re.compile(NAME_PATTERN)


class NewSession(Request):
    name: str = Field(
        min_length=1,
        description="1 to 32 characters, white space around them stripped; no control or"
        " invisible format characters (but the zero-width joiners).",
        examples=["Ada"],
        json_schema_extra={"pattern": NAME_PATTERN},
    )

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        return printable_name(value)


def printable_name(value: str) -> str:
    """A display name as NAME_PATTERN allows it, stripped; ValueError otherwise."""
    if not _NAME.fullmatch(value) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise ValueError("a name may not hold control characters, nor only white space")
    return value.strip()


class NewAccount(Request):
    username: str = Field(
        min_length=3,
        max_length=32,
        json_schema_extra={"pattern": r"^(?:[^\W_][\w.-]{1,30}[^\W_]|[^\W_]{3})$"},
        description="3 to 32 letters, digits, '_', '.' or '-' (after NFKC), starting and ending"
        " with a letter or digit; unique without regard to case or Unicode form.",
        examples=["ada"],
    )
    password: str = Field(
        min_length=8,
        max_length=128,
        description="8 to 128 characters, any.",
        examples=["correct horse"],
    )
    display_name: str | None = Field(
        None,
        description="The name others see (1 to 32 characters, as a guest's); by default the"
        " guest's name, or the username.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    bot: bool = Field(False, description="A bot's account: shown as a bot everywhere.")

    @field_validator("display_name")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else printable_name(value)


class Login(Request):
    username: str = Field(max_length=64, examples=["ada"])
    password: str = Field(max_length=1024, examples=["correct horse"])


class PasswordChange(Request):
    password: str = Field(max_length=1024, description="The password now.")
    new_password: str = Field(
        min_length=8, max_length=128, description="8 to 128 characters, any.",
        examples=["correct horse battery staple"],
    )  # fmt: skip


class AccountDeletion(Request):
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="The account's password now: deleting it takes that, not a session alone.",
    )


class SessionOut(BaseModel):
    token: str = Field(description="Opaque; send it as Authorization: Bearer <token>.")
    player_id: str
    name: str
    expires_at: str = Field(description="ISO 8601 UTC; slides forward with every use.")


class AccountSessionOut(SessionOut):
    username: str
    bot: bool


class ConnectTicketOut(BaseModel):
    ticket: str = Field(
        description="Good once, until expires_at: pass it as ?ticket= to the room WebSocket"
        " or to /api/matchmaking/events, where a session token must not go (URLs are logged)."
    )
    expires_at: str


class Me(BaseModel):
    player_id: str
    name: str
    expires_at: str


# The catalog -----------------------------------------------------------------------


class GameOut(BaseModel):
    name: str
    title: str
    min_seats: int
    max_seats: int
    description: str
    options_schema: dict[str, Any]
    move_schema: dict[str, Any]
    board: str | None = None
    """The URL of the game's board module (an ES module); null for the generic board."""


# Rooms -----------------------------------------------------------------------------


BOT_FIELD = Field(
    False,
    description="A bot plays here: the server's own (kind bot) or a bot account (kind human).",
)


class SeatOut(BaseModel):
    kind: SeatKind
    player_id: str | None
    name: str | None
    bot: bool = BOT_FIELD
    on: bool = Field(description="Whether the seat's player is connected (bots always are).")


class RoomOut(BaseModel):
    id: str
    game: str
    status: Status
    seat_count: int
    seats: list[SeatOut]
    free: int
    spectators: int
    private: bool
    options: dict[str, Any]
    abandon: str
    clock: dict[str, float] | None = Field(
        default=None,
        description='The time control: {"bank", "inc"} (seconds), {"move"} or {"days"}.',
    )
    to_act: list[int] = Field(default_factory=list, description="The seats to act now.")
    deadline: int | None = Field(
        default=None,
        description="When the first running clock runs out, ms since the Unix epoch.",
    )
    seq: int
    game_no: int
    created_at: str
    ws: str = Field(description="The room's WebSocket path.")
    invite: str | None = Field(
        default=None,
        description="A private room's invite code: only for its creator and its players.",
    )


class RoomPage(BaseModel):
    items: list[RoomOut]
    next_cursor: str | None


class Reservation(BaseModel):
    room: str
    seat: int
    expires_at: str = Field(description="The seat is freed unless the player connects by then.")
    ws: str


class RoomCreated(RoomOut):
    reservation: Reservation | None = Field(
        default=None, description='The creator\'s seat (with "join": true, the default).'
    )


class FischerClock(Request):
    bank: float = Field(gt=0, le=MAX_BANK_S, description="Seconds each seat starts with.")
    inc: float = Field(default=0, ge=0, le=MAX_INC_S, description="Seconds back per move.")


class MoveClock(Request):
    move: float = Field(gt=0, le=MAX_BANK_S, description="Seconds for every move.")


class DaysClock(Request):
    days: Literal[1, 2, 3, 5, 7, 14] = Field(description="Correspondence: days per move.")


class NewRoom(Request):
    game: str = Field(examples=["tictactoe"])
    seats: int | None = Field(default=None, ge=1, le=64, description="Default: the game's minimum.")
    options: dict[str, Any] | None = None
    private: bool = False
    bots: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=list,
        max_length=64,
        description="Seats to fill with server-side bots.",
    )
    bot: Literal["best", "random"] = Field(
        default="best",
        description='What the bots play: "best" (the strongest strategy the server has for'
        ' the game) or "random" (random legal moves: an easy opponent).',
    )
    abandon: AbandonPolicy | None = Field(
        default=None, description="What happens to a seat whose player left for good."
    )
    clock: FischerClock | MoveClock | DaysClock | None = Field(
        default=None,
        description="Clocks: a Fischer bank and increment in seconds, a limit per move in"
        " seconds, or correspondence, days per move.",
    )
    join: bool = Field(default=True, description="Reserve a seat for the creator.")


class SeatRequest(Request):
    seat: int | None = Field(default=None, ge=0, description="Default: the first free seat.")
    invite: str | None = Field(default=None, description="Needed for a private room.")


class InviteRequest(Request):
    seat: int | None = Field(default=None, ge=0)


class WatchRequest(Request):
    invite: str | None = None


class InvitedPlayer(BaseModel):
    name: str | None
    bot: bool = BOT_FIELD


class InvitePreview(BaseModel):
    """Where an invite code leads, for whoever holds it (signed in or not): what joining
    would show anyway, and nothing else (not the room's id, not the players' ids)."""

    game: str = Field(examples=["chess"])
    title: str = Field(description="The game's title: what the room is called.", examples=["Chess"])
    host: str | None = Field(
        description="Who invited you: the room's creator, by the name on their seat"
        " (null if they took none)."
    )
    status: Status
    seat_count: int
    free: int = Field(description="Seats nobody has taken.")
    players: list[InvitedPlayer] = Field(
        default_factory=list,
        description="Who is in the room: the taken seats' names, in seat order (bots marked).",
    )
    clock: dict[str, float] | None = Field(
        default=None,
        description='The time control: {"bank", "inc"} (seconds), {"move"} or {"days"}.',
    )


class Watch(BaseModel):
    room: str
    ws: str
    invite: str | None = Field(
        default=None, description="For a private room: pass it to the WebSocket as ?invite=."
    )


# Quick-match -----------------------------------------------------------------------


class NewTicket(Request):
    game: str = Field(examples=["tictactoe"])
    options: dict[str, Any] | None = None
    seats: int | None = Field(default=None, ge=1, le=64)


class TicketOut(BaseModel):
    id: str
    status: Literal["waiting", "matched", "expired", "cancelled"]
    game: str
    options: dict[str, Any]
    seats: int
    created_at: str
    expires_at: str
    room: str | None = None
    seat: int | None = None
    ws: str | None = None


class MatchedEvent(BaseModel):
    """The data of an ``event: matched`` on /api/matchmaking/events."""

    ticket: str
    room: str
    seat: int
    ws: str


# Ratings and records ---------------------------------------------------------------


class RatingOut(BaseModel):
    rank: int
    player_id: str
    name: str
    rating: float
    rd: float = Field(description="Rating deviation: how unsure the rating is.")
    volatility: float
    games: int
    bot: bool = Field(False, description="A bot account's rating.")


class Leaderboard(BaseModel):
    game: str
    items: list[RatingOut]
    next_cursor: str | None


class RecordSeat(BaseModel):
    kind: SeatKind
    player_id: str | None
    name: str | None
    bot: bool = BOT_FIELD

    @model_validator(mode="after")
    def _bot_in_older_records(self) -> RecordSeat:
        """Records written before seats carried ``bot`` say it by their kind and id."""
        self.bot = self.bot or self.kind == "bot" or is_bot_player(self.player_id)
        return self


class OutcomeOut(BaseModel):
    winners: list[int]
    draw: bool
    returns: list[float]
    reason: str


class RecordSummary(BaseModel):
    id: str
    room: str
    game: str
    game_no: int
    seats: list[RecordSeat]
    outcome: OutcomeOut | None
    finished_at: str


class RecordPage(BaseModel):
    items: list[RecordSummary]
    next_cursor: str | None


class GameRecordOut(RecordSummary):
    """Enough to replay the game: ``Match.replay(game, seat_count, options, seed, log,
    game_no=game_no)``."""

    options: dict[str, Any]
    seed: int
    seat_count: int
    log: list[dict[str, Any]]
