"""The knowledge base's audit log: who did what to which entry, question or import, and when.

Every change an editor, reviewer or administrator makes goes through ``kb.editing`` (or the knowledge
questions and imports), which writes one row here in the same transaction as the change itself, so the
log cannot miss a change that happened nor show one that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.core.db import Base
from kb.models import utcnow


class Actor(Protocol):
    """Whoever acts: a staff user, or a stand-in for the command line and the sync API."""

    username: str
    role: str
    unit_code: str | None


@dataclass(frozen=True)
class SystemActor:
    """The command line and scripted imports act as this (an administrator with a name of its own)."""

    username: str = "hotline-cli"
    role: str = "admin"
    unit_code: str | None = None


class KbAudit(Base):
    """One action on the knowledge base."""

    __tablename__ = "kb_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))  # create, save, submit, publish, import, ask, ...
    unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    entry_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the entry's public id
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: Session,
    actor: Actor,
    action: str,
    now: datetime,
    *,
    unit: str | None = None,
    entry: str | None = None,
    **detail: Any,
) -> KbAudit:
    """Log ``action`` by ``actor``; the caller commits it together with the change."""
    row = KbAudit(
        at=now,
        actor=actor.username,
        role=actor.role,
        action=action,
        unit_code=unit,
        entry_id=entry,
        detail=detail,
    )
    session.add(row)
    return row


def recent(
    session: Session, *, unit: str | None = None, entry: str | None = None, limit: int = 100
) -> list[KbAudit]:
    """The newest actions first, optionally only one unit's or one entry's."""
    query = select(KbAudit).order_by(KbAudit.id.desc()).limit(limit)
    if unit is not None:
        query = query.where(KbAudit.unit_code == unit)
    if entry is not None:
        query = query.where(KbAudit.entry_id == entry)
    return list(session.scalars(query))
