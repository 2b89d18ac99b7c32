"""The knowledge API's import, export and audit log (``/api/v1/kb/import``, ``/export``, ``/audit``):
whole files of entries in and out, and who did what; routes on ``channels.machine.kb.bp``.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from channels.machine.kb import (
    FORMATS,
    IMPORT_MAX_BYTES,
    MAX_AUDIT,
    MAX_ID,
    ApiError,
    _arg_int,
    _own_unit_only,
    _tz,
    _unit_arg,
    _units,
    actor,
    bp,
)
from channels.security import hotline
from intake.core import permissions
from intake.core.dates import local_iso
from kb import audit
from kb.records import export_records, format_records, import_rows, parse_rows

# ---------------------------------------------------------------- import, export, audit


def _import_payload() -> tuple[bytes, str]:
    """The uploaded file (multipart field ``file``) or the raw body, and the format it is in."""
    fmt = (request.args.get("format") or "").strip().lower() or None
    if fmt is not None and fmt not in FORMATS:
        raise ApiError(400, "format 应为 jsonl 或 csv。", ["format must be jsonl or csv"])
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "请在表单字段 file 中上传 .jsonl 或 .csv 文件。", ["file is required"])
        raw = upload.read()
        suffix = (upload.filename or "").rsplit(".", 1)[-1].lower()
        fmt = fmt or ("csv" if suffix == "csv" else "jsonl")
    else:
        raw = request.get_data(cache=False)
        fmt = fmt or ("csv" if request.mimetype in ("text/csv", "application/csv") else "jsonl")
    if not raw.strip():
        raise ApiError(400, "导入内容为空：请在请求体中发送 JSON Lines 或 CSV，或上传文件。")
    return raw, fmt


@bp.post("/import")
def import_entries():
    """Import JSON Lines or CSV, all or nothing; entries are published at once. An administrator may
    import any unit's entries, a unit reviewer only their own unit's."""
    who = actor()
    if not permissions.may_import(who):
        raise ApiError(403, "只有管理员或单位审核员可以导入知识条目（导入即发布）。")
    only_unit = permissions.import_scope(who)
    request.max_content_length = IMPORT_MAX_BYTES
    raw, fmt = _import_payload()
    rows, errors = parse_rows(raw, f"upload.{fmt}")
    if not rows and not errors:
        raise ApiError(400, "文件中没有知识条目。")
    line = hotline()
    now = line.clock()
    with line.db.session() as db:
        report = import_rows(
            db, rows, errors, _units(db), actor=who, now=now, only_unit=only_unit, source=f"api.{fmt}"
        )
        if not report.ok:
            db.rollback()
            raise ApiError(
                400, f"导入失败：发现 {len(report.errors)} 处问题，没有导入任何条目。", report.errors
            )
        db.commit()
    return jsonify({"added": report.added, "updated": report.updated, "unchanged": report.unchanged})


@bp.get("/export")
def export_entries():
    """Every entry's live content (or one ``unit``'s) in the import format, ``jsonl`` or ``csv``."""
    fmt = (request.args.get("format") or "jsonl").strip().lower()
    if fmt not in FORMATS:
        raise ApiError(400, "format 应为 jsonl 或 csv。", ["format must be jsonl or csv"])
    with hotline().db.session() as db:
        unit = _unit_arg(db)
        text = format_records(export_records(db, unit), fmt)
    name = f"kb-{unit or 'all'}-{hotline().today().isoformat()}.{fmt}"
    return Response(
        text, content_type=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/audit")
def audit_log():
    """Who did what, newest first; a unit's staff see their own unit's rows only."""
    limit = _arg_int("limit", 100, 1, MAX_AUDIT)
    entry = (request.args.get("entry") or "").strip()[:MAX_ID] or None
    with hotline().db.session() as db:
        unit = _own_unit_only(db)
        rows = audit.recent(db, unit=unit, entry=entry, limit=limit)
        shown = [
            {
                "id": r.id,
                "at": local_iso(r.at, _tz(), "minutes"),
                "actor": r.actor,
                "role": r.role,
                "action": r.action,
                "unit": r.unit_code,
                "entry": r.entry_id,
                "detail": r.detail or {},
            }
            for r in rows
        ]
    return jsonify({"unit": unit, "entries": shown})
