"""ticket lifecycle: dispatch versions, unit counters and replies, unit credentials, hand-off deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=128), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_credentials")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_unit_credentials_token_hash")),
        sa.UniqueConstraint("unit_code", name=op.f("uq_unit_credentials_unit_code")),
    )
    op.create_table(
        "handoff_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("ticket_number", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoff_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_handoff_deliveries_key")),
    )
    with op.batch_alter_table("handoff_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handoff_deliveries_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handoff_deliveries_ticket_number"), ["ticket_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_handoff_deliveries_unit_code"), ["unit_code"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        # room for the lifecycle's longer stages (extension_requested)
        batch_op.alter_column(
            "status", existing_type=sa.String(length=16), type_=sa.String(length=32), existing_nullable=False
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("return_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("extension_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rehandle_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reply", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("card", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("card_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_card"), ["card"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_card"))
        batch_op.drop_column("card_at")
        batch_op.drop_column("card")
        batch_op.drop_column("reply")
        batch_op.drop_column("request")
        batch_op.drop_column("rehandle_count")
        batch_op.drop_column("extension_count")
        batch_op.drop_column("return_count")
        batch_op.drop_column("replied_at")
        batch_op.drop_column("signed_at")
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("version")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=32), type_=sa.String(length=16), existing_nullable=False
        )

    with op.batch_alter_table("handoff_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_deliveries_unit_code"))
        batch_op.drop_index(batch_op.f("ix_handoff_deliveries_ticket_number"))
        batch_op.drop_index(batch_op.f("ix_handoff_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_handoff_deliveries_next_attempt_at"))

    op.drop_table("handoff_deliveries")
    op.drop_table("unit_credentials")
