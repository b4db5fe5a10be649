"""``meeple db upgrade`` and ``meeple db status``: the SQL schema of DATABASE_URL.

Start-up migrates an SQLite file by itself; a PostgreSQL schema is shared by every
process of a deployment, so its owner upgrades it with this command, once, before
the new version's processes start (they refuse a schema that is behind)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from meeple.lobby.settings import Settings


def _where(settings: Settings) -> str:
    import sqlalchemy as sa

    assert settings.database_url
    shown = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    return shown + (f" (schema {settings.database_schema})" if settings.database_schema else "")


async def _run(action: str, settings: Settings) -> int:
    from meeple.lobby.stores.sql import Database
    from meeple.lobby.stores.sql.database import current, head, upgrade

    assert settings.database_url
    database = Database(settings.database_url, settings.database_schema)
    try:
        if action == "upgrade":
            before, after = await upgrade(database.engine)
            if before == after:
                print(f"{_where(settings)}: already at {after}")
            else:
                print(f"{_where(settings)}: upgraded from {before or 'nothing'} to {after}")
            return 0
        at, newest = await current(database.engine), head()
        state = "up to date" if at == newest else "behind: run `meeple db upgrade`"
        print(f"{_where(settings)}: at {at or 'nothing'}, newest {newest}, {state}")
        return 0 if at == newest else 1
    finally:
        await database.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meeple db", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["upgrade", "status"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.database_url:
        sys.exit("meeple db: no database: REDIS_URL is set and DATABASE_URL is not")
    try:
        return asyncio.run(_run(args.action, settings))
    except Exception as exc:  # one line, not a traceback: the database is unreachable
        sys.exit(f"meeple db: {_where(settings)}: {exc.__class__.__name__}: {exc}")


def check_database() -> None:
    """Before ``meeple serve`` starts workers: migrate SQLite, or stop with one line when
    the PostgreSQL schema is behind or the database cannot be reached."""
    from meeple.lobby.stores.sql import Database, SchemaBehind

    settings = Settings.from_env()
    if not settings.database_url:
        return

    async def prepare() -> None:
        assert settings.database_url
        database = Database(settings.database_url, settings.database_schema)
        try:
            await database.prepare()
        finally:
            await database.close()

    try:
        asyncio.run(prepare())
    except SchemaBehind as exc:
        sys.exit(f"meeple serve: {_where(settings)}: {exc}")
    except Exception as exc:
        sys.exit(f"meeple serve: {_where(settings)}: {exc.__class__.__name__}: {exc}")
