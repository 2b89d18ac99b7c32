"""The knowledge API under ``/api/v1/kb/``: the editors' operations for units that sync from their own
systems, described by an OpenAPI 3.1 document at ``/api/v1/kb/openapi.json``.

Every request acts as one staff user: ``Authorization: Bearer hlk_…`` (a token from ``hotline user
token``, with its user's role and unit) or the staff pages' session cookie, whose writes must also send
the session's ``X-CSRF-Token`` (a browser sends the cookie on its own; a bearer token it does not).
Every rule about who may do what lives in ``kb.editing``, ``kb.questions`` and ``kb.records``; this
module turns requests into calls and refusals into JSON ``{"error", "message", "problems"}`` with the
domain's HTTP status: 401 without valid credentials, 403 for another unit's entry or a role that may
not, 404, 409 for a stale save or a step the workflow does not allow, 400 for invalid content, 428 for
a save that does not say which version it started from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from channels import errors
from channels.security import hotline
from channels.staff.auth import csrf_sent, current_user
from intake.core import permissions
from intake.core.dates import local_iso
from intake.core.inputs import BadInput
from intake.core.models import Unit
from intake.core.staff_tokens import user_for_token
from intake.core.text import normalize
from kb import audit, editing, preview, questions
from kb.editing import STATUS_LABELS, EditRefused
from kb.models import KbEntry, KbEntryVersion
from kb.records import check_record, export_records, format_records, import_rows, parse_rows

PREFIX = "/api/v1/kb"
bp = Blueprint("kb_api", __name__, url_prefix=PREFIX)

PUBLIC_ENDPOINTS = {"kb_api.openapi"}  # readable without credentials
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
STATUSES = ("draft", "submitted", "published", "archived")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
MAX_AUDIT = 500
MAX_ID = 64
# A unit's whole knowledge base in one file: the demo county's 108 entries take 124 KB as JSON Lines,
# a city's thousands need more than the 256 KiB every other request is allowed.
IMPORT_MAX_BYTES = 8 * 1024 * 1024
ERROR_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    428: "precondition_required",
    500: "server_error",
}
FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}


class ApiError(Exception):
    """A refusal to answer as JSON: ``status``, a Chinese ``message``, and the ``problems`` found."""

    def __init__(self, status: int, message: str, problems: list[str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.problems, self.extra = status, message, problems or [], extra


@dataclass(frozen=True)
class ApiActor:
    """The staff user a request acts as (a plain copy: the database row's session is closed)."""

    username: str
    role: str
    unit_code: str | None
    via: str  # "token" or "session"


def actor() -> ApiActor:
    return g.kb_actor


# ---------------------------------------------------------------- errors


def error_response(status: int, message: str, problems: list[str] | None = None, **extra: Any) -> Response:
    body = {"error": ERROR_CODES.get(status, "error"), "message": message, "problems": problems or []}
    response = jsonify({**body, **extra})
    response.status_code = status
    if status == 401:
        challenge = 'Bearer realm="hotline-kb"'
        if request.headers.get("Authorization"):
            challenge += ', error="invalid_token"'
        response.headers["WWW-Authenticate"] = challenge
    return response


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> Response:
    """Input refused at the edge (``channels.security.check_body``), in this API's format."""
    return error_response(400, str(exc), [])


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.problems, **exc.extra)


@bp.errorhandler(EditRefused)
def _edit_refused(exc: EditRefused) -> Response:
    return error_response(exc.status, exc.message, exc.problems)


@bp.errorhandler(questions.QuestionRefused)
def _question_refused(exc: questions.QuestionRefused) -> Response:
    return error_response(exc.status, exc.message)


@bp.errorhandler(preview.PreviewInvalid)
def _preview_invalid(exc: preview.PreviewInvalid) -> Response:
    return error_response(exc.status, exc.message)


def _http_message(exc: HTTPException) -> str:
    if exc.code == 413:
        limit = request.max_content_length or 0
        return f"请求内容过大：此接口最多接受 {limit // 1024} KB。"
    if exc.code == 404:
        return f"没有这个接口：{request.path[:200]}（接口说明见 {PREFIX}/openapi.json）"
    if exc.code == 405:
        return f"此接口不支持 {request.method} 方法（接口说明见 {PREFIX}/openapi.json）"
    if exc.code == 500:
        return "服务器内部错误，请稍后重试。"
    return "请求有误，无法处理。"


