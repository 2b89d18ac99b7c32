"""Tables of the knowledge base: entries and the revision stamp every worker checks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from intake.core.db import Base

STATUSES = ("draft", "submitted", "published", "archived")
KINDS = ("answer", "service", "notice")  # a plain answer; a public service (办事); a notice with a window
# 003 第十五条(三)2: what a service entry states, in the order editors fill it in, with its label
SERVICE_LABELS = {
    "office": "受理单位",
    "address": "办理地点",
    "phone": "联系电话",
    "hours": "办理时间",
    "conditions": "受理条件",
    "materials": "所需材料",
    "steps": "办理流程",
    "time_limit": "办理时限",
    "fees": "收费标准",
}
SERVICE_FIELDS = tuple(SERVICE_LABELS)


def full_answer(answer: str, service: dict[str, str] | None) -> str:
    """The answer citizens read: the unit's text, then the service's facts it does not already state.

    A service entry's office, address, phone, hours... (003 第十五条(三)2) are kept as fields so they
    can be edited and checked one by one; the citizen needs them with the answer.
    """
    facts = [
        f"{label}：{value}"
        for key, label in SERVICE_LABELS.items()
        if (value := (service or {}).get(key, "").strip()) and value not in answer
    ]
    return answer if not facts else answer.rstrip() + "\n" + "\n".join(facts)


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
    kind: Mapped[str] = mapped_column(String(16), default="answer")
    tags: Mapped[list[str]] = mapped_column(default=list)
    service: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    review_every_days: Mapped[int | None] = mapped_column(Integer)  # None: no periodic review
    reviewed_on: Mapped[date | None] = mapped_column(Date)  # last published or confirmed
    # A change to a published entry waits here (draft, then submitted) while the published text
    # keeps answering; publishing copies the version's content onto the row.
    pending_version: Mapped[int | None] = mapped_column(Integer)
    pending_status: Mapped[str | None] = mapped_column(String(16))
    versions: Mapped[list[KbEntryVersion]] = relationship(
        cascade="all, delete-orphan", order_by="KbEntryVersion.number"
    )

    def to_record(self) -> dict[str, Any]:
        """The entry's live content in the import/export format (dates as ISO text)."""
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
            "kind": self.kind or "answer",
            "tags": list(self.tags or []),
            "service": dict(self.service or {}),
            "review_every_days": self.review_every_days,
        }

    def apply(self, record: dict[str, Any]) -> list[str]:
        """Copy a checked record (``kb.records.check_record``) onto the row; return the fields changed."""
        values = {
            "unit_code": record["unit"],
            "question": record["question"],
            "answer": record["answer"],
            "alt_questions": list(record["alt_questions"]),
            "keywords": list(record["keywords"]),
            "spoken_answer": record["spoken_answer"],
            "valid_from": _as_date(record["valid_from"]),
            "valid_until": _as_date(record["valid_until"]),
            "kind": record.get("kind") or "answer",
            "tags": list(record.get("tags") or []),
            "service": dict(record.get("service") or {}),
            "review_every_days": record.get("review_every_days"),
        }
        changed = []
        for key, value in values.items():
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed.append("unit" if key == "unit_code" else key)
        return changed


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def as_record(record: dict[str, Any]) -> dict[str, Any]:
    """A checked record with its dates as ISO text: how versions store content (JSON)."""
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in record.items()}


class KbEntryVersion(Base):
    """Every saved change of an entry: its whole content then, who saved it and what changed."""

    __tablename__ = "kb_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("kb_entries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # the workflow step this version was saved at
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # the editor's comment, or what the step was
    changed: Mapped[list[str]] = mapped_column(default=list)  # fields that differ from before
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
