"""Writes tests/vectors/deltas.json: the delta test vectors every client checks against.

Each case is ``{"name", "before", "ops", "after", "msgpack_hex"}``: two views, the
operations ``meeple.game.delta.diff`` finds between them, and the hex of the canonical
MessagePack encoding of the full delta message ``{"t": "d", "s", "o": ops, "a"}``
that carries them. Python (tests/test_delta_vectors.py) and the browser
(tests/test_browser_delta.py, client/web/delta.js) both check the same file, so
the two implementations cannot drift apart.

The output is deterministic; run ``python tests/vectors/make_vectors.py`` after
changing game/delta.py, game/codec.py or a game's view, and commit the file.
``--check`` only compares. Views are built by the real games, found as the server finds them
where they exist, and by hand for the edge cases of the format.

Values stay inside what both sides encode the same way: integers within
±(2**53 - 1), no integral floats (JavaScript would encode ``1.0`` as the int 1),
dict keys whose sort order is the same by code point (Python) and by UTF-16 code
unit (JavaScript's ``sortKeys``).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(ROOT))

from meeple.game.api import Rejection  # noqa: E402
from meeple.game.codec import canonical, encode  # noqa: E402
from meeple.game.delta import apply_delta, diff  # noqa: E402
from meeple.lobby.games import build_games  # noqa: E402

registry = build_games().registry

OUT = Path(__file__).resolve().parent / "deltas.json"

MAX_SAFE = 2**53 - 1

Case = dict[str, Any]
Moves = list[tuple[int, dict[str, Any]]]
"""(seat, move as the client sends it) pairs."""


def message(seq: int, ops: list[Any], to_act: list[int]) -> dict[str, Any]:
    """The full delta message as the server sends it."""
    return {"t": "d", "s": seq, "o": ops, "a": to_act}


def strictly_equal(a: Any, b: Any) -> bool:
    """Equality that also tells True from 1 and 1 from 1.0, as the wire does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# Views from the real games ---------------------------------------------------


def _play(
    name: str, seats: int, options: dict[str, Any], moves: Moves
) -> Iterator[tuple[Any, Any]]:
    """Yield (state before, state after) for each move, replaying from a fixed seed."""
    game = registry[name]
    opts = game.parse_options(options)
    state = game.setup(seats, opts, random.Random(f"vectors:{name}:setup"))
    adapter = game.move_adapter()
    for step, (seat, raw) in enumerate(moves):
        rng = random.Random(f"vectors:{name}:{step}")
        new = game.apply(state, seat, adapter.validate_python(raw), rng)
        if isinstance(new, Rejection):
            raise ValueError(f"{name}: move {step} {raw} refused: {new}")
        yield state, new
        state = new