# By code as well as by class: Flask looks up handlers by code first, the app's included (channels.api
# answers every 413 and 500 of the app in its own words), and only then by class.
@bp.errorhandler(400)
@bp.errorhandler(404)
@bp.errorhandler(405)
@bp.errorhandler(413)
@bp.errorhandler(415)
@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return error_response(exc.code or 500, _http_message(exc))


@bp.errorhandler(500)
def _server_error(exc: Exception) -> Response:
    return error_response(500, "服务器内部错误，请稍后重试。")


def _under_prefix() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _unrouted(exc: HTTPException) -> Any:
    """An unknown path or method under the prefix never reaches the blueprint: answer it as JSON too,
    and leave every other path's error as it was."""
    if not _under_prefix():
        return errors.http_error(exc)  # every other path: the app's Chinese page or JSON
    response = error_response(exc.code or 404, _http_message(exc))
    if valid := getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(valid)
    return response


# ---------------------------------------------------------------- who is asking


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization")
    if header is not None:
        g.kb_actor = _token_actor(header)
    else:
        user = current_user()
        if user is None:
            raise ApiError(
                401,
                "未登录：请在 Authorization 头中提供 Bearer 令牌（hotline user token 签发），"
                "或先在 /office/login 登录。",
            )
        if request.method not in SAFE_METHODS:
            _check_csrf()
        g.kb_actor = ApiActor(user.username, user.role, user.unit_code, "session")
    if not permissions.may_read_kb(g.kb_actor):
        raise ApiError(403, f"角色“{g.kb_actor.role}”不能使用知识库接口")


def _token_actor(header: str) -> ApiActor:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "Authorization 头应为“Bearer 令牌”，例如 Authorization: Bearer hlk_…")
    line = hotline()
    with line.db.session() as db:
        user = user_for_token(db, token, line.clock())
        if user is None:
            raise ApiError(401, "访问令牌无效、已被撤销，或其用户已停用；请向管理员申请新的令牌。")
        found = ApiActor(user.username, user.role, user.unit_code, "token")
        db.commit()  # the token's last use
    return found


def _check_csrf() -> None:
    """A browser sends the cookie to any site's request; only our own pages know the session's token."""
    if not csrf_sent(request.headers.get("X-CSRF-Token")):
        raise ApiError(
            403,
            "缺少或错误的 X-CSRF-Token：用登录会话修改内容时须带上页面中的 CSRF 令牌"
            "（用 Bearer 令牌则不需要）。",
        )


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint not in PUBLIC_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"  # drafts and audit rows are not for shared caches
    return response


# ---------------------------------------------------------------- reading requests


def _body(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object; ``{}`` for an empty body where nothing is required."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ApiError(400, "请求体为空：请发送一个 JSON 对象。")
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, f"请求体应为 JSON（Content-Type: application/json），收到的是 {mimetype[:100]}。")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "请求体不是 UTF-8 编码的 JSON。") from None
    except RecursionError:
        raise ApiError(400, "请求体的 JSON 嵌套过深。") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise ApiError(
            400, f"请求体不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）。", [where]
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "请求体应为 JSON 对象（{…}）。")
    return data


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().lstrip("-").isascii() and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= high:
        raise ApiError(
            400,
            f"{name} 应为 {low} 到 {high} 之间的整数。",
            [f"{name} must be a whole number from {low} to {high}"],
        )
    return value


def _arg_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    return default if raw in (None, "") else _int(raw, name, low, high)


def _text_field(data: dict[str, Any], name: str, *, limit: int = 500) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(
            400,
            f"{name} 应为不超过 {limit} 个字符的文本。",
            [f"{name} must be text of at most {limit} characters"],
        )
    return value


def _unit_arg(db: Session) -> str | None:
    unit = (request.args.get("unit") or "").strip() or None
    if unit is not None and unit not in _units(db):
        raise ApiError(
            400, f"没有代码为 {unit[:64]} 的单位。", [f"unit {unit[:64]!r} is not in the unit catalogue"]
        )
    return unit


def _own_unit_only(db: Session) -> str | None:
    """The unit whose questions or audit rows to show: a unit's staff see only their own unit's."""
    unit = _unit_arg(db)
    who = actor()
    if permissions.unit_scope(who) is not None:
        if unit is not None and unit != who.unit_code:
            raise ApiError(403, f"只能查看本单位（{who.unit_code}）的记录。")
        return who.unit_code
    return unit


def _units(db: Session) -> set[str]:
    return set(db.scalars(select(Unit.code)))


