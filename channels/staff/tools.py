"""The editors' tool pages under ``/editor/``: knowledge questions, gaps, import and export, the audit
log and (for the administrator) staff accounts. Rules live in ``kb`` and ``intake.core.staff``.

Who sees what:

| page | admin | office, operator | unit_reviewer | unit_editor |
|---|---|---|---|---|
| ``/editor/questions`` | all, asks, answers | all, asks | own unit, answers | own unit, answers |
| ``/editor/gaps`` | yes | yes | yes | yes |
| ``/editor/import`` | any unit | 403 | own unit only | 403 |
| ``/editor/export`` | all or one unit | all or one unit | own unit | own unit |
| ``/editor/audit`` | all | all | own unit | own unit |
| ``/editor/users`` | yes | 403 | 403 | 403 |

Every POST carries the session's CSRF token (the office's rule, ``channels.staff.auth.check_csrf``); every
change writes a ``kb.audit`` row in the same transaction as the change.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from channels.security import hotline
from channels.staff.auth import check_csrf, csrf_token, current_user, staff_headers
from channels.staff.editor import staff_only
from intake.core import permissions
from intake.core.dates import local_minute
from intake.core.models import Unit
from intake.core.permissions import ROLE_LABELS, ROLES, UNIT_ROLES
from intake.core.staff import MIN_PASSWORD, StaffError, StaffUser, add_user
from kb import audit, editing, questions
from kb.audit import KbAudit
from kb.gaps import grouped_gaps
from kb.models import KbEntry
from kb.records import export_records, format_records, import_rows, parse_rows

bp = Blueprint("editor_tools", __name__, template_folder="templates")

MAX_IMPORT = 8 * 1024 * 1024  # bytes; a county's whole knowledge base is a few megabytes at most
AUDIT_PAGE = 100
GAP_DAYS = 30
GAP_GROUPS = 50
ACTION_LABELS = {
    "create": "新建条目",
    "save": "保存修改",
    "submit": "提交审核",
    "publish": "发布",
    "send_back": "退回修改",
    "archive": "归档",
    "restore": "恢复版本",
    "confirm": "确认复核",
    "import": "导入",
    "ask": "知识提问",
    "answer_question": "答复提问",
    "question_overdue": "提问逾期",
    "user_add": "新增账号",
    "user_deactivate": "停用账号",
    "user_reactivate": "启用账号",
}
DETAIL_LABELS = {
    "version": "版本",
    "changed": "改动",
    "reason": "原因",
    "restored": "恢复自第几版",
    "question": "提问编号",
    "kind": "类型",
    "due": "答复期限",
    "late": "逾期答复",
    "file": "文件",
    "added": "新增",
    "updated": "更新",
    "unchanged": "未变",
    "user": "账号",
    "role": "角色",
}
FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}


@bp.before_request
def _limits_then_csrf() -> None:
    # an upload may be bigger than the app's 256 KiB; set before the CSRF check reads the form
    if request.endpoint == "editor_tools.import_page":
        request.max_content_length = MAX_IMPORT
    check_csrf()  # the office's rule, one for every staff page


bp.after_request(staff_headers)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_: RequestEntityTooLarge) -> tuple[str, int]:
    user = current_user()
    if request.endpoint != "editor_tools.import_page" or user is None or not permissions.may_import(user):
        return "请求内容过大。", 413  # anything else this big is not a form of ours
    message = f"文件过大：一次最多导入 {MAX_IMPORT // (1024 * 1024)} MB，请分成几个文件。"
    return _render("editor/tools_import.html", 413, errors=[message], **_import_context())


# ---------------------------------------------------------------- helpers


def _page(template: str, **context: Any) -> str:
    return render_template(template, user=current_user(), csrf_token=csrf_token(), **context)


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return _page(template, **context), status


def allowed_if(may: Callable[[StaffUser], bool]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Signed in (else the login page) and ``may(user)`` (one of ``intake.core.permissions``; else 403)."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not may(current_user()):
                abort(403)
            return view(*args, **kwargs)

        return staff_only(checked)

    return wrap


def _own_unit() -> str | None:
    """The unit a unit user is limited to; ``None`` for the office's roles, who see every unit."""
    user = current_user()
    return permissions.unit_scope(user)


