"""What FastAPI's OpenAPI document cannot say by itself, so that it says what the server does.

schemathesis (``--checks all``, in tests/test_schemathesis.py) holds the document to the
server's answers. FastAPI describes each body by its model alone; the server also
refuses, per game, seat counts, options and bot seats that a model cannot know. Here the
document gets, after FastAPI built it:

* the bodies of ``POST /api/rooms`` and ``POST /api/matchmaking/tickets`` as one
  variant per game and seat count (its options' schema, the bot seats it can take);
* ``400`` (a body that is not JSON) on every operation that takes a body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meeple.game.api import Game

REF = "#/components/schemas/{model}"


def patch(schema: dict[str, Any], games: Iterable[Game[Any, Any, Any]]) -> None:
    """Apply every patch to a document FastAPI built (in place), for the games served."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    paths = schema.get("paths", {})
    games = list(games)
    if games:
        rooms = _variants(components, games, "NewRoom", bots=True)
        _body(paths, "/api/rooms", "post", rooms)
        tickets = _variants(components, games, "NewTicket", bots=False)
        _body(paths, "/api/matchmaking/tickets", "post", tickets)
    for path in paths.values():
        for operation in path.values():
            if "requestBody" in operation:
                _bad_request(operation)


def _body(paths: dict[str, Any], path: str, method: str, variants: list[dict[str, Any]]) -> None:
    content = paths[path][method]["requestBody"]["content"]["application/json"]
    content["schema"] = {"anyOf": variants}


def _bad_request(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    if "400" in responses:
        return
    responses["400"] = {
        "description": "Bad Request: the body is not JSON",
        "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def _options(components: dict[str, Any], game: Game[Any, Any, Any]) -> dict[str, Any]:
    """The game's options schema, its definitions moved into the components."""
    name = game.options.__name__
    schema = game.options.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    components[name] = schema
    return {"anyOf": [{"$ref": REF.format(model=name)}, {"type": "null"}]}


def _variants(
    components: dict[str, Any], games: list[Game[Any, Any, Any]], model: str, *, bots: bool
) -> list[dict[str, Any]]:
    """One schema per game and seat count: the base model's, with what that game takes."""
    variants = []
    for game in games:
        options = _options(components, game)
        for seats in range(game.min_seats, game.max_seats + 1):
            count: dict[str, Any] = {"const": seats}
            if seats == game.min_seats:  # the default when seats is left out
                count = {"anyOf": [count, {"type": "null"}]}
            properties: dict[str, Any] = {
                "game": {"const": game.name},
                "seats": count,
                "options": options,
            }
            if bots:
                properties["bots"] = {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0, "maximum": seats - 1},
                    "uniqueItems": True,
                    "maxItems": seats - 1,
                }
            variant: dict[str, Any] = {
                "allOf": [{"$ref": REF.format(model=model)}],
                "properties": properties,
                "required": ["game"] if seats == game.min_seats else ["game", "seats"],
            }
            variants.append(variant)
    return variants
