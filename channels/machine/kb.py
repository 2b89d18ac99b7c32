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

This module holds the blueprint ``bp``, its error handlers, authentication and the helpers that read
requests; the routes are in ``kb_entries`` (entries: CRUD, workflow steps, versions, search, review),
``kb_preview`` (trying a draft before publishing), ``kb_transfer`` (import, export, audit) and
``kb_questions`` (knowledge questions), all registered on this one ``bp``; the OpenAPI document is
in ``kb_openapi``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from channels import errors
from channels.security import hotline
from channels.staff.auth import csrf_sent, current_user
from intake.core import permissions
from intake.core.inputs import BadInput
from intake.core.models import Unit
from intake.core.staff_tokens import user_for_token
from kb import preview, questions
from kb.editing import EditRefused

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


def _tz() -> Any:
    return hotline().settings.timezone


# ---------------------------------------------------------------- the routes

# Each module registers its routes on ``bp`` when imported (they import what they share from here).
from channels.machine import kb_entries, kb_preview, kb_questions, kb_transfer  # noqa: E402, F401

# ---------------------------------------------------------------- the description


@bp.get("/openapi.json")
def openapi():
    """This API's OpenAPI 3.1 description (no credentials needed)."""
    return jsonify(openapi_document())


def openapi_document() -> dict[str, Any]:
    from channels.machine.kb_openapi import document

    return document(PREFIX, import_max=IMPORT_MAX_BYTES)