def _now() -> datetime:
    return hotline().clock()


def _units(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Unit.code, Unit.name).order_by(Unit.code)).all())


def _known(code: str | None, units: dict[str, str]) -> str | None:
    """A unit code from a form or query string when it is in the catalogue, else ``None``."""
    code = (code or "").strip()
    return code if code in units else None


@bp.app_template_filter("tools_time")
def _local_time(moment: datetime | None) -> str:
    """A stored (UTC) moment as the hotline's local time, to the minute."""
    return local_minute(moment, hotline().settings.timezone)


@bp.app_template_global("tools_nav")
def _nav(user: StaffUser | None) -> list[tuple[str, str]]:
    """The tool pages this user may open, for the editors' navigation bar."""
    if not user:  # also a page rendered without a user
        return []
    links = [("知识提问", url_for("editor_tools.questions_page")), ("知识缺口", url_for("editor_tools.gaps"))]
    if permissions.may_review_any(user):
        links.append(("导入导出", url_for("editor_tools.import_page")))
    else:
        links.append(("导出", url_for("editor_tools.export")))
    links.append(("操作记录", url_for("editor_tools.audit_log")))
    if permissions.may_manage_users(user):
        links.append(("账号管理", url_for("editor_tools.users")))
    return links


# ---------------------------------------------------------------- knowledge questions


def _question_order(now: datetime) -> Callable[[questions.KbQuestion], tuple[Any, ...]]:
    """Open and overdue first (longest overdue first), then open by due, then answered, newest first."""
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def key(q: questions.KbQuestion) -> tuple[Any, ...]:
        is_open = q.status == "open"
        return (
            not (is_open and q.is_overdue(now)),
            not is_open,
            (q.due_at or far) if is_open else far,
            -q.asked_at.timestamp(),
            -q.id,
        )

    return key


@bp.route("/editor/questions")
@staff_only
def questions_page():
    """Knowledge questions: the office sees every unit's, a unit its own; overdue first."""
    status = request.args.get("status", "open")
    if status not in ("open", "answered", "all"):
        status = "open"
    now = _now()
    with hotline().db.session() as session:
        units = _units(session)
        own = _own_unit()
        unit = own if own is not None else _known(request.args.get("unit"), units)
        rows = questions.list_questions(session, unit=unit, status=None if status == "all" else status)
        rows.sort(key=_question_order(now))
        entries = _entry_titles(session, {q.entry_id for q in rows})
        overdue = sum(1 for q in rows if q.status == "open" and q.is_overdue(now))
        return _page(
            "editor/tools_questions.html",
            rows=rows,
            now=now,
            status=status,
            statuses=questions.STATUSES,
            unit=unit,
            own=own,
            units=units,
            entries=entries,
            overdue=overdue,
            may_ask=permissions.may_ask_question(current_user()),
        )