def _if_match() -> int | None:
    """The version number in ``If-Match`` (``"7"``, ``W/"7"`` or ``7``), or ``None`` without one."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip().strip('"')
    if not (value.isascii() and value.isdigit()):  # "²".isdigit() is True, int("²") fails
        raise ApiError(400, 'If-Match 应为条目的版本号，即读取时 ETag 中的数字，例如 If-Match: "3"。')
    return int(value)


def _base_version(data: dict[str, Any]) -> int | None:
    """The version the client started from: ``If-Match`` or the body's ``base_version`` (which agree)."""
    header = _if_match()
    field = data.pop("base_version", None)
    if field is not None:
        field = _int(field, "base_version", 1, 10**9)
    if header is not None and field is not None and header != field:
        raise ApiError(400, f"If-Match（{header}）与 base_version（{field}）不一致。")
    return header if header is not None else field


def _entry_id(public_id: str) -> str:
    if len(public_id) > MAX_ID:
        raise ApiError(404, f"没有编号为 {public_id[:MAX_ID]}… 的知识条目")
    return public_id


# ---------------------------------------------------------------- shaping answers


def _tz() -> Any:
    return hotline().settings.timezone


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


# ---------------------------------------------------------------- knowledge questions (知识提问)


def _question(q: questions.KbQuestion) -> dict[str, Any]:
    return q.to_dict(_tz(), hotline().clock())


def _may_see_question(q: questions.KbQuestion) -> None:
    who = actor()
    if not permissions.may_see_unit(who, q.unit_code):
        raise ApiError(403, f"知识提问 {q.id} 不是向本单位提出的。")


@bp.get("/questions")
def list_questions():
    """Knowledge questions newest first, by ``unit`` and ``status`` (open | answered)."""
    status = (request.args.get("status") or "").strip() or None
    limit = _arg_int("limit", 100, 1, MAX_AUDIT)
    with hotline().db.session() as db:
        unit = _own_unit_only(db)
        found = questions.list_questions(db, unit=unit, status=status, limit=limit)
        return jsonify({"unit": unit, "questions": [_question(q) for q in found]})


@bp.get("/questions/overdue")
def overdue_questions():
    """Open questions past their due, longest overdue first."""
    line = hotline()
    with line.db.session() as db:
        unit = _own_unit_only(db)
        found = questions.overdue(db, line.clock(), unit=unit)
        return jsonify({"unit": unit, "questions": [_question(q) for q in found]})


@bp.post("/questions")
def ask_question():
    """Flag an entry (``entry``) or a missing topic (``unit`` and ``topic``) with a ``kind`` and a
    ``comment``; the unit must answer within the pack's limit."""
    data = _body()
    fields = {}
    for name in ("kind", "comment", "entry", "unit", "topic"):
        fields[name] = _text_field(data, name, limit=questions.MAX_TEXT)
    strange = sorted(set(data) - set(fields))
    if strange:
        raise ApiError(
            400, f"未知字段：{', '.join(strange)[:200]}", [f"unknown field {', '.join(strange)[:200]}"]
        )
    line = hotline()
    with line.db.session() as db:
        asked = questions.ask(
            db,
            actor(),
            line.lifecycle.deadlines,
            line.clock(),
            kind=fields["kind"] or "",
            comment=fields["comment"] or "",
            entry=fields["entry"],
            unit=fields["unit"],
            topic=fields["topic"],
        )
        db.commit()
        response = jsonify(_question(asked))
    response.status_code = 201
    response.headers["Location"] = url_for("kb_api.get_question", question_id=asked.id)
    return response


@bp.get("/questions/<int:question_id>")
def get_question(question_id: int):
    with hotline().db.session() as db:
        found = questions.get(db, question_id)
        _may_see_question(found)
        return jsonify(_question(found))


@bp.post("/questions/<int:question_id>/answer")
def answer_question(question_id: int):
    """The owning unit's answer: ``text`` says what was changed, ``entry`` optionally names the entry."""
    data = _body()
    text = _text_field(data, "text", limit=questions.MAX_TEXT) or ""
    entry = _text_field(data, "entry", limit=MAX_ID)
    line = hotline()
    with line.db.session() as db:
        answered = questions.answer(db, actor(), question_id, line.clock(), text=text, entry=entry)
        db.commit()
        return jsonify(_question(answered))


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


# ---------------------------------------------------------------- the description


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3.1 description (no credentials needed)."""
    return jsonify(openapi_document())


def openapi_document() -> dict[str, Any]:
    from channels.machine.kb_openapi import document

    return document(PREFIX, import_max=IMPORT_MAX_BYTES)
