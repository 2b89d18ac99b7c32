"""The editors' workflow for knowledge entries: who may change what, versions, review, restore.

Each unit owns and answers for its entries (000 第十一条(三), 001 第九条-第十一条, 003 第十五条): a
``unit_editor`` writes and submits its unit's entries, a ``unit_reviewer`` of the same unit also
publishes, sends back, archives and confirms them, the hotline's ``admin`` may do anything anywhere,
and every other staff role reads.

An entry goes draft → submitted → published → archived. Until it is first published the entry's row
holds the text being written. Once published, the row holds what citizens are answered with, and a
change waits beside it as a *pending* version (draft, then submitted) while the published text keeps
answering; publishing copies the pending version onto the row. Every save is a numbered
``KbEntryVersion`` holding the whole content, its author and the fields that changed, so any two
versions can be compared and any version restored (as a new draft: it is reviewed again).

Saving carries the version number the editor started from; when someone saved in between, the save is
refused (409) instead of silently overwriting their work. Every action writes one audit row in the same
transaction (``kb.audit``). Refusals are ``EditRefused`` with an HTTP status and a message in Chinese,
so the pages and the JSON API show the same reason.
"""

from __future__ import annotations

import difflib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.permissions import may_edit, may_move_entry, may_review
from kb import audit
from kb.audit import Actor, SystemActor
from kb.models import SERVICE_FIELDS, SERVICE_LABELS, KbEntry, KbEntryVersion, as_record, bump_revision
from kb.records import FIELDS, check_record, next_version

__all__ = ["SystemActor"]  # re-exported: callers act as it when no person does


LABELS = {
    "id": "编号",
    "unit": "所属单位",
    "kind": "类型",
    "question": "标准问题",
    "alt_questions": "其他问法",
    "answer": "答复内容",
    "spoken_answer": "语音答复",
    "keywords": "关键词",
    "tags": "标签",
    "valid_from": "生效日期",
    "valid_until": "失效日期",
    "review_every_days": "复核周期（天）",
    **{f"service.{key}": label for key, label in SERVICE_LABELS.items()},
}
KIND_LABELS = {"answer": "问答", "service": "办事指南", "notice": "公告通知"}
STATUS_LABELS = {
    "draft": "草稿",
    "submitted": "待审核",
    "published": "已发布",
    "archived": "已归档",
    "superseded": "已被替换",
}


class EditRefused(Exception):
    """An action that cannot be done; ``status`` is the HTTP status the pages and the API answer with."""

    status = 400

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class NotFound(EditRefused):
    status = 404


class NotAllowed(EditRefused):
    status = 403


class Conflict(EditRefused):
    status = 409


class Invalid(EditRefused):
    status = 400


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotAllowed(message)


# ---------------------------------------------------------------- reading


def get(session: Session, public_id: str, *, lock: bool = False) -> KbEntry:
    query = select(KbEntry).where(KbEntry.public_id == public_id)
    if lock:
        query = query.with_for_update()
    entry = session.scalar(query)
    if entry is None:
        raise NotFound(f"没有编号为 {public_id} 的知识条目")
    return entry


def versions(session: Session, entry: KbEntry) -> list[KbEntryVersion]:
    """The entry's versions, oldest first."""
    query = select(KbEntryVersion).where(KbEntryVersion.entry_id == entry.id)
    return list(session.scalars(query.order_by(KbEntryVersion.number)))


def version(session: Session, entry: KbEntry, number: int) -> KbEntryVersion:
    found = session.scalar(
        select(KbEntryVersion).where(KbEntryVersion.entry_id == entry.id, KbEntryVersion.number == number)
    )
    if found is None:
        raise NotFound(f"条目 {entry.public_id} 没有第 {number} 版")
    return found


def latest_number(session: Session, entry: KbEntry) -> int:
    """The newest version's number: what an editor's next save must start from."""
    return next_version(session, entry) - 1


def working_content(session: Session, entry: KbEntry) -> dict[str, Any]:
    """What the editor works on: the pending change if there is one, else the row."""
    if entry.pending_version is not None:
        return dict(version(session, entry, entry.pending_version).content)
    return entry.to_record()


def working_status(entry: KbEntry) -> str:
    """The step the entry's newest text is at (a pending change of a published entry has its own)."""
    return entry.pending_status or entry.status


