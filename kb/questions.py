"""Knowledge questions (知识提问, 003 第十五条(二)): the office flags an entry, its unit answers in time.

An operator, the hotline office or an administrator flags a knowledge entry as wrong, missing,
outdated, unclear, duplicated or contradictory, with a comment saying what is the matter; a topic with
no entry at all is flagged as ``missing`` against the unit that should write one. The owning unit's
editor or reviewer (or an administrator) answers with what they changed, optionally naming the entry
they edited. The unit must answer within the pack's ``knowledge.question_within`` counted from the
asking time, in working days as the pack counts deadlines; a pack whose regulation sets no limit
leaves the question without a due date. ``hotline worker`` (job ``knowledge``) flags each overdue
question once, with an audit row the unit's and the office's pages can show.

Every action writes a row of ``kb.audit`` in the caller's transaction; the caller commits. Refusals
are ``QuestionRefused`` with a Chinese message and the HTTP status the web layer should answer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.core.db import Base, Database
from intake.core.models import Unit
from intake.core.permissions import may_answer_question, may_ask_question, may_edit
from kb import audit
from kb.audit import Actor, SystemActor
from kb.models import KbEntry, utcnow

log = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    "wrong": "错误",
    "missing": "缺失",
    "outdated": "过期",
    "unclear": "表述不清",
    "duplicated": "重复",
    "contradictory": "矛盾",
}
STATUSES: dict[str, str] = {"open": "待答复", "answered": "已答复"}
MAX_TEXT = 2000


class QuestionRefused(Exception):
    """An action the rules do not allow: ``status`` is the HTTP status to answer, ``message`` the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


SYSTEM = SystemActor("system", "system")  # the worker, as it appears in the audit log


