"""The durable tables, in SQLAlchemy Core: what the migrations build and the stores read.

Records keep their whole body as JSON (a record is read whole, never queried inside);
what is queried has columns of its own: a record's players for histories, a rating's
value for leaderboards. Each table has the indexes its queries need and no more: every
one is a page more that a finished game dirties (migration 0003). On SQLite the tables
found by their key alone are WITHOUT ROWID (the key's B-tree is the table).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("player_id", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=True),
    # NFKC, case-folded: unique, so no two accounts differ only in case or form.
    sa.Column("username_key", sa.String(64), nullable=True, unique=True),
    sa.Column("display_name", sa.String(64), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("is_bot", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("deleted_at", sa.Double, nullable=True),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("room", sa.String(64), nullable=False),
    sa.Column("game_no", sa.Integer, nullable=False),
    sa.Column("game", sa.String(64), nullable=False),
    sa.Column("finished_at", sa.Double, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    # The id is f"{room}-{game_no}" (Room.record): the key holds each pair once.
)

record_players = sa.Table(
    "record_players",
    metadata,
    sa.Column("player_id", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id"), nullable=False),
    sa.Column("finished_at", sa.Double, nullable=False),
    # Keyed in history order (a player's games by finishing time): what a history reads.
    sa.PrimaryKeyConstraint("player_id", "finished_at", "record_id"),
    sqlite_with_rowid=False,
)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("game", sa.String(64), primary_key=True),
    sa.Column("player_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("rating", sa.Double, nullable=False),
    sa.Column("rd", sa.Double, nullable=False),
    sa.Column("volatility", sa.Double, nullable=False),
    sa.Column("games", sa.Integer, nullable=False),
    sa.Index("ratings_board", "game", "rating", "player_id"),
    sqlite_with_rowid=False,
)

# Correspondence rooms without Redis: their journal (``SqlJournal``), so that they outlive
# a restart; and the sessions of their players (``SqlSessionStore``). Both as Redis keeps
# them: a room's metadata and its current game's log as MessagePack, a session by its
# token's hash.

journal_rooms = sa.Table(
    "journal_rooms",
    metadata,
    sa.Column("room_id", sa.String(64), primary_key=True),
    sa.Column("game_no", sa.Integer, nullable=False),
    sa.Column("meta", sa.LargeBinary, nullable=False),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("room_id", sa.String(64), primary_key=True),
    sa.Column("game_no", sa.Integer, primary_key=True),
    sa.Column("s", sa.Integer, primary_key=True),
    sa.Column("entry", sa.LargeBinary, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("player_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Index("sessions_player", "player_id"),
    sa.Index("sessions_expiry", "expires_at"),
)
