"""Accounts, finished-game records, their players, and ratings.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("username_key", sa.String(64), nullable=True, unique=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_bot", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("deleted_at", sa.Double, nullable=True),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("room", sa.String(64), nullable=False),
        sa.Column("game_no", sa.Integer, nullable=False),
        sa.Column("game", sa.String(64), nullable=False),
        sa.Column("finished_at", sa.Double, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.UniqueConstraint("room", "game_no", name="records_room_game_no"),
    )
    op.create_table(
        "record_players",
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("record_id", sa.String(128), sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("finished_at", sa.Double, nullable=False),
    )
    op.create_index(
        "record_players_history", "record_players", ["player_id", "finished_at", "record_id"]
    )
    op.create_table(
        "ratings",
        sa.Column("game", sa.String(64), primary_key=True),
        sa.Column("player_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("rating", sa.Double, nullable=False),
        sa.Column("rd", sa.Double, nullable=False),
        sa.Column("volatility", sa.Double, nullable=False),
        sa.Column("games", sa.Integer, nullable=False),
    )
    op.create_index("ratings_board", "ratings", ["game", "rating", "player_id"])


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("record_players")
    op.drop_table("records")
    op.drop_table("accounts")
