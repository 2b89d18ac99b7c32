"""The knowledge editors' pages at ``/editor/``: units write, review and publish their entries.

Staff sign in once, on the shared staff login (``/office/login``, see ``channels.staff.office``); the same
signed session and CSRF token serve both the office's and the editors' pages. Every rule about who may
do what lives in ``kb.editing``; this module only turns forms into calls and refusals into pages.

- ``/editor/`` lists entries (a unit's own by default), with what waits for the user's review and
  what is past its review date.
- ``/editor/new`` and ``/editor/entries/<id>/edit`` are one form for every field of 003 第十五条; its
  "试问" button previews test questions against the live knowledge base and the draft (``kb.preview``)
  without saving. A save carries the version the form was loaded from, so a colleague's newer save is
  never overwritten silently (409, with their change shown and the user's text kept).
- ``/editor/entries/<id>`` shows the working text, the live one, the workflow buttons the user may use,
  and every version, with a character diff and restore.

Pages work without JavaScript; ``static/editor/editor.js`` only shows the service fields for a
service entry and moves the focus to the list of problems.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from channels.security import hotline
from channels.staff.auth import check_csrf, csrf_token, current_user, staff_headers
from intake.core import permissions
from intake.core.dates import local_minute
from intake.core.permissions import ROLE_LABELS, may_edit, may_read_kb, may_review
from intake.core.text import normalize
from kb import audit, editing
from kb.editing import (
    KIND_LABELS,
    LABELS,
    STATUS_LABELS,
    Conflict,
    EditRefused,
    Invalid,
    NotAllowed,
)
from kb.models import KINDS, SERVICE_FIELDS, STATUSES, KbEntry
from kb.preview import Draft, PreviewInvalid, near_duplicates, preview
from kb.records import MAX_ITEM, MAX_LIST, MAX_REVIEW_DAYS, MAX_SERVICE_TEXT, MAX_TEXT, check_record

bp = Blueprint(
    "editor",
    __name__,
    template_folder="templates",
    static_folder="static/editor",
    static_url_path="/static/editor",
)

PAGE_SIZE = 50
CHANGE_LABELS = {**LABELS, "created": "新建", "restored": "恢复"}
SERVICE_KEYS = tuple(f"service.{part}" for part in SERVICE_FIELDS)
LONG_SERVICE = ("conditions", "materials", "steps", "fees")  # written as several lines
SPLIT = re.compile(r"[,，、;；\n]+")


# one CSRF rule and one set of security headers for every staff page
bp.before_request(check_csrf)
bp.after_request(staff_headers)


def staff_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Anyone signed in with a role that reads the knowledge base; others go to the login page."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not may_read_kb(user):
            abort(403, description="您的账号没有查看知识库的权限。")
        return view(*args, **kwargs)

    return checked


# ---------------------------------------------------------------- pages for refusals

ERROR_TITLES = {400: "请求有误", 403: "没有权限", 404: "找不到", 409: "操作冲突", 405: "请求有误"}
ERROR_TEXTS = {
    400: "页面已过期或请求不完整（例如表单的安全令牌已失效），请返回后刷新页面再试。",
    403: "您的账号没有权限进行此操作。",
    404: "找不到您要的页面或知识条目。",
}


def refused_page(status: int, message: str, detail: str | None = None, entry: KbEntry | None = None) -> Any:
    """The Chinese page every refusal of the editors' pages shows, with the reason and a way back."""
    return (
        render_template(
            "editor/refused.html",
            status=status,
            title=ERROR_TITLES.get(status, "无法完成"),
            message=message,
            detail=detail,
            entry=entry,
            **_page(),
        ),
        status,
    )


@bp.errorhandler(EditRefused)
def _refused(error: EditRefused) -> Any:
    return refused_page(error.status, error.message)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 400 and "CSRF" in (error.description or ""):
        message = ERROR_TEXTS[400]
    elif error.description and not error.description.isascii():
        message = error.description  # one of ours, already in Chinese
    else:
        message = ERROR_TEXTS.get(status, "无法完成此操作。")
    return refused_page(status, message)


