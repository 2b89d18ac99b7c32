"""a matter's facts on its ticket: the citizen's name, a contact phone, the time of the event and its
day, the parties, and the confidentiality choice (issue 16, item 2; 001 第十三条(四), 004 第十一条)

Every column is nullable: tickets registered before keep every row and read as "not recorded".

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (
    ("citizen_name", sa.String(length=64)),
    ("contact_phone", sa.String(length=32)),
    ("event_time", sa.String(length=64)),
    ("event_date", sa.Date()),
    ("parties", sa.Text()),
    ("contact_consent", sa.Boolean()),
)


def upgrade() -> None:
    # nullable columns: SQLite and PostgreSQL both add them in place (ALTER TABLE … ADD COLUMN), no row
    # is copied or touched
    for name, kind in COLUMNS:
        op.add_column("tickets", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35 and later): batch mode would rebuild ``tickets``,
    # which SQLite refuses while ticket_events and the others point at it with foreign keys switched on
    for name, _ in reversed(COLUMNS):
        op.drop_column("tickets", name)
