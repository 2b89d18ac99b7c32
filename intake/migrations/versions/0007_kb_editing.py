"""knowledge editing: entry versions, service fields, review dates, the audit log and staff API tokens

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        # server defaults fill the rows that exist; the ORM writes its own values from then on
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="answer"))
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("service", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("review_every_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("pending_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pending_status", sa.String(length=16), nullable=True))

    op.create_table(
        "kb_entry_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["kb_entries.id"], name=op.f("fk_kb_entry_versions_entry_id_kb_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entry_versions")),
        sa.UniqueConstraint("entry_id", "number", name=op.f("uq_kb_entry_versions_entry_id")),
    )
    with op.batch_alter_table("kb_entry_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_entry_versions_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "kb_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("entry_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_audit")),
    )
    with op.batch_alter_table("kb_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_audit_unit_code"), ["unit_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_kb_audit_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_staff_tokens_user_id_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_tokens_token_hash")),
    )
    with op.batch_alter_table("staff_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("staff_tokens")
    op.drop_table("kb_audit")
    op.drop_table("kb_entry_versions")
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        for column in ("pending_status", "pending_version", "reviewed_on", "review_every_days"):
            batch_op.drop_column(column)
        for column in ("service", "tags", "kind"):
            batch_op.drop_column(column)
