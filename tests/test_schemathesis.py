"""schemathesis holds the OpenAPI document to what a real ``meeple serve`` answers (issue
16): ``--checks all``, every phase, a fixed seed and a bounded number of examples so that
a run takes well under a minute (``bench/fuzz.sh`` runs it long, with fresh seeds).

The event streams are left out: they never end, and schemathesis reads a response whole.
Their events are tested in test_rest_matchmaking.py and test_player_events.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.servers import ROOT, ServerProcess

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def schemathesis_command(base: str, token: str, *, examples: int, seed: int | None) -> list[str]:
    command = [
        str(SCHEMATHESIS), "run", f"{base}/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", str(examples),
        "--exclude-path", "/api/matchmaking/events",
        "--exclude-path", "/api/me/events",
        # These end the run's session (tests/test_accounts.py covers them).
        "--exclude-path", "/api/logout",
        "--exclude-path", "/api/logout/everywhere",
        "--exclude-path", "/api/me",
        "--request-timeout", "10",
        "--no-color",
    ]  # fmt: skip
    if seed is not None:
        command += ["--seed", str(seed)]
    return command


def schemathesis_env() -> dict[str, str]:
    """The hooks that make values for the formats JSON Schema cannot spell (chess FENs)."""
    return {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schemathesis.hooks",
        "PYTHONPATH": str(ROOT),
    }


async def test_the_openapi_document_says_what_the_server_does(tmp_path: Path) -> None:
    # The VAPID key the push calls make goes in the test's own folder.
    env = {"MEEPLE_VAPID_KEY_FILE": str(tmp_path / "vapid.pem")}
    server = ServerProcess(env, log_file=tmp_path / "server.log")
    await server.start()
    try:
        async with httpx.AsyncClient() as client:
            made = await client.post(f"{server.http}/api/sessions", json={"name": "Schemathesis"})
        done = await asyncio.to_thread(
            subprocess.run,
            schemathesis_command(server.http, made.json()["token"], examples=25, seed=16),
            capture_output=True, text=True, timeout=300, env=schemathesis_env(), cwd=ROOT,
            check=False,
        )  # fmt: skip
    finally:
        server.stop()
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    assert " passed" in report and "failures" not in report.split("SUMMARY")[-1].lower(), report