def game_cases() -> list[tuple[str, Any, Any, list[int]]]:
    """(name, before, after, to_act) for moves in the built-in games."""
    cases: list[tuple[str, Any, Any, list[int]]] = []

    def add(name: str, game_name: str, seat_view: int | None, before: Any, after: Any) -> None:
        game = registry[game_name]
        cases.append(
            (
                name,
                game.view(before, seat_view),
                game.view(after, seat_view),
                list(game.to_act(after)),
            )
        )

    if "tictactoe" in registry:
        moves: Moves = [(0, {"cell": 4}), (1, {"cell": 0}), (0, {"cell": 2}), (1, {"cell": 8})]
        moves += [(0, {"cell": 6})]
        steps = list(_play("tictactoe", 2, {}, moves))
        add("tictactoe: X takes the centre", "tictactoe", None, *steps[0])
        add("tictactoe: O answers in a corner", "tictactoe", 1, *steps[1])
        add("tictactoe: X completes a diagonal and wins", "tictactoe", 0, *steps[4])

    if "connect4" in registry:
        cols = [3, 3, 2, 4, 1, 5, 0]
        moves = [(i % 2, {"col": c}) for i, c in enumerate(cols)]
        steps = list(_play("connect4", 2, {}, moves))
        add("connect4: first disc into an empty column", "connect4", None, *steps[0])
        add("connect4: a disc lands on another", "connect4", 0, *steps[1])
        add("connect4: four in a row adds the winning line", "connect4", 1, *steps[6])

    if "chess" in registry:
        opening = ["e2e4", "e7e5", "g1f3", "b8c6", "f1c4", "g8f6", "e1g1"]
        moves = [(i % 2, {"kind": "move", "uci": u}) for i, u in enumerate(opening)]
        steps = list(_play("chess", 2, {}, moves))
        add("chess: 1. e4 from the start", "chess", None, *steps[0])
        add("chess: a knight develops", "chess", 1, *steps[2])
        add("chess: white castles kingside", "chess", 0, *steps[6])

        promo = "8/1P4k1/8/8/8/8/6K1/8 w - - 0 1"
        steps = list(_play("chess", 2, {"fen": promo}, [(0, {"kind": "move", "uci": "b7b8q"})]))
        add("chess: a pawn promotes to a queen", "chess", None, *steps[0])
        capture = "2r3k1/1P6/8/8/8/8/6K1/8 w - - 0 1"
        steps = list(_play("chess", 2, {"fen": capture}, [(0, {"kind": "move", "uci": "b7c8n"})]))
        add("chess: a pawn captures and underpromotes to a knight", "chess", 1, *steps[0])

        passant = ["e2e4", "a7a6", "e4e5", "d7d5", "e5d6"]
        moves = [(i % 2, {"kind": "move", "uci": u}) for i, u in enumerate(passant)]
        steps = list(_play("chess", 2, {}, moves))
        add("chess: en passant clears a third square", "chess", None, *steps[4])

        offer: Moves = [(0, {"kind": "offer_draw"}), (0, {"kind": "move", "uci": "d2d4"})]
        steps = list(_play("chess", 2, {}, offer))
        add("chess: white offers a draw", "chess", 1, *steps[0])
        mate = ["f2f3", "e7e5", "g2g4", "d8h4"]
        moves = [(i % 2, {"kind": "move", "uci": u}) for i, u in enumerate(mate)]
        steps = list(_play("chess", 2, {}, moves))
        add("chess: fool's mate gives check", "chess", 0, *steps[3])

    if "liarsdice" in registry:
        bids: Moves = [
            (0, {"kind": "bid", "qty": 2, "face": 3}),
            (1, {"kind": "bid", "qty": 3, "face": 3}),
            (2, {"kind": "bid", "qty": 4, "face": 6}),
            (0, {"kind": "challenge"}),
        ]
        steps = list(_play("liarsdice", 3, {"dice_per_player": 3}, bids))
        add("liarsdice: the opening bid, seen by the bidder", "liarsdice", 0, *steps[0])
        add("liarsdice: a raise, seen by another seat", "liarsdice", 2, *steps[1])
        add("liarsdice: a raise, seen by a spectator", "liarsdice", None, *steps[2])
        add("liarsdice: a challenge reveals every die, seat 1's view", "liarsdice", 1, *steps[3])
        add("liarsdice: a challenge, seen by a spectator", "liarsdice", None, *steps[3])

    return cases


# Hand-written views: the corners of the format ----------------------------------

