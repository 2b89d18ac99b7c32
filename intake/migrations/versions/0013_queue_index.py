"""an index for the office's queue (issue 18, item 1): open tickets by stage and due, which the saved
views 已超期 and 即将超期 count on every page

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_status_due", "tickets", ["status", "due"])


def downgrade() -> None:
    op.drop_index("ix_tickets_status_due", table_name="tickets")
