"""The WebSocket protocol: every message in both directions, close codes and limits.

Both the server (lobby/) and the clients (client/) import this module, so the two
sides cannot drift. docs/protocol.md is its prose form; the server publishes the
JSON Schema built from these models at ``/api/protocol.json``.

Every frame is binary and holds one MessagePack map whose ``t`` names its type.
The server builds outgoing maps directly on its hot path; these models describe
them (and the tests check that what the server sends fits them).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SUBPROTOCOL = "meeple.v1"
"""The WebSocket subprotocol; a browser passes its token as a second one, ``token.<token>``."""
TOKEN_PREFIX = "token."

MAX_FRAME = 64 * 1024
MAX_FRAGMENTS = 64
"""Frames one message may come in: our clients never fragment; a message in thousands
of (empty) fragments is a flood, closed with 1009 like one too big."""
MAX_CHAT = 500
"""Characters in one chat line."""
CHAT_HISTORY = 50
"""Chat lines a room keeps and sends (``chats``) to whoever joins or resumes."""
MAX_LEGAL_MOVES = 512
"""Moves one ``moves`` answer lists at most (and it stays within ``MAX_FRAME``)."""

# Close codes the server uses (1000-1013 are RFC 6455's and IANA's; 4xxx are Meeple's).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
"""Broken framing (RFC 6455, 7.4.1)."""
CLOSE_INVALID_DATA = 1007
"""A text frame or close reason that is not UTF-8."""
CLOSE_POLICY = 1008
"""Flooding: the client kept sending past its rate limit."""
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
"""An error inside the server, or no pong before the heartbeat deadline."""
CLOSE_MOVED = 1012
"""The room moved to another process (or left this one): reconnect (to any) and resume."""
CLOSE_TRY_AGAIN = 1013
"""The room's owner did not answer: reconnect shortly."""
CLOSE_UNAUTHORIZED = 4401
"""Missing, unknown or expired session token."""
CLOSE_FORBIDDEN = 4403
"""Not allowed in this room (a private room without its invite code)."""
CLOSE_NOT_FOUND = 4404
CLOSE_REPLACED = 4409
"""A newer connection with the same session token took over."""
CLOSE_TOO_SLOW = 4429
"""The client read too slowly and its send queue filled up."""


CLOSE_CODES: dict[int, str] = {
    CLOSE_NORMAL: "you left (or the answer to your own close)",
    CLOSE_GOING_AWAY: "the server is shutting down; reconnect (to any server) and resume",
    CLOSE_PROTOCOL_ERROR: "broken framing: an unmasked frame, reserved bits or opcodes, a"
    " fragmented or over-long control frame, a close code a client may not send",
    CLOSE_INVALID_DATA: "a text frame or a close reason that is not UTF-8",
    CLOSE_POLICY: "flooding: too many refused messages, pings or pongs, connections or"
    " invite attempts",
    CLOSE_TOO_BIG: "a frame or fragmented message over 64 KiB, or in over 64 fragments",
    CLOSE_INTERNAL: "an error inside the server, or no pong in time; reconnect and resume",
    CLOSE_MOVED: "the server is restarting, or the room moved to another server process;"
    " reconnect and resume",
    CLOSE_TRY_AGAIN: "the room's server did not answer in time, or no server is up that"
    " offers the room's game; reconnect shortly",
    CLOSE_UNAUTHORIZED: "missing, unknown or expired session token or connect ticket",
    CLOSE_FORBIDDEN: "not allowed in this room (a private room without its invite code)",
    CLOSE_NOT_FOUND: "no such room",
    CLOSE_REPLACED: "replaced by a newer connection with the same session",
    CLOSE_TOO_SLOW: "too slow: more than 256 messages waited to be sent to you",
}
"""Every close code the server sends, and what it means (docs/protocol.md says the same)."""

