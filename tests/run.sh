#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs
# ruff, mypy and pytest. README.md names this command and .ci/run calls it.
# Extra arguments go to pytest (e.g. `bash tests/run.sh -k chess`).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# The example game package, installed as an author's users would (not editable): the
# suite checks that Meeple finds it, serves it and plays it without being told.
.venv/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./examples/hearts

# System packages the browser and proxy tests drive: Debian's chromium and nginx.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} from Debian's packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

# The AsyncAPI document is checked by the reference parser, from the npm registry, kept
# in .venv/npm (tests/test_asyncapi.py). node and npm come with the machine (Debian's
# nodejs and npm packages otherwise).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "missing: node and npm (for the AsyncAPI check). Install them with: sudo apt-get install nodejs npm" >&2
    exit 1
fi
if [ ! -d .venv/npm/node_modules/@asyncapi/parser ]; then
    npm install --silent --no-audit --no-fund --prefix .venv/npm @asyncapi/parser@3
fi
# axe-core: the accessibility checker the browser tests inject (tests/test_browser_a11y.py).
if [ ! -f .venv/npm/node_modules/axe-core/axe.min.js ]; then
    npm install --silent --no-audit --no-fund --prefix .venv/npm axe-core@4
fi
export MEEPLE_NPM_MODULES="$PWD/.venv/npm/node_modules"

# Redis: the Redis tests run against a real server and never skip.
export MEEPLE_TEST_REDIS_URL=${MEEPLE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
if ! .venv/bin/python - <<'PY'
import os, sys
import redis
try:
    redis.Redis.from_url(os.environ["MEEPLE_TEST_REDIS_URL"], socket_timeout=2).ping()
except Exception as exc:
    sys.exit(f"{exc}")
PY
then
    cat >&2 <<MSG
Redis is not answering at $MEEPLE_TEST_REDIS_URL; the Redis tests need it.
Start one that keeps nothing on disk:
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
or point MEEPLE_TEST_REDIS_URL at another.
MSG
    exit 1
fi

# PostgreSQL: the SQL store tests run against a real server too (a schema of their own,
# dropped after) and never skip.
export MEEPLE_TEST_DATABASE_URL=${MEEPLE_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}
if ! .venv/bin/python - <<'PY'
import asyncio, os, sys
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

async def ping() -> None:
    engine = create_async_engine(os.environ["MEEPLE_TEST_DATABASE_URL"], connect_args={"timeout": 5})
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    finally:
        await engine.dispose()
try:
    asyncio.run(ping())
except Exception as exc:
    sys.exit(f"{exc}")
PY
then
    cat >&2 <<MSG
PostgreSQL is not answering at $MEEPLE_TEST_DATABASE_URL; the SQL tests need it.
Install and start one with trust auth for local connections and a database \`test\`:
    sudo apt-get install postgresql && sudo -u postgres createdb test
or point MEEPLE_TEST_DATABASE_URL at another (postgresql+asyncpg://user@host:port/db).
MSG
    exit 1
fi

echo "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "mypy"
.venv/bin/mypy
# --durations: the slowest tests in every run's log, to keep the whole run within its budget.
echo "pytest"; .venv/bin/python -m pytest --durations=30 "$@"
