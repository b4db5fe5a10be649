"""The game catalog, and the files of each game's board module for the browser.

A game declares its board as package data (``Game.board = "package:path/board.js"``);
``meeple.lobby.games`` found it at start-up, and here the module and the files beside
it (its own imports, styles, pictures) are served under ``/games/{name}/board/``. The
catalog names the module's URL, and the room page imports it from there.
"""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Annotated

from fastapi import APIRouter, Header, Response

from meeple.game.api import describe
from meeple.lobby.http.auth import ServicesDep
from meeple.lobby.http.models import GameOut
from meeple.lobby.http.problems import ProblemError, problem_responses

router = APIRouter(tags=["games"])

TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".ts": "text/plain"}
"""Content types the standard table gets wrong or leaves out (``.d.ts`` is text)."""


@router.get("/api/games", response_model=list[GameOut])
async def catalog(services: ServicesDep) -> list[GameOut]:
    """Every game this server offers, with the JSON Schemas of its options and moves and
    the URL of its board module (null: the browser shows the generic board)."""
    out = []
    for game in services.games.registry.values():
        info = describe(game)
        board = services.games.boards.get(info.name)
        out.append(
            GameOut(
                name=info.name,
                title=info.title,
                min_seats=info.min_seats,
                max_seats=info.max_seats,
                description=info.description,
                options_schema=info.options_schema,
                move_schema=info.move_schema,
                board=board.url if board else None,
            )
        )
    return out


@router.get(
    "/games/{name}/board/{path:path}",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}}, **problem_responses(404)},
)
async def board_file(
    name: str,
    path: str,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A file of a game's board module: the module itself or one beside it (package data)."""
    board = services.games.boards.get(name)
    parts = path.split("/")
    if board is None or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise ProblemError(404, "not_found", f"no board file {path!r} for game {name!r}")
    target = board.folder.joinpath(*parts)
    if not target.is_file():
        raise ProblemError(404, "not_found", f"no board file {path!r} for game {name!r}")
    body = target.read_bytes()
    etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if if_none_match == etag:
        return Response(status_code=304, headers=headers)
    suffix = "." + parts[-1].rpartition(".")[2]
    media = TYPES.get(suffix) or mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    if media.startswith("text/"):
        media += "; charset=utf-8"
    return Response(body, media_type=media, headers=headers)
