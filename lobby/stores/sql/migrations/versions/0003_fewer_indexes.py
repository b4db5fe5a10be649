"""Fewer pages a finished game: one index less on records and on record_players, and
SQLite tables keyed by what is looked up.

- ``records`` loses its unique index ``records_room_game_no``: a record's id is its room
  and game number, so its primary key already holds each pair once.
- ``record_players`` is keyed by its history order, (player, finished at, record),
  which is what a history reads, and its index ``record_players_history`` goes. On
  SQLite it is a WITHOUT ROWID table: a row goes into one B-tree instead of three (the
  table, its key's index and the history's).
- ``ratings`` is a WITHOUT ROWID table on SQLite: found and updated by (game, player)
  in one B-tree, not an index and then the table.

On SQLite, a transaction of 20 tic-tac-toe games from 100 rooms (as ``bench/load.py
--rooms 100`` makes them; ``bench/finished.py --batch 20 --rooms 100``) wrote 40 pages
to the log before and 25 after, and took 13% less CPU. SQLite cannot drop a constraint
or change a primary key in place, so there the three tables are built again and their
rows copied; PostgreSQL alters them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PLAYERS = "player_id, record_id, finished_at"
_RECORDS = "id, room, game_no, game, finished_at, body"
_RATINGS = "game, player_id, name, rating, rd, volatility, games"
_ROOM_GAME_NO = "records_room_game_no"


def _records(name: str, *unique: sa.UniqueConstraint) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("room", sa.String(64), nullable=False),
        sa.Column("game_no", sa.Integer, nullable=False),
        sa.Column("game", sa.String(64), nullable=False),
        sa.Column("finished_at", sa.Double, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        *unique,
    )


def _record_players(*key: str, with_rowid: bool) -> None:
    op.create_table(
        "record_players",
        sa.Column("player_id", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("finished_at", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint(*key),
        sqlite_with_rowid=with_rowid,
    )


def _ratings(name: str, *, with_rowid: bool) -> None:
    op.create_table(
        name,
        sa.Column("game", sa.String(64), primary_key=True),
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("rating", sa.Double, nullable=False),
        sa.Column("rd", sa.Double, nullable=False),
        sa.Column("volatility", sa.Double, nullable=False),
        sa.Column("games", sa.Integer, nullable=False),
        sqlite_with_rowid=with_rowid,
    )


def _rebuild_sqlite(*, new: bool) -> None:
    """SQLite: the three tables made again, rows kept. ``record_players`` is moved
    aside first and comes back last, so that no table refers to ``records`` while it is
    dropped (its implicit delete would break the foreign key; the pragma that turns
    them off does nothing inside the migration's transaction)."""
    op.execute(f"CREATE TABLE _record_players_old AS SELECT {_PLAYERS} FROM record_players")
    op.drop_table("record_players")
    if new:
        _records("_records_new")
    else:
        _records("_records_new", sa.UniqueConstraint("room", "game_no", name=_ROOM_GAME_NO))
    op.execute(f"INSERT INTO _records_new ({_RECORDS}) SELECT {_RECORDS} FROM records")
    op.drop_table("records")
    op.rename_table("_records_new", "records")
    if new:
        _record_players("player_id", "finished_at", "record_id", with_rowid=False)
    else:
        _record_players("player_id", "record_id", with_rowid=True)
    op.execute(
        f"INSERT INTO record_players ({_PLAYERS}) SELECT {_PLAYERS} FROM _record_players_old"
    )
    op.drop_table("_record_players_old")
    if not new:
        op.create_index(
            "record_players_history", "record_players", ["player_id", "finished_at", "record_id"]
        )
    _ratings("_ratings_new", with_rowid=not new)
    op.execute(f"INSERT INTO _ratings_new ({_RATINGS}) SELECT {_RATINGS} FROM ratings")
    op.drop_table("ratings")
    op.rename_table("_ratings_new", "ratings")
    op.create_index("ratings_board", "ratings", ["game", "rating", "player_id"])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(new=True)
        return
    op.drop_constraint(_ROOM_GAME_NO, "records", type_="unique")
    op.drop_index("record_players_history", "record_players")
    op.drop_constraint("record_players_pkey", "record_players", type_="primary")
    op.create_primary_key(
        "record_players_pkey", "record_players", ["player_id", "finished_at", "record_id"]
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(new=False)
        return
    op.drop_constraint("record_players_pkey", "record_players", type_="primary")
    op.create_primary_key("record_players_pkey", "record_players", ["player_id", "record_id"])
    op.create_index(
        "record_players_history", "record_players", ["player_id", "finished_at", "record_id"]
    )
    op.create_unique_constraint(_ROOM_GAME_NO, "records", ["room", "game_no"])
