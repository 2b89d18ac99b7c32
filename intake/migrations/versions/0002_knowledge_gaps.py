"""knowledge gaps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
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
        "kb_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_gaps")),
    )
    with op.batch_alter_table("kb_gaps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_gaps_asked_at"), ["asked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kb_gaps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_gaps_asked_at"))

    op.drop_table("kb_gaps")
