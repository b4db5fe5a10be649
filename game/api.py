"""The game-definition API: what a game author writes, in one file.

A game is a set of pure functions over a state of the game's own choosing, in the
spirit of OpenSpiel: who acts now, the legal moves, apply a move, is it over and
who won, and what one seat (or a spectator) may observe. Nothing here reads a
clock, touches a socket or keeps a hidden random generator: randomness arrives as
an argument, so a match replays bit for bit from its seed and its log.

States are never mutated. ``apply`` returns a new state or a ``Rejection``; the
old state stays valid, which is what lets the match keep it when a move fails.
The ``rng`` a rule gets is good for that call only: draw from it, never keep it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, TypeAlias, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, model_validator

#: A view is plain data: dicts with string keys, lists, str, int, float, bool, None.
#: It is what goes on the wire, so keep keys short and ints within 2**53.
View: TypeAlias = dict[str, Any]

S = TypeVar("S")
M = TypeVar("M")
OptionsT = TypeVar("OptionsT", bound="Options")

SPECTATOR = None
"""The audience key for the public view: seat ``None`` sees what everyone may see."""


def _int_shape(annotation: Any) -> str | None:
    """``"int"`` for an int field (optional or constrained), ``"list"`` for a list of ints."""
    if annotation is int:
        return "int"
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is list:
        return "list" if args and _int_shape(args[0]) == "int" else None
    if get_origin(annotation) is Annotated:
        return _int_shape(args[0])
    if args and all(_int_shape(a) == "int" for a in args):  # int | None
        return "int"
    return None


def whole_numbers(model: type[BaseModel], data: Any) -> Any:
    """``data`` with whole floats for int fields made ints. JSON has one kind of number
    (``2.0`` is an integer to JSON Schema) while a strict model takes ``int`` only; a
    strict model, so that ``true`` is no ``1`` and ``0`` no ``false``."""
    if not isinstance(data, dict):
        return data
    out = data
    for name, info in model.model_fields.items():
        value = data.get(name)
        shape = _int_shape(info.annotation) if isinstance(value, float | list) else None
        if shape == "int" and type(value) is float and value.is_integer():
            out = {**out, name: int(value)}
        elif shape == "list" and isinstance(value, list):
            items = [int(v) if type(v) is float and v.is_integer() else v for v in value]
            out = {**out, name: items}
    return out


class Options(BaseModel):
    """A game's room options. Subclass it; every field needs a default. JSON types are
    taken as the schema says them (strict, but a whole float is an int)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        return whole_numbers(cls, data)


