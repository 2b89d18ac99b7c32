"""The knowledge API's preview before publishing (``/api/v1/kb/preview``,
``/api/v1/kb/entries/<id>/preview``): how test questions are answered now and with a draft published,
and the live entries nearly the same as a draft; routes on ``channels.machine.kb.bp``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify

from channels.machine.kb import ApiError, _body, _entry_id, _units, actor, bp
from channels.security import hotline
from intake.core.text import normalize
from kb import editing, preview
from kb.records import check_record

# ---------------------------------------------------------------- preview before publishing


def _index_and_today() -> tuple[Any, date]:
    with hotline().db.session() as db:
        return hotline().kb.refresh(db), hotline().today()


def _normalise(text: str) -> str:
    return normalize(text, hotline().settings.max_text).match


def _near_duplicates(public_id: str) -> list[dict[str, Any]]:
    """Live entries nearly the same as the entry's working text, shown on saving."""
    with hotline().db.session() as db:
        content = editing.working_content(db, editing.get(db, public_id))
    index, today = _index_and_today()
    draft = preview.Draft.from_record(content)
    found = preview.near_duplicates(index, draft, today=today, normalise=_normalise)
    return [d.to_dict() for d in found]


def _draft_from(fields: Any, fallback: dict[str, Any] | None) -> preview.Draft:
    """A draft from the request's ``draft`` fields (checked as a save checks them), or ``fallback``."""
    if fields is None:
        if fallback is None:
            raise ApiError(400, "请在 draft 中提供要试问的条目内容。", ["draft is required"])
        return preview.Draft.from_record(fallback)
    if not isinstance(fields, dict):
        raise ApiError(400, "draft 应为 JSON 对象。", ["draft must be an object"])
    record = dict(fields)
    record.setdefault("unit", (fallback or {}).get("unit") or actor().unit_code)
    placeholder = not record.get("id")
    if placeholder:
        record["id"] = (fallback or {}).get("id") or preview.DRAFT_ID
    with hotline().db.session() as db:
        clean, problems = check_record(record, _units(db))
    if clean is None:
        raise ApiError(400, "内容不完整或有误：" + "；".join(problems), problems)
    if placeholder and record["id"] == preview.DRAFT_ID:
        clean["id"] = None
    return preview.Draft.from_record(clean)


def _preview(draft: preview.Draft, data: dict[str, Any]) -> Response:
    asked = data.get("questions", [])
    if not isinstance(asked, list) or not all(isinstance(q, str) for q in asked):
        raise ApiError(400, "questions 应为文本列表。", ["questions must be a list of texts"])
    index, today = _index_and_today()
    line = hotline()
    rows = preview.preview(
        index, draft, asked, today=today, thresholds=line.triage.thresholds, normalise=_normalise
    )
    near = preview.near_duplicates(index, draft, today=today, normalise=_normalise)
    return jsonify({"rows": [r.to_dict() for r in rows], "near_duplicates": [d.to_dict() for d in near]})


@bp.post("/preview")
def preview_draft():
    """How test ``questions`` are answered now and with ``draft`` published, and near-duplicates."""
    data = _body()
    return _preview(_draft_from(data.get("draft"), None), data)


@bp.post("/entries/<public_id>/preview")
def preview_entry(public_id: str):
    """The same for an entry's working text (or ``draft``, the editor's unsaved change of it)."""
    data = _body()
    with hotline().db.session() as db:
        content = editing.working_content(db, editing.get(db, _entry_id(public_id)))
    return _preview(_draft_from(data.get("draft"), content), data)