HAND_CASES: list[tuple[str, Any, Any]] = [
    ("nothing changes", {"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}),
    ("from the empty view before the first game", {}, {"b": [-1, -1, -1], "t": 0}),
    (
        "nested dict: add a key, change a key, delete a key",
        {"p": {"hp": 3, "name": "Ada", "old": True}, "q": 1},
        {"p": {"hp": 2, "name": "Ada", "xp": 10}, "q": 1},
    ),
    (
        "nested dict: delete every key and add a new subtree",
        {"a": {"b": {"c": 1}}, "z": {"k": 0}},
        {"a": {"b": {}}, "z": {"k": 0, "n": {"deep": {"er": [1]}}}},
    ),
    ("list append: one item", {"m": ["e2e4"]}, {"m": ["e2e4", "e7e5"]}),
    ("list append: several items to an empty list", {"m": []}, {"m": [1, [2], {"x": 3}]}),
    ("list shrink replaces the list whole", {"b": [1, 2, 3, 4]}, {"b": [1, 2]}),
    ("list emptied", {"b": [[0, 2, 3], [1, 3, 3]]}, {"b": []}),
    ("list changed in front and grown replaces it whole", {"b": [1, 2]}, {"b": [0, 2, 3]}),
    (
        "list items changed in place, nested inside a list",
        {"p": [{"hp": 3}, {"hp": 5}, [0, 0]]},
        {"p": [{"hp": 3}, {"hp": 4}, [0, 1]]},
    ),
    (
        "type changes: int to str, list to dict, dict to list, str to None",
        {"a": 1, "b": [1], "c": {"k": 1}, "d": "x"},
        {"a": "1", "b": {"0": 1}, "c": [1], "d": None},
    ),
    ("whole-view replace: the root changes type", {"a": 1}, [1, 2]),
    ("whole-view replace: from a scalar root", 7, {"a": {"b": 1}}),
    (
        "unicode strings and keys",
        {"name": "Ada", "msg": "", "ключ": "значение"},
        {"name": "Ådå Łovelace", "msg": "日本語 🎲 e\u0301 \u0000 \u2028", "ключ": "ё"},
    ),
    (
        "strings across the fixstr/str8/str16 boundaries",
        {"s": "x" * 31},
        {"s": "x" * 32, "t": "é" * 128, "u": "y" * 256},
    ),
    (
        "negative ints at every MessagePack width",
        {"n": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]},
        {"n": [-1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -MAX_SAFE]},
    ),
    (
        "ints near 2**53 and at every unsigned width",
        {"u": [0, 0, 0, 0, 0, 0, 0, 0, 0]},
        {"u": [127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, MAX_SAFE]},
    ),
    ("big ints as the whole value", {"a": -MAX_SAFE}, {"a": MAX_SAFE}),
    (
        "bools and ints stay apart",
        {"a": 0, "b": True, "c": 1, "d": False, "e": [True, 0]},
        {"a": True, "b": 0, "c": False, "d": 1, "e": [True, 0, False, 1]},
    ),
    (
        "bools and ints that Python's == calls equal still change",
        {"a": 1, "b": False, "c": [1, 0], "d": {"x": True}, "e": [1]},
        {"a": True, "b": 0, "c": [True, False], "d": {"x": 1}, "e": [True, 2]},
    ),
    (
        "None values: set, replaced, added and inside lists",
        {"x": None, "y": 5, "l": [None, 1]},
        {"x": 0, "y": None, "z": None, "l": [None, None]},
    ),
    (
        "empty dicts and lists as values",
        {"a": {"k": 1}, "b": [1], "c": {}, "d": []},
        {"a": {}, "b": [], "c": {"k": []}, "d": [{}]},
    ),
    ("non-integral floats", {"r": [0.5, 0.5]}, {"r": [0.25, -2.75]}),
    (
        "keys that look like numbers sort as strings",
        {"x": 0},
        {"x": 0, "10": 1, "9": 2, "a": 3, "": 4, "A": 5},
    ),
    (
        "a long list and a big map (array16, map16)",
        {"l": [], "m": {}},
        {"l": list(range(20)), "m": {f"k{i:02d}": i for i in range(20)}},
    ),
]


def build() -> list[Case]:
    rows = [(n, b, a, to_act) for n, b, a, to_act in game_cases()]
    rows += [(n, b, a, [0]) for n, b, a in HAND_CASES]
    cases: list[Case] = []
    for i, (name, before_raw, after_raw, to_act) in enumerate(rows):
        before, after = canonical(before_raw), canonical(after_raw)
        ops = diff(before, after)
        if not strictly_equal(apply_delta(before, ops), after):
            raise SystemExit(
                f"case {name!r}: meeple.game.delta.diff gives {ops}, which misses the change"
            )
        wire = encode(canonical(message(i + 1, ops, to_act)))
        cases.append(
            {"name": name, "before": before, "ops": ops, "after": after, "msgpack_hex": wire.hex()}
        )
    return cases


def render(cases: list[Case]) -> str:
    """A JSON list with one case a line, so a change shows up as a one-line diff."""
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
    return f"[\n{lines}\n]\n"


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python {Path(__file__).relative_to(ROOT)}")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {len(json.loads(text))} cases to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
