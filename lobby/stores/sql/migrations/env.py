"""Alembic's environment: migrations run on the connection ``database.upgrade`` hands in."""

from __future__ import annotations

from alembic import context

from meeple.lobby.stores.sql.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