def entries(
    session: Session,
    *,
    unit: str | None = None,
    status: str | None = None,
    text: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[KbEntry]:
    """Entries for the editors' list: a unit's or all, by working status, containing ``text``."""
    query = select(KbEntry).order_by(KbEntry.updated_at.desc(), KbEntry.id.desc())
    if unit:
        query = query.where(KbEntry.unit_code == unit)
    if status in ("draft", "submitted"):
        query = query.where((KbEntry.status == status) | (KbEntry.pending_status == status))
    elif status:
        query = query.where(KbEntry.status == status)
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(KbEntry.question.like(like) | KbEntry.answer.like(like))
    return list(session.scalars(query.limit(limit).offset(offset)))


def review_due_on(entry: KbEntry) -> date | None:
    """The day a published entry should be checked again, when it has a review interval."""
    if entry.review_every_days is None or entry.status != "published":
        return None
    since = entry.reviewed_on or entry.created_at.date()
    return since + timedelta(days=entry.review_every_days)


def due_for_review(session: Session, today: date, unit: str | None = None) -> list[KbEntry]:
    """Published entries past their review date, the longest overdue first."""
    query = select(KbEntry).where(KbEntry.status == "published", KbEntry.review_every_days.is_not(None))
    if unit:
        query = query.where(KbEntry.unit_code == unit)
    due = [e for e in session.scalars(query) if (d := review_due_on(e)) is not None and d <= today]
    return sorted(due, key=lambda e: (review_due_on(e), e.public_id))


# ---------------------------------------------------------------- changing


def _checked(fields: dict[str, Any], known_units: set[str]) -> dict[str, Any]:
    record, problems = check_record({k: v for k, v in fields.items() if k in FIELDS}, known_units)
    strange = sorted(set(fields) - set(FIELDS))
    if strange:
        problems = [*problems, f"unknown field {', '.join(strange)}"]
    if record is None or problems:
        raise Invalid("内容不完整或有误：" + "；".join(problems), problems)
    return as_record(record)


def _new_id(unit: str) -> str:
    return f"{unit.upper()}-{secrets.token_hex(3).upper()}"


def create(
    session: Session,
    actor: Actor,
    fields: dict[str, Any],
    known_units: set[str],
    now: datetime,
    note: str | None = None,
) -> KbEntry:
    """A new entry as a draft of ``fields['unit']`` (the editor's own unit when not given)."""
    fields = dict(fields)
    fields.setdefault("unit", actor.unit_code)
    unit = fields.get("unit") or ""
    if not isinstance(unit, str) or not isinstance(fields.get("id") or "", str):
        raise Invalid("unit 和 id 应为字符串")
    _require(may_edit(actor, unit), "只能为本单位新建知识条目")
    fields["id"] = (fields.get("id") or "").strip() or _new_id(unit)
    content = _checked(fields, known_units)
    if session.scalar(select(KbEntry.id).where(KbEntry.public_id == content["id"])) is not None:
        raise Conflict(f"编号 {content['id']} 已被其他条目使用")
    entry = KbEntry(public_id=content["id"], status="draft", version=1, created_at=now, updated_at=now)
    entry.apply(content)
    session.add(entry)
    session.flush()
    _add_version(session, entry, 1, entry.to_record(), "draft", actor, note, ["created"], now)
    audit.record(session, actor, "create", now, unit=unit, entry=entry.public_id, question=entry.question)
    return entry


def save(
    session: Session,
    actor: Actor,
    public_id: str,
    fields: dict[str, Any],
    known_units: set[str],
    now: datetime,
    *,
    base_version: int | None,
    note: str | None = None,
) -> KbEntry:
    """Save a change as a new version; refused when someone saved since ``base_version``.

    ``base_version`` is the newest version number the editor's form was loaded with; ``None`` skips the
    check (an import that means to overwrite).
    """
    entry = get(session, public_id, lock=True)
    _require(may_edit(actor, entry.unit_code), "只能修改本单位的知识条目")
    latest = latest_number(session, entry)
    if base_version is not None and base_version != latest:
        newest = version(session, entry, latest)
        raise Conflict(
            f"条目已被 {newest.author} 于 {newest.created_at:%Y-%m-%d %H:%M} 修改为第 {latest} 版，"
            f"您的修改基于第 {base_version} 版。请刷新后在最新版本上修改。"
        )
    if entry.status == "archived":
        raise Conflict("已归档的条目不能直接修改；请先恢复一个版本")
    fields = {**fields, "id": entry.public_id}
    fields.setdefault("unit", entry.unit_code)
    if fields["unit"] != entry.unit_code and not may_move_entry(actor):
        raise NotAllowed("只有管理员可以把条目转给其他单位")
    content = _checked(fields, known_units)
    changed = changed_fields(working_content(session, entry), content)
    if not changed:
        return entry
    number = latest + 1
    _write_draft(session, entry, number, content, actor, note, changed, now)
    audit.record(
        session, actor, "save", now, unit=entry.unit_code, entry=public_id, version=number, changed=changed
    )
    return entry


def submit(session: Session, actor: Actor, public_id: str, now: datetime) -> KbEntry:
    """Hand a draft to the unit's reviewer."""
    entry = get(session, public_id, lock=True)
    _require(may_edit(actor, entry.unit_code), "只能提交本单位的知识条目")
    if working_status(entry) != "draft":
        raise Conflict(f"只有草稿可以提交审核；此条目当前为“{STATUS_LABELS[working_status(entry)]}”")
    if entry.pending_status:
        entry.pending_status = "submitted"
    else:
        entry.status = "submitted"
    _mark(session, entry, "submitted")
    entry.updated_at = now
    audit.record(session, actor, "submit", now, unit=entry.unit_code, entry=public_id, version=_newest(entry))
    return entry


def publish(session: Session, actor: Actor, public_id: str, now: datetime) -> KbEntry:
    """Make the submitted text the one citizens are answered with; every worker serves it next request."""
    entry = get(session, public_id, lock=True)
    _require(may_review(actor, entry.unit_code), "只有本单位的审核员或管理员可以发布")
    if working_status(entry) != "submitted":
        raise Conflict(f"只有待审核的条目可以发布；此条目当前为“{STATUS_LABELS[working_status(entry)]}”")
    for older in versions(session, entry):
        if older.status == "published":
            older.status = "superseded"
    if entry.pending_version is not None:
        pending = version(session, entry, entry.pending_version)
        entry.apply(pending.content)
        entry.version = pending.number
        entry.pending_version = entry.pending_status = None
    entry.status = "published"
    entry.reviewed_on = now.date()
    entry.updated_at = now
    _mark(session, entry, "published")
    bump_revision(session)
    audit.record(session, actor, "publish", now, unit=entry.unit_code, entry=public_id, version=entry.version)
    return entry


def send_back(session: Session, actor: Actor, public_id: str, reason: str, now: datetime) -> KbEntry:
    """Return a submitted text to its editors as a draft, saying why."""
    entry = get(session, public_id, lock=True)
    _require(may_review(actor, entry.unit_code), "只有本单位的审核员或管理员可以退回")
    if working_status(entry) != "submitted":
        raise Conflict("只有待审核的条目可以退回")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请写明退回原因，编辑才知道要改什么")
    if entry.pending_status:
        entry.pending_status = "draft"
    else:
        entry.status = "draft"
    _mark(session, entry, "draft")
    entry.updated_at = now
    audit.record(session, actor, "send_back", now, unit=entry.unit_code, entry=public_id, reason=reason[:500])
    return entry


def archive(session: Session, actor: Actor, public_id: str, now: datetime, reason: str = "") -> KbEntry:
    """Take an entry out of service (it no longer answers); its versions stay and can be restored."""
    entry = get(session, public_id, lock=True)
    if entry.status == "archived":
        raise Conflict("此条目已归档")
    was_live = entry.status == "published"
    # a text citizens read is withdrawn by a reviewer; a draft nobody saw, by its editors too
    allowed = may_review if was_live else may_edit
    _require(allowed(actor, entry.unit_code), "只有本单位的审核员或管理员可以归档已发布的条目")
    entry.status = "archived"
    entry.pending_version = entry.pending_status = None
    entry.updated_at = now
    if was_live:
        bump_revision(session)
    audit.record(session, actor, "archive", now, unit=entry.unit_code, entry=public_id, reason=reason[:500])
    return entry


def restore(
    session: Session, actor: Actor, public_id: str, number: int, known_units: set[str], now: datetime
) -> KbEntry:
    """Bring back version ``number`` as a new draft (reviewed again before it answers)."""
    entry = get(session, public_id, lock=True)
    _require(may_edit(actor, entry.unit_code), "只能恢复本单位的知识条目")
    old = version(session, entry, number)
    content = _checked({**old.content, "id": entry.public_id}, known_units)
    latest = latest_number(session, entry)
    changed = changed_fields(working_content(session, entry), content) or ["restored"]
    new = latest + 1
    _write_draft(session, entry, new, content, actor, f"恢复第 {number} 版", changed, now)
    audit.record(
        session, actor, "restore", now, unit=entry.unit_code, entry=public_id, restored=number, version=new
    )
    return entry


def confirm_current(session: Session, actor: Actor, public_id: str, now: datetime) -> KbEntry:
    """A reviewer checked a published entry and it is still right: its review date starts again."""
    entry = get(session, public_id, lock=True)
    _require(may_review(actor, entry.unit_code), "只有本单位的审核员或管理员可以确认复核")
    if entry.status != "published":
        raise Conflict("只有已发布的条目需要复核")
    entry.reviewed_on = now.date()
    audit.record(session, actor, "confirm", now, unit=entry.unit_code, entry=public_id)
    return entry


def _write_draft(
    session: Session,
    entry: KbEntry,
    number: int,
    content: dict[str, Any],
    actor: Actor,
    note: str | None,
    changed: list[str],
    now: datetime,
) -> None:
    """Save ``content`` as draft version ``number``: beside a published text, else in the row itself."""
    if entry.status == "published":
        entry.pending_version, entry.pending_status = number, "draft"
    else:
        entry.apply(content)
        entry.status, entry.version = "draft", number
    entry.updated_at = now
    _add_version(session, entry, number, content, "draft", actor, note, changed, now)


def _add_version(
    session: Session,
    entry: KbEntry,
    number: int,
    content: dict[str, Any],
    status: str,
    actor: Actor,
    note: str | None,
    changed: list[str],
    now: datetime,
) -> None:
    session.add(
        KbEntryVersion(
            entry_id=entry.id, number=number, content=content, status=status, author=actor.username,
            note=(note or "").strip()[:500] or None, changed=changed, created_at=now,
        )
    )  # fmt: skip
    session.flush()


def _newest(entry: KbEntry) -> int:
    return entry.pending_version if entry.pending_version is not None else entry.version


def _mark(session: Session, entry: KbEntry, status: str) -> None:
    """Record the workflow step on the version it applies to."""
    version(session, entry, _newest(entry)).status = status


# ---------------------------------------------------------------- comparing


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between two versions, with a character-level diff for display."""

    field: str
    label: str
    old: str
    new: str
    segments: tuple[tuple[str, str], ...]  # ("same" | "removed" | "added", text)


def _flat(content: dict[str, Any]) -> dict[str, str]:
    """Content as labelled text fields: lists one item per line, the service fields one by one."""
    flat: dict[str, str] = {}
    for key in FIELDS:
        if key == "service":
            service = content.get("service") or {}
            for part in SERVICE_FIELDS:
                flat[f"service.{part}"] = service.get(part) or ""
            continue
        value = content.get(key)
        if isinstance(value, list):
            flat[key] = "\n".join(value)
        elif key == "kind":
            flat[key] = KIND_LABELS.get(value or "answer", str(value))
        else:
            flat[key] = "" if value is None else str(value)
    return flat


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The fields (``service.office`` style for service parts) whose text differs."""
    a, b = _flat(old), _flat(new)
    return [k for k in b if a.get(k, "") != b[k]]


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """What changed from ``old`` to ``new``, field by field, as character runs (Chinese has no spaces)."""
    a, b = _flat(old), _flat(new)
    changes = []
    for key in b:
        before, after = a.get(key, ""), b[key]
        if before == after:
            continue
        matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
        segments: list[tuple[str, str]] = []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                segments.append(("same", before[i1:i2]))
                continue
            if i2 > i1:
                segments.append(("removed", before[i1:i2]))
            if j2 > j1:
                segments.append(("added", after[j1:j2]))
        changes.append(FieldChange(key, LABELS.get(key, key), before, after, _fold(segments)))
    return changes


def _fold(segments: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Fold one- and two-character islands of sameness into the change around them, so a rewritten
    sentence reads as old text struck out and new text added, not as confetti (unrelated Chinese
    sentences share many single characters)."""
    blocks: list[list[str]] = []  # ["same", text] or ["change", removed, added]
    for i, (kind, text) in enumerate(segments):
        island = kind == "same" and len(text) <= 2 and 0 < i < len(segments) - 1
        if kind == "same" and not island:
            blocks.append(["same", text])
            continue
        if not blocks or blocks[-1][0] != "change":
            blocks.append(["change", "", ""])
        block = blocks[-1]
        if kind != "added":
            block[1] += text
        if kind != "removed":
            block[2] += text
    folded: list[tuple[str, str]] = []
    for block in blocks:
        if block[0] == "same":
            folded.append(("same", block[1]))
        else:
            folded += [(k, t) for k, t in (("removed", block[1]), ("added", block[2])) if t]
    return tuple(folded)
