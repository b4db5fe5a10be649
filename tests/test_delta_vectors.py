"""game/delta.py and game/codec.py against the shared vectors in tests/vectors/deltas.json.

The same file is checked in the browser by tests/test_browser_delta.py, so the Python
and JavaScript sides agree on the delta format and its MessagePack bytes. Equality
here is strict: True is not 1 and 1 is not 1.0, because the wire tells them apart.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meeple.game.codec import canonical, decode, encode
from meeple.game.delta import apply_delta, diff

VECTORS = Path(__file__).parent / "vectors"
CASES: list[dict[str, Any]] = json.loads((VECTORS / "deltas.json").read_text(encoding="utf-8"))
BY_HAND: list[dict[str, Any]] = json.loads((VECTORS / "by_hand.json").read_text(encoding="utf-8"))
"""Written from docs/protocol.md's rules, ops and bytes alike: not made by the code they test."""
MAX_SAFE = 2**53 - 1


def _load_maker() -> Any:
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_vectors = _load_maker()
strictly_equal = make_vectors.strictly_equal


def test_there_are_vectors_for_every_corner() -> None:
    names = " ".join(c["name"] for c in CASES)
    for word in ("tictactoe", "connect4", "castles", "promotes", "liarsdice", "challenge"):
        assert word in names
    assert any(c["ops"] and c["ops"][0][0] == [] for c in CASES), "a whole-view replace"
    assert any(len(op) == 1 for c in CASES for op in c["ops"]), "a key deletion"


def test_the_file_is_up_to_date() -> None:
    text = make_vectors.render(make_vectors.build())
    on_disk = (VECTORS / "deltas.json").read_text(encoding="utf-8")
    assert text == on_disk, "run: python tests/vectors/make_vectors.py"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    before, ops, after = case["before"], case["ops"], case["after"]
    kept = copy.deepcopy(before)

    assert strictly_equal(apply_delta(before, ops), after)
    assert strictly_equal(before, kept), "apply_delta mutated its input"
    assert strictly_equal(diff(before, after), ops)

    data = bytes.fromhex(case["msgpack_hex"])
    msg = decode(data)
    assert msg["t"] == "d"
    assert strictly_equal(msg["o"], ops)
    assert encode(canonical(msg)) == data
    # The message rebuilt from the case's parts encodes to the same bytes.
    rebuilt = {"t": "d", "s": msg["s"], "o": ops, "a": msg["a"]}
    assert encode(canonical(rebuilt)) == data


@pytest.mark.parametrize("case", BY_HAND, ids=[c["name"] for c in BY_HAND])
def test_vector_by_hand(case: dict[str, Any]) -> None:
    before, ops, after = case["before"], case["ops"], case["after"]
    assert strictly_equal(apply_delta(before, ops), after), case["rule"]
    if case["diff"]:  # the one smallest delta; elsewhere diff may find another that works
        assert strictly_equal(diff(before, after), ops)
    else:
        assert strictly_equal(apply_delta(before, diff(before, after)), after)
    data = bytes.fromhex(case["msgpack_hex"])
    msg = decode(data)
    assert set(msg) == {"t", "s", "o", "a"} and msg["t"] == "d"
    assert strictly_equal(msg["o"], ops)
    assert encode(canonical(msg)) == data


def test_apply_copies_only_along_the_changed_path() -> None:
    view: dict[str, Any] = {"b": [0, 1, 2], "big": {"k": list(range(100))}, "p": {"q": {"r": 1}}}
    new = apply_delta(view, [[["p", "q", "r"], 2]])
    assert new["big"] is view["big"]
    assert new["b"] is view["b"]
    assert new["p"] is not view["p"] and new["p"]["q"] is not view["p"]["q"]
    assert view["p"]["q"]["r"] == 1


def test_apply_does_not_alias_values_it_was_given() -> None:
    ops: list[Any] = [[["a"], {"x": [1]}], [["a", "x", 1], 2]]
    new = apply_delta({}, ops)
    assert new == {"a": {"x": [1, 2]}}
    assert ops[0][1] == {"x": [1]}, "a later op changed an earlier op's value"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"x": 1}, {"x": True}),
        ({"x": False}, {"x": 0}),
        ([1, 2], [True, 2]),
        ([1], [True, 5]),
        ({"x": 1}, {"x": 1.0}),
        ({"a": {"x": [0]}}, {"a": {"x": [False]}}),
    ],
)
def test_diff_tells_bools_ints_and_floats_apart(before: Any, after: Any) -> None:
    assert strictly_equal(apply_delta(before, diff(before, after)), after)


# Properties --------------------------------------------------------------------

keys = st.text(max_size=4)
ints = st.integers(min_value=-MAX_SAFE, max_value=MAX_SAFE)
text = st.text(max_size=6)
floats = st.floats(allow_nan=False, allow_infinity=False)


def views(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    values = st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=20,
    )
    return st.dictionaries(keys, values, max_size=6)


leaves = st.none() | st.booleans() | ints | text | floats


@settings(max_examples=300, deadline=None)
@given(views(leaves), views(leaves))
def test_apply_of_diff_gives_the_new_view(a: dict[str, Any], b: dict[str, Any]) -> None:
    kept = copy.deepcopy(a)
    result = apply_delta(a, diff(a, b))
    assert strictly_equal(result, b)
    assert strictly_equal(a, kept), "apply_delta mutated its input"


@settings(max_examples=300, deadline=None)
@given(views(leaves))
def test_a_view_against_a_lookalike(a: dict[str, Any]) -> None:
    # The same view with every bool turned into an int and every int into a float:
    # equal by Python's ==, different on the wire, so the delta must not be empty.
    def lookalike(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: lookalike(x) for k, x in v.items()}
        if isinstance(v, list):
            return [lookalike(x) for x in v]
        if type(v) is bool:
            return int(v)
        if type(v) is int and abs(v) < 2**53:
            return float(v)
        return v

    b = lookalike(a)
    assert strictly_equal(apply_delta(a, diff(a, b)), b)
    assert strictly_equal(apply_delta(b, diff(b, a)), a)


@settings(max_examples=200, deadline=None)
@given(views(leaves), views(leaves))
def test_a_delta_message_survives_the_codec(a: dict[str, Any], b: dict[str, Any]) -> None:
    msg = canonical({"t": "d", "s": 1, "o": diff(a, b), "a": [0]})
    data = encode(msg)
    assert strictly_equal(decode(data), msg)