# ---------------------------------------------------------------- shared helpers


def _page() -> dict[str, Any]:
    """What every page's frame needs: the user, the CSRF token and the labels."""
    return {
        "user": current_user(),
        "csrf_token": csrf_token(),
        "role_labels": ROLE_LABELS,
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        "labels": CHANGE_LABELS,
    }


def _now() -> datetime:
    return hotline().clock()


def _unit_names(session: Session) -> dict[str, str]:
    catalogue = hotline().units(session)
    return {code: info.name for code, info in sorted(catalogue.units.items())}


def _normaliser() -> Callable[[str], str]:
    max_text = hotline().settings.max_text
    return lambda text: normalize(text, max_text).match


@bp.app_template_filter("local_time")
def _local_time(moment: datetime | None) -> str:
    """A stored (UTC) moment as the hotline's local time, to the minute."""
    return local_minute(moment, hotline().settings.timezone)


@bp.app_template_filter("role_label")
def _role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


@bp.app_template_filter("unit_name")
def _unit_name(code: str | None) -> str:
    """A unit's name from the catalogue (cached by the hotline), or the code when it is unknown."""
    if not code:
        return ""
    with hotline().db.session() as session:
        return hotline().units(session).name(code) or code


def status_text(entry: KbEntry) -> str:
    """The entry's step for the lists: a published entry with a change waiting says so."""
    if entry.status == "published" and entry.pending_status == "submitted":
        return "已发布 · 有待审核的修改"
    if entry.status == "published" and entry.pending_status == "draft":
        return "已发布 · 有未提交的修改"
    return STATUS_LABELS.get(entry.status, entry.status)


def _not_yours(user: Any, entry: KbEntry, units: dict[str, str]) -> Any:
    """The 403 page for a change to an entry the user may not make, saying why and whom to ask."""
    owner = units.get(entry.unit_code, entry.unit_code)
    if user.unit_code:
        mine = units.get(user.unit_code, user.unit_code)
        detail = (
            f"此条目属于“{owner}”。您是“{mine}”的{ROLE_LABELS.get(user.role, user.role)}，"
            f"只能修改本单位的知识条目（各单位对本单位的知识内容负责）。"
            f"如发现此条目有误，请联系{owner}或热线办公室。"
        )
    else:
        detail = f"您的角色（{ROLE_LABELS.get(user.role, user.role)}）可以查看知识条目，但不能修改。"
    return refused_page(403, "不能修改其他单位的知识条目", detail, entry)


# ---------------------------------------------------------------- the list


@bp.route("/editor/login")
def login():
    return redirect(url_for("auth.login", next=url_for("editor.index")))


