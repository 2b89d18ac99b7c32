"""Alembic environment: runs the migrations on the engine the application built."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import intake.core.staff  # noqa: F401
import intake.core.staff_tokens  # noqa: F401
import kb.audit  # noqa: F401
import kb.models  # noqa: F401  (registers the tables on Base.metadata)
import kb.questions  # noqa: F401
import routing.models  # noqa: F401
import routing.surveys  # noqa: F401
from intake.core import models  # noqa: F401
from intake.core.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        # render_as_batch: SQLite can only alter tables by copying them
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