ERROR_CODES: dict[str, str] = {
    "bad_frame": "the frame is not a MessagePack map with string keys",
    "text_frame": "a text frame (UTF-8); frames are binary",
    "unknown_type": "t is missing, not a string, or not one of the client message types",
    "bad_message": "the message breaks its schema (the msg names the field)",
    "not_seated": "a spectator tried to play",
    "not_finished": "a rematch vote while the game is not over",
    "rate_limited": "more than 20 messages a second (bursts of 40), moves not counted",
    "chat_rate_limited": "more than 5 chat lines in 10 s",
    "internal": "the server failed on this message (nothing changed)",
    "not_your_turn": "the seat is not one of those to act",
    "bad_move": "the move breaks the game's move schema",
    "game_over": "the game is over",
    "not_playing": "the game has not started",
    "not_a_seat": "there is no such seat",
    "game_error": "the game's code failed on this move (nothing changed)",
    "time_up": "the mover's clock ran out before the move arrived (the timeout rule applied)",
    "not_saved": "the change could not be saved where it must be before it is acknowledged"
    " (Redis, or its replicas); the room closes (1011): resume to see it as saved",
}
"""The ``code`` of every ``err`` the server itself sends; each game adds its own
(docs/protocol.md lists those of the games Meeple ships)."""

FORFEIT_REASONS: dict[str, str] = {
    "resigned": "the seat sent resign",
    "left": "the seat sent leave during the game, or gave its seat up over REST",
    "abandoned": "the seat's player did not come back within the grace period (forfeit)",
    "timeout": "the seat's clock ran out (a room with clocks, or a game's turn limit)",
    "bot failed": "a server-side bot failed to move",
}
"""The ``reason`` of a result that a forfeit ended (``r.reason`` in a ``d``)."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


MessageId = Annotated[int, Field(ge=0, le=2**53 - 1)]


# Client to server ------------------------------------------------------------


class MoveMsg(_Message):
    """Make a move; ``m`` is the game's move (see the game catalog's move schema)."""

    t: Literal["move"]
    id: MessageId | None = None
    m: dict[str, Any]


class ChatMsg(_Message):
    t: Literal["chat"]
    id: MessageId | None = None
    text: Annotated[str, Field(min_length=1, max_length=MAX_CHAT)]


class ResignMsg(_Message):
    t: Literal["resign"]
    id: MessageId | None = None


class LeaveMsg(_Message):
    """Leave the room: a seat is given up (forfeited if a game is on) and the server closes 1000."""

    t: Literal["leave"]
    id: MessageId | None = None


class RematchMsg(_Message):
    """Vote for a new game in the same room once this one is over."""

    t: Literal["rematch"]
    id: MessageId | None = None


class SyncMsg(_Message):
    """Ask for a snapshot, e.g. after noticing a gap in sequence numbers."""

    t: Literal["sync"]
    id: MessageId | None = None


class PingMsg(_Message):
    """Application-level ping for clients that cannot see WebSocket pings (browsers)."""

    t: Literal["ping"]
    id: MessageId | None = None


class LegalMovesMsg(_Message):
    """Ask for this seat's legal moves now (a seat to act only): answered by ``moves``."""

    t: Literal["moves"]
    id: MessageId | None = None


ClientMessage = Annotated[
    MoveMsg | ChatMsg | ResignMsg | LeaveMsg | RematchMsg | SyncMsg | PingMsg | LegalMovesMsg,
    Field(discriminator="t"),
]
client_message = TypeAdapter(ClientMessage)
CLIENT_TYPES = frozenset({"move", "chat", "resign", "leave", "rematch", "sync", "ping", "moves"})


# Server to client ------------------------------------------------------------


class SeatInfo(_Message):
    kind: Literal["empty", "human", "bot"]
    player_id: str | None
    name: str | None
    bot: bool = False
    """A bot plays this seat: the server's own (kind ``bot``) or a bot account's
    (kind ``human``: it plays over the protocol like a person)."""
    on: bool
    """Connected now (bots always are)."""
    back: int | None = None
    """While an away player's grace period runs: when it ends, ms since the Unix epoch
    (room and snap messages only)."""


class Result(_Message):
    winners: list[int]
    draw: bool
    returns: list[float]
    reason: str


class RoomMsg(_Message):
    """Seats, presence and status; sent on connect and whenever one of them changes."""

    t: Literal["room"]
    room: str
    st: Literal["waiting", "playing", "finished"]
    seats: list[SeatInfo]
    spec: int
    """How many spectators are connected."""
    rematch: list[int]
    """Seats that voted for a rematch."""
    score: list[float] = []
    """Per seat, its player's points over the room's games so far (a win 1, a draw ½)."""


