"""Tables of the knowledge base: entries and the revision stamp every worker checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.db import Base

STATUSES = ("draft", "submitted", "published", "archived")


def utcnow() -> datetime:
    return datetime.now(UTC)


class KbEntry(Base):
    """One question-and-answer entry owned by a unit."""

    __tablename__ = "kb_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    alt_questions: Mapped[list[str]] = mapped_column(default=list)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    spoken_answer: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def to_record(self) -> dict[str, Any]:
        """The entry in the import/export format."""
        return {
            "id": self.public_id,
            "unit": self.unit_code,
            "question": self.question,
            "answer": self.answer,
            "alt_questions": list(self.alt_questions or []),
            "keywords": list(self.keywords or []),
            "spoken_answer": self.spoken_answer,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }


class KbRevision(Base):
    """A single row whose number grows on every change to the knowledge base.

    Workers compare it with the revision their search index was built from: one indexed read per
    request instead of a message bus, and it works the same on SQLite and PostgreSQL.
    """

    __tablename__ = "kb_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


def current_revision(session: Session) -> int:
    """Return the knowledge base's revision number (0 for an empty, never-changed base)."""
    return session.scalar(select(KbRevision.revision).where(KbRevision.id == 1)) or 0


def bump_revision(session: Session) -> int:
    """Record that the knowledge base changed; the caller commits."""
    row = session.get(KbRevision, 1, with_for_update=True)
    if row is None:
        row = KbRevision(id=1, revision=0)
        session.add(row)
    row.revision += 1
    row.changed_at = utcnow()
    session.flush()
    return row.revision


class KbGap(Base):
    """A consultation the knowledge base could not answer: what editors should write next."""

    __tablename__ = "kb_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # the knowledge base it was asked of
