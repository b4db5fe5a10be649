"""The room WebSocket's AsyncAPI 3 document (issue 16, item 11), as the server serves it,
checked by the reference parser (npm ``@asyncapi/parser``, which tests/run.sh installs)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import ROOT, LiveServer

PARSER_MODULES = Path(os.environ.get("MEEPLE_NPM_MODULES", ROOT / ".venv" / "npm" / "node_modules"))
CHECK = ROOT / "tests" / "js" / "asyncapi_check.mjs"
ERROR = 0  # the parser's DiagnosticSeverity.Error


def parse(document: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (PARSER_MODULES / "@asyncapi" / "parser").is_dir():
        pytest.fail(
            f"the AsyncAPI check needs node and @asyncapi/parser in {PARSER_MODULES}: "
            "bash tests/run.sh installs them (npm install --prefix .venv/npm @asyncapi/parser)"
        )
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [node, str(CHECK), str(PARSER_MODULES), str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def test_the_served_asyncapi_document_parses_clean(
    server: LiveServer, tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as client:
        document = (await client.get(f"{server.http}/api/asyncapi.json")).json()
    result = parse(document, tmp_path)
    errors = [d for d in result["diagnostics"] if d["severity"] == ERROR]
    assert result["valid"] and not errors, errors
    assert result["version"] == "3.0.0" and result["channels"] == ["/ws/rooms/{room_id}"]
    assert set(result["messages"]) >= {"move", "chat", "leave", "d", "snap", "room", "err"}


def test_a_broken_document_is_caught(tmp_path: Path) -> None:
    result = parse({"asyncapi": "3.0.0", "info": {"title": "x"}}, tmp_path)  # no version
    assert any(d["severity"] == ERROR for d in result["diagnostics"])