class Clocks(_Message):
    """Each seat's remaining time and whose clocks run: a client counts the running ones
    down from when the message arrived (the server's clock decides, never the client's)."""

    ms: list[int]
    """Remaining milliseconds per seat, as of the message."""
    run: list[int]
    """The seats whose clocks run (those to act)."""


class SnapMsg(_Message):
    """The whole state as this connection may see it."""

    t: Literal["snap"]
    s: int
    """Changes in this game so far: 1 is its start; each ``d`` that follows adds one."""
    n: int
    """The game's number in this room (0 for the first, then one more per rematch); a
    resuming client passes it back as ``game`` with ``since``."""
    room: str
    g: str
    """The game's name."""
    seat: int | None
    """This connection's seat; None for a spectator."""
    v: dict[str, Any]
    """The view: the game's state as this seat may see it ({} before the first game)."""
    lo: list[list[Any]] | None = None
    """The operations of the last change in this game that altered this view (the ``o``
    of the last non-empty ``d`` this seat was sent; ``v`` includes them already), or
    None before the first: so a board shows what moved last to a client that did not see
    it move."""
    a: list[int]
    """Seats to act."""
    st: Literal["waiting", "playing", "finished"]
    r: Result | None
    dl: int | None
    """The turn deadline, milliseconds since the Unix epoch, if a turn timer runs."""
    k: Clocks | None = None
    """The clocks as of this message, in a room with clocks."""
    seats: list[SeatInfo]


class DeltaMsg(_Message):
    """One state change: apply ``o`` to the view of sequence number ``s - 1``."""

    t: Literal["d"]
    s: int
    o: list[list[Any]]
    a: list[int]
    st: Literal["playing", "finished"] | None = None
    """Present when the status changed."""
    r: Result | None = None
    """Present when the game ended."""
    dl: int | None = None
    """Present when a turn timer runs."""
    k: Clocks | None = None
    """Present in a room with clocks: the clocks as this change left them."""
    ack: int | None = None
    """Only in the mover's copy: the id of its message that made this change (its
    acknowledgement; null when that message had no id)."""


class AckMsg(_Message):
    """A message that changed no state (a rematch vote) was accepted at ``s``."""

    t: Literal["ack"]
    id: int | None
    s: int


class ErrMsg(_Message):
    """A message was refused; nothing changed. ``id`` echoes the refused message's id."""

    t: Literal["err"]
    id: int | None
    code: str
    msg: str


class ChatOut(_Message):
    t: Literal["chat"]
    seat: int | None
    name: str
    text: str
    at: str
    """When the server received it: ISO 8601, UTC."""


class ChatsOut(_Message):
    """The room's last chat lines (at most ``CHAT_HISTORY``, oldest first), on connect."""

    t: Literal["chats"]
    l: list[ChatOut]  # noqa: E741 (the wire's one-letter key)


class PongMsg(_Message):
    t: Literal["pong"]
    id: int | None


class MovesOut(_Message):
    """The asking seat's legal moves at sequence number ``s``, as the move schema has them."""

    t: Literal["moves"]
    id: int | None
    s: int
    m: list[dict[str, Any]]
    more: bool
    """True when the list was cut at ``MAX_LEGAL_MOVES`` (or at the frame limit)."""


ServerMessage = Annotated[
    RoomMsg | SnapMsg | DeltaMsg | AckMsg | ErrMsg | ChatOut | ChatsOut | PongMsg | MovesOut,
    Field(discriminator="t"),
]
server_message = TypeAdapter(ServerMessage)


def json_schema() -> dict[str, Any]:
    """The machine-readable protocol: JSON Schema for both directions."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Meeple WebSocket protocol",
        "description": (
            f"Binary frames, one MessagePack map each, subprotocol {SUBPROTOCOL!r}. "
            "See docs/protocol.md."
        ),
        "client_to_server": client_message.json_schema(),
        "server_to_client": server_message.json_schema(),
        "close_codes": {str(code): meaning for code, meaning in CLOSE_CODES.items()},
        "error_codes": dict(ERROR_CODES),
        "forfeit_reasons": dict(FORFEIT_REASONS),
        "limits": {
            "max_frame": MAX_FRAME,
            "max_chat": MAX_CHAT,
            "chat_history": CHAT_HISTORY,
            "max_fragments": MAX_FRAGMENTS,
            "max_legal_moves": MAX_LEGAL_MOVES,
        },
    }