@bp.route("/editor/")
@staff_only
def index():
    """Entries (the user's unit by default), what waits for the user's review, what is past review."""
    user = current_user()
    args = request.args
    unit = args.get("unit", user.unit_code or "")
    status = args.get("status", "")
    if status not in (*STATUSES, ""):
        status = ""
    text = args.get("q", "").strip()[:100]
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    with hotline().db.session() as session:
        units = _unit_names(session)
        if unit and unit not in units:
            unit = ""
        rows = editing.entries(
            session, unit=unit or None, status=status or None, text=text or None,
            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
        to_review = []
        if permissions.may_review_any(user):
            to_review = editing.entries(
                session, unit=permissions.review_scope(user), status="submitted", limit=PAGE_SIZE
            )
        watch_unit = user.unit_code if user.unit_code else (unit or None)
        overdue = editing.due_for_review(session, hotline().today(), unit=watch_unit)
        listed = [_row(e) for e in rows[:PAGE_SIZE]]
        reviews = [_row(e) for e in to_review]
        due = [_row(e) for e in overdue[:PAGE_SIZE]]
    return render_template(
        "editor/index.html",
        rows=listed,
        more=len(rows) > PAGE_SIZE,
        page=page,
        reviews=reviews,
        due=due,
        due_total=len(overdue),
        units=units,
        unit=unit,
        status=status,
        q=text,
        may_create=permissions.may_create_entry(user),
        **_page(),
    )


def _row(entry: KbEntry) -> dict[str, Any]:
    """An entry as a line of a list, read while the session is open."""
    return {
        "id": entry.public_id,
        "question": entry.question,
        "unit": entry.unit_code,
        "kind": entry.kind or "answer",
        "status": status_text(entry),
        "working": editing.working_status(entry),
        "version": entry.pending_version or entry.version,
        "live_version": entry.version if entry.status == "published" else None,
        "updated": entry.updated_at,
        "review_due": editing.review_due_on(entry),
    }


# ---------------------------------------------------------------- the form


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _words(text: str) -> list[str]:
    return [w.strip() for w in SPLIT.split(text) if w.strip()]


def form_fields(form: Any, unit: str | None) -> dict[str, Any]:
    """The entry's fields from the submitted form, in the import/export format ``kb.records`` checks."""
    kind = form.get("kind", "answer")
    review = form.get("review_every_days", "").strip()
    fields: dict[str, Any] = {
        "unit": unit,
        "kind": kind,
        "question": form.get("question", "").strip(),
        "alt_questions": _lines(form.get("alt_questions", "")),
        "answer": form.get("answer", "").strip(),
        "spoken_answer": form.get("spoken_answer", "").strip() or None,
        "keywords": _words(form.get("keywords", "")),
        "tags": _words(form.get("tags", "")),
        "valid_from": form.get("valid_from", "").strip() or None,
        "valid_until": form.get("valid_until", "").strip() or None,
        "review_every_days": review or None,  # kb.records.check_record reads and checks it
        # only a service entry keeps its service fields (the form hides them for the other kinds)
        "service": {
            part: value
            for part in SERVICE_FIELDS
            if kind == "service" and (value := form.get(f"service.{part}", "").strip())
        },
    }
    return fields


def form_values(content: dict[str, Any]) -> dict[str, str]:
    """An entry's content as the form's text fields."""
    service = content.get("service") or {}
    values = {
        "unit": content.get("unit") or "",
        "kind": content.get("kind") or "answer",
        "question": content.get("question") or "",
        "alt_questions": "\n".join(content.get("alt_questions") or []),
        "answer": content.get("answer") or "",
        "spoken_answer": content.get("spoken_answer") or "",
        "keywords": "，".join(content.get("keywords") or []),
        "tags": "，".join(content.get("tags") or []),
        "valid_from": content.get("valid_from") or "",
        "valid_until": content.get("valid_until") or "",
        "review_every_days": str(content.get("review_every_days") or ""),
    }
    values.update({f"service.{part}": service.get(part) or "" for part in SERVICE_FIELDS})
    return values


def _submitted_values(form: Any) -> dict[str, str]:
    """What the user typed, exactly, to show again after a refusal."""
    keys = ("unit", "kind", "question", "alt_questions", "answer", "spoken_answer", "keywords", "tags",
            "valid_from", "valid_until", "review_every_days", *SERVICE_KEYS)  # fmt: skip
    return {key: form.get(key, "") for key in keys}


# Each problem kb.records reports, as the field it belongs to and a sentence in Chinese.
PROBLEMS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str]]]] = [
    (re.compile(r"^(\w+) is required text$"), lambda m: (m[1], f"请填写{LABELS.get(m[1], m[1])}。")),
    (
        re.compile(r"^(\w+) is longer than (\d+) characters$"),
        lambda m: (m[1], f"{LABELS.get(m[1], m[1])}不能超过 {m[2]} 个字。"),
    ),
    (
        re.compile(r"^(\w+) (must be a list of non-empty texts|holds at most .*)$"),
        lambda m: (m[1], f"{LABELS.get(m[1], m[1])}最多 {MAX_LIST} 条，每条不超过 {MAX_ITEM} 个字。"),
    ),
    (re.compile(r"^kind must be one of"), lambda m: ("kind", "请选择条目类型。")),
    (
        re.compile(r"^service\.(\w+) must be text"),
        lambda m: (f"service.{m[1]}", f"{LABELS.get(f'service.{m[1]}')}不能超过 {MAX_SERVICE_TEXT} 个字。"),
    ),
    (
        re.compile(r"^review_every_days must be"),
        lambda m: ("review_every_days", f"复核周期请填写 1 到 {MAX_REVIEW_DAYS} 之间的整数天数，或留空。"),
    ),
    (
        re.compile(r"^(valid_from|valid_until) is not an ISO date"),
        lambda m: (m[1], f"{LABELS[m[1]]}请填写日期，如 2026-12-31。"),
    ),
    (
        re.compile(r"^valid_from is after valid_until$"),
        lambda m: ("valid_until", "失效日期不能早于生效日期。"),
    ),
    (
        re.compile(r"^a notice needs valid_until"),
        lambda m: ("valid_until", "公告通知必须填写失效日期：通知不再有效的那一天（过期后不再用于答复）。"),
    ),
    (re.compile(r"^unit .* is not in the unit catalogue$"), lambda m: ("unit", "请选择单位目录中的单位。")),
]