def _entry_titles(session: Session, ids: set[str | None]) -> dict[str, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = session.execute(select(KbEntry.public_id, KbEntry.question).where(KbEntry.public_id.in_(ids)))
    return dict(rows.all())


@bp.route("/editor/questions/new", methods=["GET", "POST"])
@allowed_if(permissions.may_ask_question)
def question_new():
    """Ask a unit about one of its entries (or, for 缺失, about a topic it has no entry for)."""
    form = request.form if request.method == "POST" else request.args
    fields = {
        "kind": form.get("kind", ""),
        "comment": form.get("comment", ""),
        "entry": form.get("entry", "").strip(),
        "unit": form.get("unit", ""),
        "topic": form.get("topic", ""),
    }
    with hotline().db.session() as session:
        units = _units(session)
        entry = _entry_or_none(session, fields["entry"])
        error = None
        if fields["entry"] and entry is None:
            error, status = f"找不到知识条目 {fields['entry'][:64]}", 404
        if request.method == "POST" and error is None:
            try:
                question = questions.ask(
                    session,
                    current_user(),
                    hotline().lifecycle.deadlines,
                    _now(),
                    kind=fields["kind"],
                    comment=fields["comment"],
                    entry=fields["entry"] or None,
                    unit=None if fields["entry"] else (fields["unit"] or None),
                    topic=fields["topic"] or None,
                )
            except questions.QuestionRefused as refused:
                session.rollback()
                error, status = refused.message, refused.status
            else:
                session.commit()
                due = f"，请在 {question.due} 前答复" if question.due else ""
                flash(f"已向 {units.get(question.unit_code, question.unit_code)} 提出知识提问{due}。")
                return redirect(url_for("editor_tools.question", question_id=question.id))
        context = dict(fields=fields, entry=entry, units=units, kinds=questions.KINDS, error=error)
        if error and request.method == "POST":
            return _render("editor/tools_question_new.html", status, **context)
        return _page("editor/tools_question_new.html", **context)


def _entry_or_none(session: Session, public_id: str) -> KbEntry | None:
    if not public_id:
        return None
    return session.scalar(select(KbEntry).where(KbEntry.public_id == public_id))


def _visible_question(session: Session, question_id: int) -> questions.KbQuestion:
    try:
        question = questions.get(session, question_id)
    except questions.QuestionRefused:
        abort(404)
    own = _own_unit()
    if own is not None and question.unit_code != own:
        abort(403)
    return question


def _may_answer(question: questions.KbQuestion) -> bool:
    user = current_user()
    if question.status != "open":
        return False
    return permissions.may_answer_question(user, question.unit_code)


@bp.route("/editor/questions/<int:question_id>")
@staff_only
def question(question_id: int):
    """One question, and for its unit the form to answer it."""
    with hotline().db.session() as session:
        q = _visible_question(session, question_id)
        return _question_page(session, q)


def _question_page(
    session: Session, q: questions.KbQuestion, error: str | None = None, answer: str = "", changed: str = ""
) -> str:
    return _page(
        "editor/tools_question.html",
        q=q,
        now=_now(),
        units=_units(session),
        entries=_entry_titles(session, {q.entry_id, q.changed_entry}),
        may_answer=_may_answer(q),
        error=error,
        answer=answer,
        changed=changed or q.entry_id or "",
    )


@bp.route("/editor/questions/<int:question_id>/answer", methods=["POST"])
@staff_only
def question_answer(question_id: int):
    """The unit's answer: what it changed, optionally naming the entry it edited."""
    text = request.form.get("answer", "")
    changed = request.form.get("changed_entry", "").strip()
    with hotline().db.session() as session:
        q = _visible_question(session, question_id)
        try:
            questions.answer(session, current_user(), question_id, _now(), text=text, entry=changed or None)
        except questions.QuestionRefused as refused:
            session.rollback()
            q = _visible_question(session, question_id)
            page = _question_page(session, q, refused.message, text, changed)
            return page, refused.status
        session.commit()
    flash("答复已提交。")
    return redirect(url_for("editor_tools.question", question_id=question_id))


# ---------------------------------------------------------------- gaps


@bp.route("/editor/gaps")
@staff_only
def gaps():
    """Consultations nothing answered, grouped by meaning, most-asked first, each a new entry's seed."""
    try:
        days = max(1, min(365, int(request.args.get("days", GAP_DAYS))))
    except ValueError:
        days = GAP_DAYS
    line = hotline()
    with line.db.session() as session:
        groups = grouped_gaps(session, line.encoder, _now() - timedelta(days=days), limit=GAP_GROUPS)
    new_entry = [url_for("editor.new", question=g.question) for g in groups]
    return _page("editor/tools_gaps.html", groups=list(zip(groups, new_entry, strict=True)), days=days)


# ---------------------------------------------------------------- import and export


def _import_context() -> dict[str, Any]:
    user = current_user()
    return {"only_unit": permissions.import_scope(user), "max_mb": MAX_IMPORT // 2**20}


_LINE = re.compile(r"^line (\d+): ")


def _chinese_line(error: str) -> str:
    """``line 3: …`` as ``第 3 行：…`` (the reasons themselves stay as ``hotline kb import`` prints them)."""
    return _LINE.sub(lambda m: f"第 {m.group(1)} 行：", error)


@bp.route("/editor/import", methods=["GET", "POST"])
@staff_only
def import_page():
    """Upload a .jsonl or .csv file; all or nothing, every bad line listed."""
    user = current_user()
    if not permissions.may_import(user):
        abort(403)
    context = _import_context()
    if request.method == "GET":
        return _page("editor/tools_import.html", **context)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _render(
            "editor/tools_import.html", 400, errors=["请选择要导入的文件（.jsonl 或 .csv）。"], **context
        )
    filename = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
    if not filename.lower().endswith((".jsonl", ".json", ".csv")):
        return _render("editor/tools_import.html", 400, errors=["只能导入 .jsonl 或 .csv 文件。"], **context)
    rows, errors = parse_rows(upload.read(), filename)
    now = _now()
    with hotline().db.session() as session:
        report = import_rows(
            session,
            rows,
            errors,
            set(_units(session)),
            actor=user,
            now=now,
            only_unit=context["only_unit"],
            source=filename,
        )
        if not report.ok:
            session.rollback()
            lines = [_chinese_line(e) for e in report.errors]
            return _render("editor/tools_import.html", 400, errors=lines, filename=filename, **context)
        session.commit()
    flash(
        f"已导入 {filename}：新增 {report.added} 条，更新 {report.updated} 条，未变 {report.unchanged} 条。"
    )
    return redirect(url_for("editor_tools.import_page"))


@bp.route("/editor/export")
@staff_only
def export():
    """``?format=jsonl|csv``: download entries (a unit's own; the office and admin all, or one unit)."""
    fmt = request.args.get("format")
    own = _own_unit()
    with hotline().db.session() as session:
        units = _units(session)
        unit = own if own is not None else _known(request.args.get("unit"), units)
        if fmt is None:
            return _page("editor/tools_export.html", own=own, units=units, **_import_context())
        if fmt not in FORMATS:
            abort(400, description="format: jsonl or csv")
        records = export_records(session, unit)
    body = format_records(records, fmt)
    if fmt == "csv":
        body = "\ufeff" + body  # Excel reads a UTF-8 CSV as Chinese only with the byte-order mark
    stamp = _now().astimezone(hotline().settings.timezone).strftime("%Y%m%d")
    name = f"kb-{unit or 'all'}-{stamp}.{fmt}"
    return Response(
        body.encode("utf-8"),
        content_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------- the audit log


def _audit_rows(
    session: Session, *, unit: str | None, entry: str | None, actor: str | None, before: int | None
) -> list[KbAudit]:
    """One page of the log, newest first (``kb.audit.recent`` plus the actor and paging filters)."""
    query = select(KbAudit).order_by(KbAudit.id.desc()).limit(AUDIT_PAGE + 1)
    if unit is not None:
        query = query.where(KbAudit.unit_code == unit)
    if entry:
        query = query.where(KbAudit.entry_id == entry)
    if actor:
        query = query.where(KbAudit.actor == actor)
    if before:
        query = query.where(KbAudit.id < before)
    return list(session.scalars(query))


def _detail_text(detail: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, value in (detail or {}).items():
        if isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, list):
            value = "、".join(editing.LABELS.get(v, str(v)) for v in value)
        elif key == "kind":
            value = questions.KINDS.get(value, value)
        elif key == "role":
            value = ROLE_LABELS.get(value, value)
        shown.append((DETAIL_LABELS.get(key, key), str(value)))
    return shown


@bp.route("/editor/audit")
@staff_only
def audit_log():
    """Who did what, newest first; a unit's users see their unit's rows only."""
    own = _own_unit()
    args = request.args
    entry = args.get("entry", "").strip()[:64] or None
    actor = args.get("actor", "").strip().lower()[:64] or None
    before = args.get("before", type=int)
    with hotline().db.session() as session:
        units = _units(session)
        unit = own if own is not None else _known(args.get("unit"), units)
        rows = _audit_rows(session, unit=unit, entry=entry, actor=actor, before=before)
        more = len(rows) > AUDIT_PAGE
        rows = rows[:AUDIT_PAGE]
        older = None
        if more:
            older = url_for(
                "editor_tools.audit_log",
                **{
                    k: v
                    for k, v in {
                        "unit": unit if own is None else None,
                        "entry": entry,
                        "actor": actor,
                    }.items()
                    if v
                },
                before=rows[-1].id,
            )
        shown = [(row, _detail_text(row.detail)) for row in rows]
        return _page(
            "editor/tools_audit.html",
            rows=shown,
            own=own,
            unit=unit,
            units=units,
            entry=entry or "",
            actor=actor or "",
            older=older,
            actions=ACTION_LABELS,
            role_labels=ROLE_LABELS,
        )


# ---------------------------------------------------------------- staff accounts


def _users_page(session: Session, status: int = 200, error: str | None = None, form: Any = None):
    users = list(session.scalars(select(StaffUser).order_by(StaffUser.username)))
    return _render(
        "editor/tools_users.html",
        status,
        users=users,
        units=_units(session),
        roles=ROLES,
        unit_roles=UNIT_ROLES,
        role_labels=ROLE_LABELS,
        error=error,
        form=form or {},
        min_password=MIN_PASSWORD,
    )


@bp.route("/editor/users", methods=["GET", "POST"])
@allowed_if(permissions.may_manage_users)
def users():
    """The staff accounts; a POST adds one (the password is never shown again)."""
    with hotline().db.session() as session:
        if request.method == "GET":
            return _users_page(session)
        form = request.form
        username = form.get("username", "").strip()
        role = form.get("role", "")
        unit = form.get("unit", "").strip() or None
        password = form.get("password", "")
        shown = {"username": username[:64], "role": role, "unit": unit or ""}  # never the password
        units = _units(session)
        error = None
        if role not in ROLES:
            error = "请选择角色。"
        elif role in UNIT_ROLES and unit not in units:
            error = "单位编辑和单位审核员须选择所属单位。"
        elif role not in UNIT_ROLES and unit:
            error = f"“{ROLE_LABELS[role]}”不属于某个单位，请不要选择单位。"
        elif len(password) < MIN_PASSWORD:
            error = f"初始密码至少 {MIN_PASSWORD} 个字符。"
        elif password != form.get("password_again", ""):
            error = "两次输入的密码不一致。"
        if error:
            return _users_page(session, 400, error, shown)
        now = _now()
        try:
            new = add_user(session, username, password, role, now, unit_code=unit)
        except StaffError as refused:
            session.rollback()
            message = str(refused)
            if "exists already" in message:
                message = f"用户名 {username[:64]} 已被使用。"
            return _users_page(session, 409 if "已被使用" in message else 400, message, shown)
        audit.record(
            session, current_user(), "user_add", now, unit=new.unit_code, user=new.username, role=role
        )
        session.commit()
        flash(f"已新建账号 {new.username}（{ROLE_LABELS[role]}）。请把初始密码当面或另行告知本人。")
    return redirect(url_for("editor_tools.users"))


@bp.route("/editor/users/<int:user_id>/active", methods=["POST"])
@allowed_if(permissions.may_manage_users)
def user_active(user_id: int):
    """Deactivate (``active=0``) or reactivate (``active=1``) an account; a deactivated one is out at once."""
    active = request.form.get("active") == "1"
    me = current_user()
    with hotline().db.session() as session:
        target = session.get(StaffUser, user_id)
        if target is None:
            abort(404)
        if target.id == me.id and not active:
            return _users_page(session, 409, "不能停用自己正在使用的账号。")
        if target.active != active:
            target.active = active
            action = "user_reactivate" if active else "user_deactivate"
            audit.record(
                session, me, action, _now(), unit=target.unit_code, user=target.username, role=target.role
            )
            session.commit()
        flash(f"账号 {target.username} 已{'启用' if active else '停用'}。")
    return redirect(url_for("editor_tools.users"))
