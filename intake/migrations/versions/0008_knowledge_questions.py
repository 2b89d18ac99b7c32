"""knowledge questions (知识提问) put to units about their entries

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("entry_version", sa.Integer(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("asked_by", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.String(length=32), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("basis", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_entry", sa.String(length=64), nullable=True),
        sa.Column("overdue_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_questions")),
    )
    with op.batch_alter_table("kb_questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_questions_unit_code"), ["unit_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_questions_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_questions_asked_at"), ["asked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_questions_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_questions_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("kb_questions")
