"""satisfaction surveys, call-back requests, and the kind and meta of inbound messages

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="text", nullable=False))
        batch_op.add_column(sa.Column("meta", sa.JSON(), nullable=True))

    op.create_table(
        "survey_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_survey_requests_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_requests")),
        sa.UniqueConstraint("token", name=op.f("uq_survey_requests_token")),
    )
    with op.batch_alter_table("survey_requests", schema=None) as batch_op:
        for column in ("ticket_id", "recipient", "unit_code", "status", "expires_at"):
            batch_op.create_index(batch_op.f(f"ix_survey_requests_{column}"), [column], unique=False)

    op.create_table(
        "callback_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("operator", sa.String(length=128), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_callback_requests_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_requests")),
    )
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        for column in ("ticket_id", "status"):
            batch_op.create_index(batch_op.f(f"ix_callback_requests_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("callback_requests")
    op.drop_table("survey_requests")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("meta")
        batch_op.drop_column("kind")
