"""The knowledge API's entries (``/api/v1/kb/entries``, ``/api/v1/kb/review-due``): list and search,
create, read, save, the workflow steps (submit, publish, send back, archive, restore, confirm), versions
and diffs, and the entries due for review; routes on ``channels.machine.kb.bp``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Response, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channels.machine.kb import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    STATUSES,
    ApiError,
    _arg_int,
    _base_version,
    _body,
    _entry_id,
    _int,
    _text_field,
    _tz,
    _unit_arg,
    _units,
    actor,
    bp,
)
from channels.machine.kb_preview import _near_duplicates
from channels.security import hotline
from intake.core.dates import local_iso
from kb import editing
from kb.editing import STATUS_LABELS
from kb.models import KbEntry, KbEntryVersion

# ---------------------------------------------------------------- shaping answers


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _entry(db: Session, entry: KbEntry) -> dict[str, Any]:
    """One entry as the API shows it: what editors work on, what citizens are answered with, and where
    it stands."""
    due = editing.review_due_on(entry)
    live = entry.status == "published"
    return {
        "id": entry.public_id,
        "unit": entry.unit_code,
        "status": entry.status,
        "status_label": STATUS_LABELS.get(entry.status, entry.status),
        "pending_status": entry.pending_status,
        "working_status": editing.working_status(entry),
        "live_version": entry.version if live else None,
        "pending_version": entry.pending_version,
        "latest_version": editing.latest_number(db, entry),
        "content": editing.working_content(db, entry),
        "live": entry.to_record() if live else None,
        "review_every_days": entry.review_every_days,
        "reviewed_on": _iso(entry.reviewed_on),
        "review_due": _iso(due),
        "review_overdue": due is not None and due <= hotline().today(),
        "created_at": local_iso(entry.created_at, _tz(), "minutes"),
        "updated_at": local_iso(entry.updated_at, _tz(), "minutes"),
    }


def _summary(entry: KbEntry, latest: int) -> dict[str, Any]:
    due = editing.review_due_on(entry)
    return {
        "id": entry.public_id,
        "unit": entry.unit_code,
        "question": entry.question,
        "kind": entry.kind,
        "status": entry.status,
        "pending_status": entry.pending_status,
        "working_status": editing.working_status(entry),
        "latest_version": latest,
        "review_due": _iso(due),
        "updated_at": local_iso(entry.updated_at, _tz(), "minutes"),
        "url": url_for("kb_api.get_entry", public_id=entry.public_id),
    }


def _latest_numbers(db: Session, entries: list[KbEntry]) -> dict[int, int]:
    if not entries:
        return {}
    rows = db.execute(
        select(KbEntryVersion.entry_id, func.max(KbEntryVersion.number))
        .where(KbEntryVersion.entry_id.in_([e.id for e in entries]))
        .group_by(KbEntryVersion.entry_id)
    )
    return {entry_id: number for entry_id, number in rows}


def _version(v: KbEntryVersion, *, content: bool = False) -> dict[str, Any]:
    shown = {
        "number": v.number,
        "status": v.status,
        "status_label": STATUS_LABELS.get(v.status, v.status),
        "author": v.author,
        "note": v.note,
        "changed": list(v.changed or []),
        "created_at": local_iso(v.created_at, _tz(), "minutes"),
    }
    if content:
        shown["content"] = dict(v.content)
    return shown


def _with_etag(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{body["latest_version"]}"'
    return response


def _entry_response(public_id: str, status: int = 200, **extra: Any) -> Response:
    with hotline().db.session() as db:
        body = _entry(db, editing.get(db, public_id))
    return _with_etag({**body, **extra}, status)


# ---------------------------------------------------------------- entries


@bp.get("/entries")
def list_entries():
    """Entries, newest change first: filter by ``unit``, working ``status`` and text ``q``."""
    status = (request.args.get("status") or "").strip() or None
    if status is not None and status not in STATUSES:
        raise ApiError(
            400, f"status 应为 {'、'.join(STATUSES)} 之一。", [f"status must be one of {', '.join(STATUSES)}"]
        )
    text = (request.args.get("q") or "").strip()[:200] or None
    limit = _arg_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _arg_int("offset", 0, 0, 10**6)
    with hotline().db.session() as db:
        unit = _unit_arg(db)
        found = editing.entries(db, unit=unit, status=status, text=text, limit=limit, offset=offset)
        latest = _latest_numbers(db, found)
        shown = [_summary(e, latest.get(e.id, e.version)) for e in found]
    return jsonify({"entries": shown, "limit": limit, "offset": offset})


@bp.post("/entries")
def create_entry():
    """A new draft (of the caller's unit unless ``unit`` says another the caller may edit)."""
    data = _body()
    note = _text_field(data, "note")
    data.pop("note", None)
    line = hotline()
    with line.db.session() as db:
        entry = editing.create(db, actor(), data, _units(db), line.clock(), note=note)
        public_id = entry.public_id
        db.commit()
    response = _entry_response(public_id, 201, near_duplicates=_near_duplicates(public_id))
    response.headers["Location"] = url_for("kb_api.get_entry", public_id=public_id)
    return response


@bp.get("/entries/<public_id>")
def get_entry(public_id: str):
    """One entry: its working content, its live content, its status; ``ETag`` is the latest version."""
    return _entry_response(_entry_id(public_id))


@bp.put("/entries/<public_id>")
def save_entry(public_id: str):
    """Save the whole content as a new version; says which version it started from (``If-Match``)."""
    public_id = _entry_id(public_id)
    data = _body()
    base = _base_version(data)
    if base is None:
        raise ApiError(
            428,
            '请说明修改基于哪一版：在 If-Match 头中带上读取时的 ETag（如 If-Match: "3"），'
            "或在请求体中写 base_version，以免覆盖别人的修改。",
        )
    note = _text_field(data, "note")
    data.pop("note", None)
    line = hotline()
    with line.db.session() as db:
        editing.save(db, actor(), public_id, data, _units(db), line.clock(), base_version=base, note=note)
        db.commit()
    return _entry_response(public_id, near_duplicates=_near_duplicates(public_id))


def _action(public_id: str, act: Callable[[Session, dict[str, Any]], Any]) -> Response:
    """Run one workflow step on an entry; an ``If-Match`` (optional here) must still be the latest."""
    public_id = _entry_id(public_id)
    data = _body(optional=True)
    base = _base_version(data)
    with hotline().db.session() as db:
        entry = editing.get(db, public_id, lock=True)
        if base is not None and base != (latest := editing.latest_number(db, entry)):
            raise ApiError(
                409,
                f"条目已更新到第 {latest} 版，您看到的是第 {base} 版；请刷新后再操作。",
                current_version=latest,
            )
        act(db, data)
        db.commit()
    return _entry_response(public_id)


@bp.post("/entries/<public_id>/submit")
def submit_entry(public_id: str):
    """Hand the draft to the unit's reviewer."""
    line = hotline()
    return _action(public_id, lambda db, d: editing.submit(db, actor(), public_id, line.clock()))


@bp.post("/entries/<public_id>/publish")
def publish_entry(public_id: str):
    """Publish the submitted text: citizens are answered with it from the next request on."""
    line = hotline()
    return _action(public_id, lambda db, d: editing.publish(db, actor(), public_id, line.clock()))


@bp.post("/entries/<public_id>/send-back")
def send_back_entry(public_id: str):
    """Return a submitted text to its editors with a ``reason``."""
    line = hotline()

    def act(db: Session, data: dict[str, Any]) -> Any:
        reason = _text_field(data, "reason") or ""
        return editing.send_back(db, actor(), public_id, reason, line.clock())

    return _action(public_id, act)


@bp.post("/entries/<public_id>/archive")
def archive_entry(public_id: str):
    """Take the entry out of service, with a ``reason``; its versions stay and can be restored."""
    line = hotline()

    def act(db: Session, data: dict[str, Any]) -> Any:
        reason = _text_field(data, "reason") or ""
        return editing.archive(db, actor(), public_id, line.clock(), reason=reason)

    return _action(public_id, act)


@bp.post("/entries/<public_id>/restore")
def restore_entry(public_id: str):
    """Bring back ``version`` as a new draft, to be reviewed again."""
    line = hotline()

    def act(db: Session, data: dict[str, Any]) -> Any:
        if "version" not in data:
            raise ApiError(400, "请在 version 中写明要恢复的版本号。", ["version is required"])
        number = _int(data["version"], "version", 1, 10**9)
        return editing.restore(db, actor(), public_id, number, _units(db), line.clock())

    return _action(public_id, act)


@bp.post("/entries/<public_id>/confirm")
def confirm_entry(public_id: str):
    """A reviewer checked the published entry and it is still right: its review date starts again."""
    line = hotline()
    return _action(public_id, lambda db, d: editing.confirm_current(db, actor(), public_id, line.clock()))


@bp.get("/entries/<public_id>/versions")
def list_versions(public_id: str):
    """Every saved version, oldest first, with author, time, step and the fields that changed."""
    with hotline().db.session() as db:
        entry = editing.get(db, _entry_id(public_id))
        shown = [_version(v) for v in editing.versions(db, entry)]
    return jsonify({"id": entry.public_id, "versions": shown})


@bp.get("/entries/<public_id>/versions/<int:number>")
def get_version(public_id: str, number: int):
    """One version with its whole content."""
    with hotline().db.session() as db:
        entry = editing.get(db, _entry_id(public_id))
        return jsonify({"id": entry.public_id, **_version(editing.version(db, entry, number), content=True)})


@bp.get("/entries/<public_id>/diff")
def diff_entry(public_id: str):
    """What changed from version ``from`` to version ``to`` (default: the latest and the one before),
    field by field, as runs of same / removed / added characters; ``from=0`` compares with nothing."""
    with hotline().db.session() as db:
        entry = editing.get(db, _entry_id(public_id))
        latest = editing.latest_number(db, entry)
        to = _arg_int("to", latest, 1, 10**9)
        start = _arg_int("from", max(to - 1, 0), 0, 10**9)
        new = editing.version(db, entry, to).content
        old = editing.version(db, entry, start).content if start else {}
        changes = editing.diff(old, new)
    return jsonify(
        {
            "id": entry.public_id,
            "from": start,
            "to": to,
            "changes": [
                {
                    "field": c.field,
                    "label": c.label,
                    "old": c.old,
                    "new": c.new,
                    "segments": [{"op": op, "text": text} for op, text in c.segments],
                }
                for c in changes
            ],
        }
    )


@bp.get("/review-due")
def review_due():
    """Published entries past their review date, longest overdue first (a unit's staff: their unit's
    unless ``unit`` names another)."""
    with hotline().db.session() as db:
        unit = _unit_arg(db) or actor().unit_code
        due = editing.due_for_review(db, hotline().today(), unit=unit)
        latest = _latest_numbers(db, due)
        shown = [_summary(e, latest.get(e.id, e.version)) for e in due]
    return jsonify({"unit": unit, "today": hotline().today().isoformat(), "entries": shown})