class KbQuestion(Base):
    """One knowledge question put to a unit about one of its entries, or about a topic it lacks."""

    __tablename__ = "kb_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of KINDS
    unit_code: Mapped[str] = mapped_column(String(64), index=True)  # the unit that must answer
    entry_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the entry's public id
    entry_version: Mapped[int | None] = mapped_column(Integer)  # the version that was questioned
    topic: Mapped[str | None] = mapped_column(Text)  # for ``missing`` without an entry: what is lacking
    comment: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    due: Mapped[str | None] = mapped_column(String(32))  # ISO date (working days) or date-time (hours)
    due_at: Mapped[datetime | None] = mapped_column(index=True)  # the moment the limit runs out
    basis: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column()
    changed_entry: Mapped[str | None] = mapped_column(String(64))  # the entry edited in answer, if any
    overdue_flagged_at: Mapped[datetime | None] = mapped_column()

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def is_overdue(self, now: datetime) -> bool:
        """Past its due without an answer, or answered after it."""
        if self.due_at is None:
            return False
        return (self.answered_at or now) >= self.due_at

    def to_dict(self, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
        """The question as the editors' pages and the JSON API show it (times in the hotline's zone)."""

        def local(moment: datetime | None) -> str | None:
            return moment.astimezone(tz).replace(microsecond=0).isoformat() if moment else None

        return {
            "id": self.id,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "unit": self.unit_code,
            "entry": self.entry_id,
            "entry_version": self.entry_version,
            "topic": self.topic,
            "comment": self.comment,
            "asked_by": self.asked_by,
            "asked_at": local(self.asked_at),
            "due": self.due,
            "basis": self.basis,
            "status": self.status,
            "status_label": STATUSES.get(self.status, self.status),
            "overdue": self.is_overdue(now),
            "overdue_flagged_at": local(self.overdue_flagged_at),
            "answer": self.answer,
            "answered_by": self.answered_by,
            "answered_at": local(self.answered_at),
            "changed_entry": self.changed_entry,
        }


def _text(value: str | None, what: str, *, required: bool = True) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise QuestionRefused(400, f"请填写{what}")
        return None
    if len(text) > MAX_TEXT:
        raise QuestionRefused(400, f"{what}不能超过{MAX_TEXT}个字")
    return text


class QuestionClock(Protocol):
    """What a question needs of the deadlines (``routing.deadlines.Deadlines`` is one)."""

    def question_due(self, asked_at: datetime) -> tuple[str | None, datetime | None]: ...


def due_for(deadlines: QuestionClock, asked_at: datetime) -> tuple[str | None, datetime | None]:
    """The due of a question asked at ``asked_at``: ``(due, due_at)``, stored as ticket dues are;
    ``(None, None)`` when the pack sets no limit."""
    return deadlines.question_due(asked_at)


def ask(
    session: Session,
    actor: Actor,
    deadlines: QuestionClock,
    now: datetime,
    *,
    kind: str,
    comment: str,
    entry: str | None = None,
    unit: str | None = None,
    topic: str | None = None,
) -> KbQuestion:
    """Put a knowledge question about entry ``entry`` (a public id), or for ``missing`` about ``topic``
    to ``unit``; the due comes from the pack. Refuses (403) anyone but an operator, the office or an
    administrator, (400) an unknown kind, an empty comment or topic, an unknown unit, (404) an unknown
    entry."""
    if not may_ask_question(actor):
        raise QuestionRefused(403, "只有话务员、热线办或管理员可以提出知识提问")
    if kind not in KINDS:
        raise QuestionRefused(400, f"提问类型应为：{'、'.join(f'{k}（{v}）' for k, v in KINDS.items())}")
    comment_text = _text(comment, "提问说明")
    entry_row: KbEntry | None = None
    if entry:
        entry_row = session.scalar(select(KbEntry).where(KbEntry.public_id == entry.strip()))
        if entry_row is None:
            raise QuestionRefused(404, f"找不到知识条目 {entry.strip()[:64]}")
        if unit and unit != entry_row.unit_code:
            raise QuestionRefused(400, f"知识条目 {entry_row.public_id} 不属于单位 {unit}")
        unit = entry_row.unit_code
        topic_text = _text(topic, "缺失的内容", required=False)
    elif kind == "missing":
        if not unit:
            raise QuestionRefused(400, "缺失类提问请指明应负责的单位")
        if session.scalar(select(Unit.id).where(Unit.code == unit)) is None:
            raise QuestionRefused(400, f"未知单位 {unit[:64]}")
        topic_text = _text(topic, "缺失的内容")
    else:
        raise QuestionRefused(400, f"“{KINDS[kind]}”类提问须指明知识条目")
    assert unit is not None
    due, due_at = due_for(deadlines, now)
    question = KbQuestion(
        kind=kind,
        unit_code=unit,
        entry_id=entry_row.public_id if entry_row else None,
        entry_version=entry_row.version if entry_row else None,
        topic=topic_text,
        comment=comment_text,
        asked_by=actor.username,
        asked_at=now,
        due=due,
        due_at=due_at,
        basis=deadlines.policy.knowledge.basis if due else None,
        status="open",
    )
    session.add(question)
    session.flush()
    audit.record(
        session,
        actor,
        "ask",
        now,
        unit=unit,
        entry=question.entry_id,
        question=question.id,
        kind=kind,
        due=due,
    )
    return question


def get(session: Session, question_id: int, *, for_update: bool = False) -> KbQuestion:
    """The question with this id; 404 when there is none."""
    query = select(KbQuestion).where(KbQuestion.id == question_id)
    if for_update:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise QuestionRefused(404, f"找不到知识提问 {question_id}")
    return found


def answer(
    session: Session,
    actor: Actor,
    question_id: int,
    now: datetime,
    *,
    text: str,
    entry: str | None = None,
) -> KbQuestion:
    """Answer question ``question_id`` saying what was changed, optionally naming the entry edited.

    Refuses (403) anyone but the owning unit's editor or reviewer or an administrator, (409) a question
    already answered, (400) an empty answer or an entry that does not exist or is not the unit's."""
    question = get(session, question_id, for_update=True)  # two answers at once: the second sees the first
    if not may_answer_question(actor, question.unit_code):
        raise QuestionRefused(403, "只有该条目所属单位的编辑、审核人员或管理员可以答复")
    if question.status == "answered":
        raise QuestionRefused(409, f"该知识提问已由 {question.answered_by} 答复，不能重复答复")
    answer_text = _text(text, "答复内容（做了哪些修改）")
    changed: str | None = None
    if entry and entry.strip():
        row = session.scalar(select(KbEntry).where(KbEntry.public_id == entry.strip()))
        if row is None:
            raise QuestionRefused(400, f"找不到知识条目 {entry.strip()[:64]}")
        if not may_edit(actor, row.unit_code):
            raise QuestionRefused(400, f"知识条目 {row.public_id} 不属于本单位")
        changed = row.public_id
    question.status = "answered"
    question.answer = answer_text
    question.answered_by = actor.username
    question.answered_at = now
    question.changed_entry = changed
    session.flush()
    audit.record(
        session,
        actor,
        "answer_question",
        now,
        unit=question.unit_code,
        entry=changed or question.entry_id,
        question=question.id,
        late=question.is_overdue(now),
    )
    return question


def list_questions(
    session: Session, *, unit: str | None = None, status: str | None = None, limit: int = 200
) -> list[KbQuestion]:
    """Questions newest first, optionally one unit's and in one status (``open`` or ``answered``)."""
    if status is not None and status not in STATUSES:
        raise QuestionRefused(400, f"状态应为：{'、'.join(STATUSES)}")
    query = select(KbQuestion).order_by(KbQuestion.asked_at.desc(), KbQuestion.id.desc()).limit(limit)
    if unit is not None:
        query = query.where(KbQuestion.unit_code == unit)
    if status is not None:
        query = query.where(KbQuestion.status == status)
    return list(session.scalars(query))


def overdue(session: Session, now: datetime, *, unit: str | None = None) -> list[KbQuestion]:
    """Open questions past their due, the longest overdue first."""
    query = (
        select(KbQuestion)
        .where(KbQuestion.status == "open", KbQuestion.due_at.is_not(None), KbQuestion.due_at <= now)
        .order_by(KbQuestion.due_at, KbQuestion.id)
    )
    if unit is not None:
        query = query.where(KbQuestion.unit_code == unit)
    return list(session.scalars(query))


def flag_overdue(session: Session, now: datetime, *, limit: int = 100) -> list[KbQuestion]:
    """Mark each overdue open question once (``overdue_flagged_at``), with an audit row for the unit
    and the office; returns the questions flagged now. Rows are claimed with ``SKIP LOCKED`` so two
    workers never flag the same one. The caller commits."""
    rows = session.scalars(
        select(KbQuestion)
        .where(
            KbQuestion.status == "open",
            KbQuestion.due_at.is_not(None),
            KbQuestion.due_at <= now,
            KbQuestion.overdue_flagged_at.is_(None),
        )
        .order_by(KbQuestion.due_at, KbQuestion.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for question in rows:
        question.overdue_flagged_at = now
        audit.record(
            session,
            SYSTEM,
            "question_overdue",
            now,
            unit=question.unit_code,
            entry=question.entry_id,
            question=question.id,
            due=question.due,
        )
        # ids, unit and due only: the comment may quote a citizen
        log.warning(
            "knowledge question %s (%s) for unit %s is overdue since %s",
            question.id,
            question.kind,
            question.unit_code,
            question.due,
        )
    session.flush()
    return list(rows)


def flag_overdue_job(db: Database, now: datetime) -> int:
    """The worker's ``knowledge`` job: flag overdue questions in one transaction; returns how many."""
    with db.session() as session:
        flagged = flag_overdue(session, now)
        session.commit()
        return len(flagged)
