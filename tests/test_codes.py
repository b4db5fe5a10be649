"""Every code the server can send is documented (issue 16, item 11): problem codes, err
codes, forfeit reasons and close codes, read from the source with ``ast``. A code the
source can send that the registries (game/protocol.py, lobby/http/problems.py), the
served /api/protocol.json or docs/protocol.md do not list fails here."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import httpx

from meeple.game import api as game_api
from meeple.game import protocol
from meeple.lobby.http.problems import PROBLEM_CODES, STATUS_CODES
from tests.servers import ROOT, LiveServer

DOCS = (ROOT / "docs" / "protocol.md").read_text()
CONSTANTS = {
    name: value
    for module in (protocol, game_api)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str | int)
}


CLOSERS = ("close", "close_frame", "_close", "_end", "_fail", "FrameError")
"""What takes a close code as its first argument."""


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from (ROOT / folder).rglob("*.py")


def literal(node: ast.AST | None) -> str | int | None:
    """A string or int literal, or a module constant (``NOT_YOUR_TURN``, ``CLOSE_POLICY``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int):
        return node.value
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    return CONSTANTS.get(name) if isinstance(name, str) else None


def calls(*folders: str) -> Iterator[tuple[str, ast.Call, Path]]:
    for path in python_files(*folders):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                yield name, node, path


def sent(kind: str) -> dict[str | int, str]:
    """What the source can send of ``kind``, each with where."""
    found: dict[str | int, str] = {}

    def add(value: str | int | None, call: ast.Call, path: Path) -> None:
        if value is not None:
            found.setdefault(value, f"{path.relative_to(ROOT)}:{call.lineno}")

    for name, call, path in calls("lobby", "game"):
        args = call.args
        if kind == "problem":
            if name == "ProblemError" and len(args) >= 2:
                add(literal(args[1]), call, path)
            elif name == "RoomError" and args:
                add(literal(args[0]), call, path)
        elif kind == "error":
            if name == "error" and len(args) >= 2:
                add(literal(args[1]), call, path)
            elif name == "Rejection" and args and "games" not in path.parts:
                add(literal(args[0]), call, path)
        elif kind == "game":
            if name == "Rejection" and args and "games" in path.parts:
                add(literal(args[0]), call, path)
        elif kind == "forfeit":
            if name == "forfeit" and args:
                add(literal(args[-1]), call, path)
        elif kind == "close" and name in CLOSERS and args:
            code = literal(args[0])
            add(code if isinstance(code, int) else None, call, path)
    return found


def test_every_problem_code_the_source_sends_is_listed() -> None:
    listed: dict[str | int, str] = {code: "STATUS_CODES" for code in STATUS_CODES.values()}
    codes = {**sent("problem"), **listed}
    assert codes.keys() <= PROBLEM_CODES.keys(), {
        c: codes[c] for c in codes if c not in PROBLEM_CODES
    }
    assert len(codes) > 25  # the scan sees the calls


def test_every_err_code_the_source_sends_is_listed() -> None:
    codes = sent("error")
    codes.pop("code", None)  # Room._apply passes a Rejection's code on (listed below)
    missing = {c: w for c, w in codes.items() if c not in protocol.ERROR_CODES}
    assert not missing and len(codes) > 10


def test_every_forfeit_reason_and_close_code_is_listed() -> None:
    reasons = sent("forfeit")
    reasons.pop("reason", None)  # Match.forfeit passes its argument on
    assert reasons.keys() <= protocol.FORFEIT_REASONS.keys(), reasons
    closes = sent("close")
    assert closes.keys() <= protocol.CLOSE_CODES.keys(), closes
    assert {1002, 1007, 1008, 1009, 4401} <= closes.keys()


def test_the_docs_list_every_code() -> None:
    listed = set(re.findall(r"`([a-z_ ]+)`", DOCS))
    for registry in (PROBLEM_CODES, protocol.ERROR_CODES, protocol.FORFEIT_REASONS):
        assert registry.keys() <= listed, registry.keys() - listed
    games = sent("game")
    assert games.keys() <= listed, {c: w for c, w in games.items() if c not in listed}
    closes = {int(c) for c in re.findall(r"^\| (\d{4}) \|", DOCS, re.MULTILINE)}
    assert closes == protocol.CLOSE_CODES.keys()


async def test_protocol_json_lists_every_code(server: LiveServer) -> None:
    async with httpx.AsyncClient() as client:
        served = (await client.get(f"{server.http}/api/protocol.json")).json()
    assert served["problem_codes"] == PROBLEM_CODES
    assert served["error_codes"] == protocol.ERROR_CODES
    assert served["forfeit_reasons"] == protocol.FORFEIT_REASONS
    assert {int(c) for c in served["close_codes"]} == protocol.CLOSE_CODES.keys()
    assert {"1002", "1007"} <= served["close_codes"].keys()
