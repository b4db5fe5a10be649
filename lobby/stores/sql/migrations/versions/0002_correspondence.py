"""Correspondence rooms' journal and sessions, for servers without Redis.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_rooms",
        sa.Column("room_id", sa.String(64), primary_key=True),
        sa.Column("game_no", sa.Integer, nullable=False),
        sa.Column("meta", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "journal_entries",
        sa.Column("room_id", sa.String(64), primary_key=True),
        sa.Column("game_no", sa.Integer, primary_key=True),
        sa.Column("s", sa.Integer, primary_key=True),
        sa.Column("entry", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("player_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("sessions_player", "sessions", ["player_id"])
    op.create_index("sessions_expiry", "sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("sessions")
    op.drop_table("journal_entries")
    op.drop_table("journal_rooms")
