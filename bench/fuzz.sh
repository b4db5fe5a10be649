#!/usr/bin/env bash
# Long fuzzing, beyond what every test run affords (issue 16):
#   bash bench/fuzz.sh [examples] [schemathesis examples]
# 1. the frame codec against websockets' sans-I/O protocol (tests/test_frames_differential.py)
#    with many examples and a fresh seed;
# 2. schemathesis --checks all against a real `meeple serve` on 127.0.0.1, with a fresh seed.
# Run from the repository after `bash tests/run.sh` made .venv. Stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-50000}
api_examples=${2:-500}

echo "frames: $examples examples"
MEEPLE_FUZZ_EXAMPLES=$examples .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/test_frames_differential.py --hypothesis-show-statistics

echo "schemathesis: $api_examples examples per operation"
.venv/bin/python - "$api_examples" <<'PY'
import asyncio, os, subprocess, sys
import httpx
from tests.servers import ROOT, ServerProcess
from tests.test_schemathesis import schemathesis_command, schemathesis_env

async def main(examples: int) -> int:
    server = ServerProcess({})
    await server.start()
    try:
        async with httpx.AsyncClient() as client:
            token = (await client.post(f"{server.http}/api/sessions", json={"name": "fuzz"})).json()["token"]
        command = schemathesis_command(server.http, token, examples=examples, seed=None)
        return await asyncio.to_thread(lambda: subprocess.run(command, env=schemathesis_env(), cwd=ROOT).returncode)
    finally:
        server.stop()

sys.exit(asyncio.run(main(int(sys.argv[1]))))
PY