class MoveModel(BaseModel):
    """Base for a game's move models: unknown fields and wrong types are errors, not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a move was refused.

    ``code`` is stable (clients branch on it); ``message`` is for people.
    """

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a finished game ended.

    ``returns`` holds one number per seat (OpenSpiel's returns): 1 win, 0 loss,
    0.5 draw for two-player games; games with scores put the scores there.
    """

    winners: tuple[int, ...]
    draw: bool
    returns: tuple[float, ...]
    reason: str

    def as_view(self) -> View:
        return {
            "winners": list(self.winners),
            "draw": self.draw,
            "returns": list(self.returns),
            "reason": self.reason,
        }


def win(winner: int, seats: int, reason: str) -> Outcome:
    """The outcome where one seat wins and every other seat loses."""
    return Outcome(
        (winner,), False, tuple(1.0 if s == winner else 0.0 for s in range(seats)), reason
    )


def draw(seats: int, reason: str) -> Outcome:
    """The outcome where nobody wins."""
    return Outcome((), True, tuple(0.5 for _ in range(seats)), reason)


# Rejection codes the match itself uses; games add their own.
NOT_YOUR_TURN = "not_your_turn"
BAD_MOVE = "bad_move"
GAME_OVER = "game_over"
NOT_PLAYING = "not_playing"
NOT_A_SEAT = "not_a_seat"


class Game(Generic[S, M, OptionsT]):
    """Subclass this (as a plain class) and fill in the methods; see docs/games.md.

    Class attributes describe the game for the catalog: its ``name`` (the id used
    on the wire), ``title``, seat counts, its ``options`` model and its ``move``
    type (a pydantic model, or an annotated union of models). A ``turn_seconds``
    option, if the options model has one, turns on the turn timer.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    min_seats: ClassVar[int]
    max_seats: ClassVar[int]
    options: ClassVar[type[Options]] = Options
    move: ClassVar[Any]
    description: ClassVar[str] = ""
    #: False when every seat sees what a spectator sees: one view, one delta, one encoding.
    hidden_information: ClassVar[bool] = True
    #: What a room does by default when a disconnected seat's grace period ends.
    default_abandon_policy: ClassVar[str] = "forfeit"
    #: The game's board for the browser: an ES module shipped as package data, named
    #: ``"package:path/in/package.js"`` (see docs/games.md). The server serves the module
    #: and the files beside it; None gets the generic board (the view, moves as buttons).
    board: ClassVar[str | None] = None

    _adapter: ClassVar[TypeAdapter[Any] | None] = None

    @classmethod
    def move_adapter(cls) -> TypeAdapter[Any]:
        """The validator for this game's moves, built once per class."""
        adapter = cls.__dict__.get("_adapter")
        if adapter is None:
            adapter = TypeAdapter(cls.move)
            cls._adapter = adapter
        return adapter

    def parse_options(self, raw: Mapping[str, Any] | None) -> OptionsT:
        return self.options.model_validate(dict(raw or {}))  # type: ignore[return-value]

    # The rules. ``seats`` is the number of seats in the match.

    def setup(self, seats: int, options: OptionsT, rng: random.Random) -> S:
        """The initial state."""
        raise NotImplementedError

    def to_act(self, state: S) -> Sequence[int]:
        """The seats that may move now (empty when the game is over)."""
        raise NotImplementedError

    def legal_moves(self, state: S, seat: int) -> list[M]:
        """Every move ``seat`` may make now; bots and tests enumerate it."""
        raise NotImplementedError

    def apply(self, state: S, seat: int, move: M, rng: random.Random) -> S | Rejection:
        """The state after ``seat`` makes ``move``, or why it may not.

        Called only with a validated move from a seat in ``to_act``; must not
        mutate ``state``.
        """
        raise NotImplementedError

    def outcome(self, state: S) -> Outcome | None:
        """The result once the game is over, else None."""
        raise NotImplementedError

    def view(self, state: S, seat: int | None) -> View:
        """What ``seat`` may see; ``None`` is a spectator. Hidden information stays out."""
        raise NotImplementedError

    def forfeit(self, state: S, seat: int, reason: str) -> S:
        """The state after ``seat`` leaves the game (resigns, abandons, times out)."""
        raise NotImplementedError

    def max_moves(self, seats: int, options: OptionsT) -> int:
        """The most changes (moves, timeouts, forfeits) one game can take under any play:
        every game is over by then. The conformance kit holds random games to it."""
        raise NotImplementedError

    def turn_seconds(self, options: OptionsT) -> float | None:
        """The turn time limit, if any: by default the options' ``turn_seconds`` field."""
        value = getattr(options, "turn_seconds", None)
        return float(value) if value else None

    def on_timeout(self, state: S, seat: int, rng: random.Random) -> S:
        """What happens when ``seat``'s turn time runs out: by default it forfeits."""
        return self.forfeit(state, seat, "timeout")


@dataclass(frozen=True, slots=True)
class GameInfo:
    """A game's catalog entry."""

    name: str
    title: str
    min_seats: int
    max_seats: int
    description: str
    options_schema: dict[str, Any] = field(default_factory=dict)
    move_schema: dict[str, Any] = field(default_factory=dict)
    board: str | None = None
    """The board module's resource name (``"package:path.js"``), or None."""


def describe(game: Game[Any, Any, Any]) -> GameInfo:
    return GameInfo(
        name=game.name,
        title=game.title,
        min_seats=game.min_seats,
        max_seats=game.max_seats,
        description=game.description,
        options_schema=game.options.model_json_schema(),
        move_schema=game.move_adapter().json_schema(),
        board=game.board,
    )