def field_problems(problems: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Sort ``kb.records`` problems by field, in Chinese; what belongs to no field comes second."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        for pattern, render in PROBLEMS:
            if found := pattern.match(problem):
                key, text = render(found)
                by_field.setdefault(key, []).append(text)
                break
        else:
            general.append(problem)
    return by_field, general


def _entry_form(
    *,
    entry: dict[str, Any] | None,
    values: dict[str, str],
    base_version: int | None,
    units: dict[str, str],
    note: str = "",
    errors: dict[str, list[str]] | None = None,
    general: list[str] | None = None,
    conflict: dict[str, Any] | None = None,
    tests: str = "",
    previewed: list[Any] | None = None,
    preview_error: str | None = None,
    status: int = 200,
) -> Any:
    user = current_user()
    return (
        render_template(
            "editor/edit.html",
            entry=entry,
            values=values,
            base_version=base_version,
            units=units,
            may_move=permissions.may_move_entry(user),
            note=note,
            errors=errors or {},
            general=general or [],
            conflict=conflict,
            tests=tests,
            previewed=previewed,
            preview_error=preview_error,
            kinds=KINDS,
            service_fields=SERVICE_FIELDS,
            long_service=LONG_SERVICE,
            max_text=MAX_TEXT,
            **_page(),
        ),
        status,
    )


def _preview(session: Session, fields: dict[str, Any], public_id: str | None, tests: str) -> list[Any]:
    """Decide the test questions on the live knowledge base and with the form's text as if published."""
    line = hotline()
    index = line.kb.refresh(session)
    draft = Draft.from_record({**fields, "id": public_id})
    return preview(
        index, draft, tests.splitlines(), today=hotline().today(), thresholds=line.triage.thresholds,
        normalise=_normaliser(),
    )  # fmt: skip


def _handle_form(session: Session, entry: KbEntry | None, units: dict[str, str]) -> Any:
    """Save the form (or preview it); on a refusal show the form again with the user's text."""
    user = current_user()
    form = request.form
    if entry is None:
        unit = form.get("unit") if permissions.may_move_entry(user) else user.unit_code
    else:
        unit = form.get("unit") if permissions.may_move_entry(user) else entry.unit_code
    fields = form_fields(form, unit or None)
    values = _submitted_values(form)
    values["unit"] = unit or ""
    note = form.get("note", "").strip()[:500]
    tests = form.get("tests", "")[:5000]
    try:
        base_version = int(form.get("base_version", ""))
    except ValueError:
        base_version = None
    shown = {
        "entry": _entry_view(session, entry, units) if entry else None,
        "values": values,
        "base_version": base_version,
        "units": units,
        "note": note,
        "tests": tests,
    }
    known = set(units)
    if form.get("action") == "preview":
        _, problems = check_record({**fields, "id": entry.public_id if entry else "new"}, known)
        errors, general = field_problems(problems)
        if problems:
            return _entry_form(**shown, errors=errors, general=general, status=400)
        try:
            rows = _preview(session, fields, entry.public_id if entry else None, tests)
        except PreviewInvalid as refused:
            return _entry_form(**shown, preview_error=refused.message, status=400)
        if not rows:
            return _entry_form(**shown, preview_error="请先输入至少一个试问的问题，每行一个。", status=400)
        return _entry_form(**shown, previewed=rows)
    before = editing.latest_number(session, entry) if entry is not None else 0
    try:
        if entry is None:
            saved = editing.create(session, user, fields, known, _now(), note=note)
        else:
            if base_version is None:
                raise Invalid("表单缺少版本号，请刷新页面后重新修改。")
            saved = editing.save(
                session, user, entry.public_id, fields, known, _now(), base_version=base_version, note=note
            )
        session.commit()
    except Invalid as refused:
        session.rollback()
        errors, general = field_problems(refused.problems)
        if not refused.problems:
            general = [refused.message]
        return _entry_form(**shown, errors=errors, general=general, status=400)
    except Conflict as refused:
        session.rollback()
        return _conflict(session, shown, fields, refused)
    except NotAllowed as refused:
        session.rollback()
        if entry is not None:
            return _not_yours(user, entry, units)
        return refused_page(403, refused.message)
    after = editing.latest_number(session, saved)
    public_id = saved.public_id
    if entry is not None and after == before:
        flash("内容没有变化，没有保存新版本。")
    else:
        flash(f"已保存为第 {after} 版（草稿）。确认无误后请提交审核。")
    return redirect(url_for("editor.entry", public_id=public_id, saved=1))


def _conflict(session: Session, shown: dict[str, Any], fields: dict[str, Any], refused: Conflict) -> Any:
    """Someone saved in between: say who and when, show what they changed, keep the user's text.

    The form is given the newest version's number, so saving again is a deliberate choice to put this
    text over theirs after reading what they changed."""
    entry = shown["entry"]
    if entry is None:  # a new entry whose id is taken: nothing to compare with
        return _entry_form(**shown, general=[refused.message], status=409)
    row = editing.get(session, entry["id"])
    latest = editing.latest_number(session, row)
    newest = editing.version(session, row, latest)
    theirs = dict(newest.content)
    conflict = {
        "message": refused.message,
        "author": newest.author,
        "at": newest.created_at,
        "number": latest,
        "changes": editing.diff(theirs, {**theirs, **fields}),
    }
    return _entry_form(**{**shown, "base_version": latest}, conflict=conflict, status=409)


@bp.route("/editor/new", methods=["GET", "POST"])
@staff_only
def new():
    """A new entry of the user's unit (an administrator picks the unit); ``?question=`` prefills."""
    user = current_user()
    with hotline().db.session() as session:
        units = _unit_names(session)
        if not permissions.may_create_entry(user):
            detail = f"您的角色（{ROLE_LABELS.get(user.role, user.role)}）可以查看知识条目，但不能新建。"
            return refused_page(403, "不能新建知识条目", detail)
        if request.method == "POST":
            return _handle_form(session, None, units)
    values = form_values({"question": request.args.get("question", "")[:500], "unit": user.unit_code})
    return _entry_form(entry=None, values=values, base_version=None, units=units)


@bp.route("/editor/entries/<public_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(public_id: str):
    """The form for the entry's working text (the pending change when there is one)."""
    user = current_user()
    with hotline().db.session() as session:
        entry = editing.get(session, public_id)
        units = _unit_names(session)
        if not may_edit(user, entry.unit_code):
            return _not_yours(user, entry, units)
        if entry.status == "archived":
            return refused_page(
                409, "已归档的条目不能直接修改", "请在条目页的版本列表中恢复一个版本，再修改。", entry
            )
        if request.method == "POST":
            return _handle_form(session, entry, units)
        values = form_values(editing.working_content(session, entry))
        return _entry_form(
            entry=_entry_view(session, entry, units),
            values=values,
            base_version=editing.latest_number(session, entry),
            units=units,
        )


# ---------------------------------------------------------------- the entry, its versions, its steps


def _entry_view(session: Session, entry: KbEntry, units: dict[str, str]) -> dict[str, Any]:
    """What the entry page and the form's header show, read while the session is open."""
    user = current_user()
    working = editing.working_status(entry)
    live = entry.status == "published"
    return {
        "id": entry.public_id,
        "question": entry.question,
        "unit": entry.unit_code,
        "unit_name": units.get(entry.unit_code, entry.unit_code),
        "status": entry.status,
        "status_text": status_text(entry),
        "working": working,
        "version": entry.version,
        "pending_version": entry.pending_version,
        "updated": entry.updated_at,
        "reviewed_on": entry.reviewed_on,
        "review_due": editing.review_due_on(entry),
        "may_edit": may_edit(user, entry.unit_code) and entry.status != "archived",
        "may_submit": may_edit(user, entry.unit_code) and working == "draft",
        "may_publish": may_review(user, entry.unit_code) and working == "submitted",
        "may_archive": entry.status != "archived"
        and (may_review if live else may_edit)(user, entry.unit_code),
        "may_confirm": may_review(user, entry.unit_code) and live,
        "may_restore": may_edit(user, entry.unit_code),
    }


def _content_rows(content: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The content as (key, label, text) for a definition list, empty fields left out."""
    values = form_values(content)
    values["kind"] = KIND_LABELS.get(values["kind"], values["kind"])
    keys = ("kind", "question", "alt_questions", "answer", "spoken_answer", "keywords", "tags",
            *SERVICE_KEYS, "valid_from", "valid_until", "review_every_days")  # fmt: skip
    return [(k, LABELS.get(k, k), values[k]) for k in keys if values.get(k)]


@bp.route("/editor/entries/<public_id>")
@staff_only
def entry(public_id: str):
    """The entry: working and live text, the steps the user may take, every version."""
    with hotline().db.session() as session:
        row = editing.get(session, public_id)
        units = _unit_names(session)
        view = _entry_view(session, row, units)
        working = editing.working_content(session, row)
        live = row.to_record() if row.pending_version is not None else None
        pending_changes = editing.diff(live, working) if live is not None else []
        history = editing.versions(session, row)
        versions = [
            {
                "number": v.number,
                "status": v.status,
                "author": v.author,
                "at": v.created_at,
                "note": v.note,
                "changed": [CHANGE_LABELS.get(c, c) for c in v.changed or []],
            }
            for v in reversed(history)
        ]
        sent_back = None
        if view["working"] == "draft":
            [last] = audit.recent(session, entry=public_id, limit=1) or [None]
            if last is not None and last.action == "send_back":
                sent_back = {"by": last.actor, "at": last.at, "reason": last.detail.get("reason")}
        duplicates = []
        if request.args.get("saved") and view["working"] != "archived":
            index = hotline().kb.refresh(session)
            draft = Draft.from_record(working)
            duplicates = near_duplicates(index, draft, today=hotline().today(), normalise=_normaliser())
    return render_template(
        "editor/entry.html",
        entry=view,
        working=_content_rows(working),
        live=_content_rows(live) if live is not None else None,
        pending_changes=pending_changes,
        versions=versions,
        newest=versions[0]["number"] if versions else None,
        sent_back=sent_back,
        duplicates=duplicates,
        units=units,
        question_askers=permissions.QUESTION_ASKERS,
        **_page(),
    )


@bp.route("/editor/entries/<public_id>/versions/<int:number>")
@staff_only
def compare(public_id: str, number: int):
    """Version ``number`` against the one before it (or ``?with=N``), field by field."""
    with hotline().db.session() as session:
        row = editing.get(session, public_id)
        units = _unit_names(session)
        history = editing.versions(session, row)
        this = editing.version(session, row, number)
        earlier = [v for v in history if v.number < number]
        against_number = request.args.get("with", type=int)
        if against_number is not None:
            against = editing.version(session, row, against_number)
        else:
            against = earlier[-1] if earlier else None
        changes = editing.diff(against.content if against else {}, this.content)
        shown = {
            "number": this.number,
            "status": this.status,
            "author": this.author,
            "at": this.created_at,
            "note": this.note,
        }
        view = _entry_view(session, row, units)
    return render_template(
        "editor/compare.html",
        entry=view,
        this=shown,
        against=against.number if against else None,
        changes=changes,
        newest=history[-1].number,
        **_page(),
    )


def _step(public_id: str, done: str, action: Callable[[Session, Any], KbEntry]) -> Any:
    """Run one workflow step in its own transaction, then go back to the entry with a message."""
    user = current_user()
    with hotline().db.session() as session:
        try:
            action(session, user)
            session.commit()
        except NotAllowed:
            session.rollback()
            row = editing.get(session, public_id)
            return _not_allowed_step(user, row, _unit_names(session))
    flash(done)
    return redirect(url_for("editor.entry", public_id=public_id))


def _not_allowed_step(user: Any, entry: KbEntry, units: dict[str, str]) -> Any:
    if may_edit(user, entry.unit_code):  # their own unit, but this step is the reviewer's
        owner = units.get(entry.unit_code, entry.unit_code)
        detail = f"发布、退回、归档已发布条目和确认复核，需由“{owner}”的审核员或管理员操作。"
        return refused_page(403, "此操作需要审核员权限", detail, entry)
    return _not_yours(user, entry, units)


@bp.route("/editor/entries/<public_id>/submit", methods=["POST"])
@staff_only
def submit(public_id: str):
    return _step(
        public_id,
        "已提交审核，审核员发布后市民即可查到。",
        lambda s, u: editing.submit(s, u, public_id, _now()),
    )


@bp.route("/editor/entries/<public_id>/publish", methods=["POST"])
@staff_only
def publish(public_id: str):
    return _step(
        public_id,
        "已发布：热线各渠道从现在起用此内容答复。",
        lambda s, u: editing.publish(s, u, public_id, _now()),
    )


@bp.route("/editor/entries/<public_id>/send-back", methods=["POST"])
@staff_only
def send_back(public_id: str):
    reason = request.form.get("reason", "")
    return _step(
        public_id,
        "已退回编辑修改。",
        lambda s, u: editing.send_back(s, u, public_id, reason, _now()),
    )


@bp.route("/editor/entries/<public_id>/archive", methods=["POST"])
@staff_only
def archive(public_id: str):
    reason = request.form.get("reason", "")
    return _step(
        public_id,
        "已归档：此条目不再用于答复，可在版本列表中恢复。",
        lambda s, u: editing.archive(s, u, public_id, _now(), reason),
    )


@bp.route("/editor/entries/<public_id>/confirm", methods=["POST"])
@staff_only
def confirm(public_id: str):
    return _step(
        public_id,
        "已确认仍然有效，复核日期重新计算。",
        lambda s, u: editing.confirm_current(s, u, public_id, _now()),
    )


@bp.route("/editor/entries/<public_id>/versions/<int:number>/restore", methods=["POST"])
@staff_only
def restore(public_id: str, number: int):
    with hotline().db.session() as session:
        known = set(_unit_names(session))
    return _step(
        public_id,
        f"已把第 {number} 版恢复为新的草稿；提交审核并发布后才会用于答复。",
        lambda s, u: editing.restore(s, u, public_id, number, known, _now()),
    )
