"""The room WebSocket's contract as an AsyncAPI 3 document (``GET /api/asyncapi.json``).

AsyncAPI is to message APIs what OpenAPI is to REST: one channel, ``/ws/rooms/{room_id}``,
the messages each side sends (the models of ``meeple.game.protocol``, their JSON Schemas
under ``components.schemas``), the handshake's query parameters, and the codes the
server answers with. tests/test_asyncapi.py checks it with the reference parser
(npm ``@asyncapi/parser``).
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from meeple.game import protocol as p


def _models(union: Any) -> list[type[BaseModel]]:
    """The message models of a discriminated union (``ClientMessage``, ``ServerMessage``)."""
    models: list[type[BaseModel]] = list(get_args(get_args(union)[0]))
    return models


def _type_of(model: type[BaseModel]) -> str:
    """The ``t`` a message model fixes (``chat`` for ``ChatOut``)."""
    kind: str = get_args(model.model_fields["t"].annotation)[0]
    return kind


CLIENT = {_type_of(m): m for m in _models(p.ClientMessage)}
SERVER = {
    (t if t not in CLIENT else f"{t}_out"): m
    for m in _models(p.ServerMessage)
    for t in [_type_of(m)]
}
"""The messages by name (a server message named as a client one gets ``_out``)."""

_QUERY = {
    "type": "object",
    "properties": {
        "ticket": {
            "type": "string",
            "description": "A connect ticket (POST /api/session/ticket): single-use, 30 s."
            " Browsers' way to authenticate; others may send the session token in a"
            " `token.<token>` subprotocol or `Authorization: Bearer` instead, never here.",
        },
        "since": {"type": "integer", "minimum": 1, "description": "The last `s` seen."},
        "game": {"type": "integer", "minimum": 0, "description": "The game `since` is in."},
        "invite": {"type": "string", "description": "A private room's code, to watch it."},
    },
}


def _message(name: str, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "name": name,
        "title": model.__name__,
        "summary": (model.__doc__ or name).strip().splitlines()[0],
        "contentType": "application/msgpack",
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
    }


def asyncapi_document(version: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the room WebSocket, for server ``version``."""
    models = [*CLIENT.values(), *SERVER.values()]
    _, top = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas = dict(top.get("$defs", {}))
    messages = {name: _message(name, m) for name, m in {**CLIENT, **SERVER}.items()}
    refs = {name: {"$ref": f"#/channels/room/messages/{name}"} for name in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Meeple room WebSocket",
            "version": version,
            "description": (
                "One WebSocket per room, subprotocol `meeple.v1`: binary frames, one"
                " MessagePack map each, the type in `t`. Close codes, err codes and forfeit"
                " reasons are in x-meeple-codes (and /api/protocol.json); docs/protocol.md"
                " is the prose."
            ),
        },
        "defaultContentType": "application/msgpack",
        "channels": {
            "room": {
                "address": "/ws/rooms/{room_id}",
                "title": "A room",
                "parameters": {"room_id": {"description": "The room's id, e.g. r_8fk2m1."}},
                "messages": messages,
                "bindings": {"ws": {"method": "GET", "query": _QUERY, "bindingVersion": "0.1.0"}},
            }
        },
        "operations": {
            **{
                f"receive_{name}": {
                    "action": "receive",
                    "channel": {"$ref": "#/channels/room"},
                    "summary": f"A client sends `{name}`.",
                    "messages": [refs[name]],
                }
                for name in CLIENT
            },
            **{
                f"send_{name}": {
                    "action": "send",
                    "channel": {"$ref": "#/channels/room"},
                    "summary": f"The server sends `{_type_of(SERVER[name])}`.",
                    "messages": [refs[name]],
                }
                for name in SERVER
            },
        },
        "components": {"schemas": schemas},
        "x-meeple-codes": {
            "close_codes": {str(code): text for code, text in p.CLOSE_CODES.items()},
            "error_codes": dict(p.ERROR_CODES),
            "forfeit_reasons": dict(p.FORFEIT_REASONS),
        },
    }
