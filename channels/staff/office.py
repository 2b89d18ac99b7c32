"""The hotline office's dashboard at ``/office``: the period's figures, charts and CSV export, and the
operators' call-back queue. Sign-in, CSRF and the staff pages' headers are ``channels.staff.auth``'s.

- Only the roles ``office``, ``operator`` and ``admin`` see the office pages (others: 403; nobody
  signed in: the login page, or 401 for the JSON API).
- ``/office`` renders the figures server-side and hands the same figures to Chart.js (vendored in
  ``static/office``, no CDN) as JSON; ``/office/api/summary`` returns them as JSON (with the key
  items of 000 第十四条 under ``key_items``, where the pack has the rule);
  ``/office/export.csv`` lists the period's tickets with phone numbers masked.
- ``/office/callbacks`` is the operators' queue of person call-backs (a second 不满意, a citizen the
  automated calls never reached), oldest first, with ticket number, reason, article and a one-line
  summary. The citizen's number is shown in full only to ``operator`` and ``admin``
  (``intake.core.permissions.may_see_phone_numbers``), who dial it; ``office`` sees it masked and may
  not record.
  ``POST /office/callbacks/<id>`` records the result (``routing.surveys.Surveys.record_callback``):
  403 for a role that may not, 400 for an incomplete result, 409 when someone else finished it first.

The figures are counted by ``summarise`` from what the pipeline and the lifecycle stored; this module
decides nothing about a ticket.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

import intake.core.staff  # noqa: F401  (registers staff_users on Base.metadata when the app loads)
from channels.security import hotline
from channels.staff.auth import check_csrf, csrf_token, current_user, office_only, staff_headers
from intake.core.dates import format_due, local_minute
from intake.core.inputs import formula_safe
from intake.core.models import Ticket, Unit
from intake.core.permissions import may_see_phone_numbers
from intake.core.privacy import mask_phone
from intake.core.staff import StaffUser
from intake.core.tickets import citizen_phone
from intake.core.vocabulary import INSTANT, STAGES
from intake.dashboard import final_ratings, summarise
from intake.stats import period_bounds
from routing.callbacks import summary
from routing.surveys import AlreadyDone, InvalidResult, SurveyRequest, ratings

bp = Blueprint(
    "office",
    __name__,
    template_folder="templates",
    static_folder="static/office",
    static_url_path="/static/office",
)

DEFAULT_DAYS = 7
MAX_DAYS = 366  # a longer period is refused rather than counted
CATEGORY_NAMES = {
    "consult": "咨询",
    "help": "求助",
    "complaint": "投诉",
    "report": "举报",
    "suggestion": "建议",
    "praise": "表扬",
    "none": "未分类",
}
CHANNEL_NAMES = {"voice": "电话", "sms": "短信", "wechat": "微信", "web": "网页", "api": "接口"}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


bp.before_request(check_csrf)
bp.after_request(staff_headers)


# ---------------------------------------------------------------- the figures


def parse_period(args: Any, today: date) -> tuple[date, date]:
    """``from`` and ``to`` (YYYY-MM-DD, both included); by default the last seven days up to today."""
    try:
        end = date.fromisoformat(args["to"]) if args.get("to") else today
        start = (
            date.fromisoformat(args["from"]) if args.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
        )
    except ValueError:
        abort(400, description="from / to: expected YYYY-MM-DD")
    if start > end:
        abort(400, description="from is after to")
    if (end - start).days >= MAX_DAYS:
        abort(400, description=f"a period of at most {MAX_DAYS} days")
    return start, end


@bp.route("/office")
@office_only()
def dashboard():
    """The dashboard page for the period in the query string (default: the last seven days)."""
    start, end = parse_period(request.args, hotline().today())
    figures = summarise(hotline(), start, end)
    return render_template(
        "office_dashboard.html",
        f=figures,
        user=current_user(),
        title=hotline().policy.title,
        categories=CATEGORY_NAMES,
        channels=CHANNEL_NAMES,
        stages=STAGES,
        format_due=format_due,
        csrf_token=csrf_token(),
    )


@bp.route("/office/api/summary")
@office_only(api=True)
def api_summary():
    start, end = parse_period(request.args, hotline().today())
    return jsonify(summarise(hotline(), start, end))


# What an office worker reads first, in Chinese; the codes after them, for machines and formulas
CSV_COLUMNS = (
    "工单号", "登记时间", "渠道", "类别", "处理方式", "办理阶段", "承办单位", "办理时限", "答复时间",
    "督办牌", "满意度评分", "来电号码", "channel", "category", "disposition", "status", "unit", "card",
)  # fmt: skip
DISPOSITION_NAMES = {**INSTANT, "dispatched": "已派单", "pending": "待补充信息"}
CARD_NAMES = {"green": "绿牌", "yellow": "黄牌", "red": "红牌"}


def stage_name(ticket: Ticket) -> str:
    """Where a ticket stands, as the office reads it: a matter settled at once by how it was settled
    (已当场答复, 已转接紧急热线…), a dispatched one by its stage."""
    if ticket.status == "closed" and ticket.disposition != "dispatched":
        return DISPOSITION_NAMES.get(ticket.disposition, STAGES["closed"])
    return STAGES.get(ticket.status, ticket.status)


@bp.route("/office/export.csv")
@office_only()
def export_csv():
    """The period's tickets, one per line, with the citizen's number masked."""
    line = hotline()
    tz = line.settings.timezone
    start, end = parse_period(request.args, hotline().today())
    lo, hi = period_bounds(start, end, tz)
    with line.db.session() as db:
        tickets = db.scalars(
            select(Ticket)
            .where(Ticket.created_at >= lo, Ticket.created_at < hi, Ticket.disposition != "pending")
            .order_by(Ticket.created_at, Ticket.id)
        ).all()
        # a rating given after the period still belongs to its ticket
        later = line.clock() + timedelta(days=1)
        ratings = {tid: row.rating for tid, row in final_ratings(db, lo, later).items()}
        units = line.units(db)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for t in tickets:
        phone = citizen_phone(t)
        row = [
            t.number, local_minute(t.created_at, tz), CHANNEL_NAMES.get(t.channel, t.channel),
            CATEGORY_NAMES.get(t.category or "", t.category or ""),
            DISPOSITION_NAMES.get(t.disposition, t.disposition), STAGES.get(t.status, t.status),
            units.name(t.unit_code) or t.unit_code or "", t.due or "",
            local_minute(t.replied_at, tz) if t.replied_at else "", CARD_NAMES.get(t.card or "", ""),
            ratings.get(t.id, ""), mask_phone(phone) if phone else "",
            t.channel, t.category or "", t.disposition, t.status, t.unit_code or "", t.card or "",
        ]  # fmt: skip
        writer.writerow([formula_safe(cell) for cell in row])  # no cell runs as a spreadsheet formula
    # A BOM so that Excel, which the offices use, reads the Chinese as UTF-8
    body = "\ufeff" + out.getvalue()
    filename = f"tickets-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---------------------------------------------------------------- the operators' call-back queue

OUTCOME_NAMES = {"reached": "已联系上", "not_reached": "未联系上"}
SURVEY_STATUS_NAMES = {
    "asked": "待评价",
    "answered": "已评价",
    "defaulted": "默认评价",
    "unanswered": "未评价",
    "unreachable": "未接通（视为已答复）",
    "superseded": "已重新评价",
}


def _queue_rows(user: StaffUser) -> list[dict[str, Any]]:
    """The open call-backs as the page shows them; the number in full only for those who dial it."""
    line = hotline()
    tz = line.settings.timezone
    full = may_see_phone_numbers(user)
    with line.db.session() as db:
        queue = line.surveys.queue(db)
        ticket_ids = [t.id for _, t in queue]
        units = dict(db.execute(select(Unit.code, Unit.name)).all())
        latest: dict[int, SurveyRequest] = {}
        if ticket_ids:
            for survey in db.scalars(
                select(SurveyRequest)
                .where(SurveyRequest.ticket_id.in_(ticket_ids))
                .order_by(SurveyRequest.round, SurveyRequest.id)
            ):
                latest[survey.ticket_id] = survey
        rows = []
        for callback, ticket in queue:
            phone = citizen_phone(ticket)
            survey = latest.get(ticket.id)
            rows.append(
                {
                    "id": callback.id,
                    "number": ticket.number,
                    "reason": callback.reason,
                    "basis": callback.basis or "",
                    "summary": summary(ticket, limit=60)
                    or ("（保密工单，不显示内容）" if ticket.confidential else ""),
                    "phone": (phone if full else mask_phone(phone)) if phone else "无号码",
                    "dial": phone if full and phone else None,
                    "unit": units.get(ticket.unit_code or "", ticket.unit_code or ""),
                    "created_at": local_minute(callback.created_at, tz),
                    "survey": SURVEY_STATUS_NAMES.get(survey.status, survey.status) if survey else "—",
                    "rating": survey.rating if survey else None,
                }
            )
    return rows


def _queue_page(message: str | None = None, status: int = 200, done: str | None = None) -> tuple[str, int]:
    user = current_user()
    return (
        render_template(
            "office_callbacks.html",
            rows=_queue_rows(user),
            user=user,
            title=hotline().policy.title,
            ratings=ratings(hotline().policy),
            may_record=may_see_phone_numbers(user),
            outcomes=OUTCOME_NAMES,
            message=message,
            done=done,
            csrf_token=csrf_token(),
        ),
        status,
    )


@bp.route("/office/callbacks")
@office_only()
def callbacks():
    """The open person call-backs, oldest first."""
    done = request.args.get("done", "")
    return _queue_page(done=done if done.isdigit() and len(done) <= 20 else None)


@bp.route("/office/callbacks/<int:callback_id>", methods=["POST"])
@office_only()
def record_callback(callback_id: int):
    """An operator's result for one call-back: reached with a rating, or not reached with a note."""
    user = current_user()
    if not may_see_phone_numbers(user):
        abort(403)
    form = request.form
    line = hotline()
    with line.db.session() as db:
        try:
            callback = line.surveys.record_callback(
                db, callback_id, operator=user.username, outcome=form.get("outcome", "")[:16],
                rating=form.get("rating", "")[:16] or None, note=form.get("note", "")[:2000],
                now=line.clock(),
            )  # fmt: skip
            number = db.get(Ticket, callback.ticket_id).number
            db.commit()
        except LookupError:
            abort(404)
        except InvalidResult as exc:
            db.rollback()
            return _queue_page(str(exc), 400)
        except AlreadyDone as exc:
            by = exc.request.operator or "其他工作人员"
            return _queue_page(f"该回访已由{by}处理，无需重复记录。", 409)
    return redirect(url_for("office.callbacks", done=number))
