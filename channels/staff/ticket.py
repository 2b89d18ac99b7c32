"""One ticket on the office's desk at ``/office/tickets/<number>`` (issue 18, item 2): the citizen's
messages, the facts, the unit, deadlines and card, every event, linked tickets, the unit's reply, the
survey, and the office's actions.

- ``GET /office/tickets/<number>`` (office roles, ``office_only``): the page. ``?unit_q=`` searches
  the unit catalogue for the dispatch form.
- ``POST /office/tickets/<number>/<action>``: one action, decided by ``routing.lifecycle`` (dispatch,
  returns, extensions, the review of a reply, close) or ``routing.desk`` (corrections, confidential,
  repeats, key items, notes). Who may act is ``intake.core.permissions.may_act_on_tickets``. Done:
  a redirect back to the page with a Chinese message. Refused by the pack: the page again (409) with
  the reason and its article; bad input: the page again (400) naming what is wrong; nothing applied.
- Every form carries the ticket's stamp (``routing.desk.stamp``, the id of its latest event): a POST
  decided on an older page is refused (409), naming who changed what and when, and the page shows the
  current state.

This module renders; what is allowed and what is stored is the lifecycle's and the desk's.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.orm import Session

from channels.security import hotline
from channels.staff.auth import check_csrf, csrf_token, current_user, office_only, staff_headers
from channels.staff.office import CARD_NAMES, CATEGORY_NAMES, CHANNEL_NAMES, DISPOSITION_NAMES, stage_name
from intake.core.dates import describe_moment, format_due, local_minute
from intake.core.models import Ticket
from intake.core.permissions import may_act_on_tickets
from intake.core.privacy import mask_phone
from intake.core.tickets import find_ticket
from intake.core.vocabulary import CATEGORIES
from routing.desk import (
    FIELD_NAMES,
    Desk,
    actor_name,
    aware,
    check_stamp,
    event_name,
    parse_stamp,
    search_units,
    stamp,
    suggest_unit,
    ticket_file,
)
from routing.lifecycle import TransitionRefused
from routing.replies import REPLY_LABELS, InvalidInput

bp = Blueprint("office_ticket", __name__, template_folder="templates")
bp.before_request(check_csrf)
bp.after_request(staff_headers)

REDIRECT_NAMES = {
    "court": "人民法院", "procuratorate": "人民检察院", "congress": "人大", "cppcc": "政协",
    "party": "党委", "military": "军队", "discipline": "纪检监察机关", "organization": "组织部门",
    "litigation": "诉讼程序", "petition": "信访渠道", "family": "家庭纠纷调解",
}  # fmt: skip
# The facts the intake gathers for the regulations (issue 16), shown where the ticket has them
EXTRA_FACTS = (
    ("citizen_name", "诉求人姓名"),
    ("contact_phone", "联系电话"),
    ("event_time", "事发时间"),
    ("parties", "涉及对象"),
)
DONE = {
    "dispatch": "已派单。",
    "approve_return": "已同意退回并重新派单。",
    "refuse_return": "已不同意退回，工单退回原承办单位继续办理。",
    "approve_extension": "已同意延期。",
    "refuse_extension": "已不同意延期。",
    "accept_reply": "已审核通过答复。",
    "send_back": "答复已退回承办单位重新办理。",
    "correct": "已更正。",
    "confidential": "已设为保密工单。",
    "repeat": "已标记为重复件。",
    "key_item": "已列为重点事项。",
    "note": "备注已添加。",
    "close": "工单已办结。",
}


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) or "—"
    if hasattr(value, "astimezone"):
        return local_minute(aware(value), hotline().lifecycle.tz)
    return str(value)


def _event_detail(kind: str, data: dict[str, Any], unit_name) -> str:
    """What an event's data says, in a line."""
    parts = []
    if kind == "corrected":
        name = data.get("field")
        before, after = _label(name, data.get("before")), _label(name, data.get("after"))
        return f"{FIELD_NAMES.get(name, name)}：{before} → {after}"
    if kind == "citizen_told":
        how = CHANNEL_NAMES.get(data.get("channel"), data.get("channel"))
        sent = f"已通过{how}发送" if data.get("sent") else f"未发送（{data.get('why') or '无法联系'}）"
        return f"延期告知：{sent}；办理时限：{format_due(data.get('due'))}；依据：{data.get('basis')}"
    for key, label in (
        ("unit", "单位"), ("to", "转派给"), ("previous_unit", "原单位"), ("due", "办理时限"),
        ("until", "延期至"), ("reason", "理由"), ("basis", "依据"), ("note", "说明"), ("text", "内容"),
        ("rating", "评价"), ("card", "督办牌"), ("number", "工单"), ("numbers", "工单"),
        ("reporters", "反映人数"), ("result", "办理结果"), ("handler", "经办人"),
    ):  # fmt: skip
        if key not in data or data[key] in (None, ""):
            continue
        value = data[key]
        if key in ("unit", "to", "previous_unit"):
            value = unit_name(value) or value
        elif key == "due" or key == "until":
            value = format_due(value)
        elif key == "card":
            value = CARD_NAMES.get(value, value)
        elif key == "number" and kind in ("extension_approved", "extension_requested"):
            label, value = "第几次", f"第{value}次"
        parts.append(f"{label}：{_text(value)}")
    return "；".join(parts)


def _label(field: str | None, value: Any) -> str:
    if field == "category":
        return CATEGORY_NAMES.get(value, value or "未分类")
    if field == "urgent":
        return "紧急" if value else "一般"
    if field == "redirect":
        return REDIRECT_NAMES.get(value, value) if value else "不转"
    return _text(value)


def _page(db: Session, ticket: Ticket) -> dict[str, Any]:
    """Everything the page shows about ``ticket``, as people read it."""
    line = hotline()
    tz = line.lifecycle.tz
    catalogue = line.units(db)
    unit_name = catalogue.name
    deadlines = line.lifecycle.deadlines
    file = ticket_file(db, ticket)
    stage = stage_name(ticket)
    facts = [
        ("诉求内容", ticket.text),
        ("地点", ticket.location),
        ("类别", CATEGORY_NAMES.get(ticket.category or "none", ticket.category)),
        ("紧急程度", "紧急" if ticket.urgent else "一般"),
        ("保密", "保密工单（承办单位看不到诉求人信息）" if ticket.confidential else "否"),
        ("渠道", CHANNEL_NAMES.get(ticket.channel, ticket.channel)),
        ("来电号码", mask_phone(ticket.sender) if ticket.sender else None),
        ("处理方式", DISPOSITION_NAMES.get(ticket.disposition, ticket.disposition)),
    ]
    if ticket.redirect_to:
        facts.append(("转其他渠道", REDIRECT_NAMES.get(ticket.redirect_to, ticket.redirect_to)))
    for name, label in EXTRA_FACTS:
        value = getattr(ticket, name)
        if name == "contact_phone" and value == ticket.sender:
            continue  # the number they called from, shown once as 来电号码
        if value not in (None, "", []):
            facts.append((label, mask_phone(str(value)) if name == "contact_phone" else value))
    sign_by = deadlines.sign_by(ticket) if ticket.disposition == "dispatched" else None
    return_by = deadlines.return_by(ticket) if ticket.disposition == "dispatched" else None
    request_ = dict(ticket.request or {})
    return {
        "number": ticket.number,
        "stage": stage,
        "status": ticket.status,
        "dispatched": ticket.disposition == "dispatched",
        "text": ticket.text,
        "registered_at": local_minute(aware(ticket.created_at), tz),
        "facts": [(label, _text(value)) for label, value in facts],
        "category": ticket.category,
        "urgent": bool(ticket.urgent),
        "redirect": ticket.redirect_to,
        "confidential": bool(ticket.confidential),
        "unit": ticket.unit_code,
        "unit_name": unit_name(ticket.unit_code) or ticket.unit_code,
        "deadlines": [
            ("办理时限", format_due(ticket.due) or "—"),
            ("时限依据", ticket.basis or "—"),
            ("签收期限", describe_moment(sign_by, tz) if sign_by else "—"),
            ("退回期限", describe_moment(return_by, tz) if return_by else "—"),
            ("督办牌", CARD_NAMES.get(ticket.card or "", "无")),
            ("延期次数", str(ticket.extension_count or 0)),
            ("重办次数", str(ticket.rehandle_count or 0)),
        ],
        "card": ticket.card,
        "request": request_
        and {
            "kind": "退回" if request_.get("kind") == "return" else "延期",
            "reason": request_.get("reason"),
            "basis": request_.get("basis"),
            "until": format_due(request_.get("until")),
        },
        "messages": [
            {
                "at": local_minute(aware(m.received_at), tz),
                "kind": "语音" if m.kind == "voice" else "文字",
                "text": m.text,
                "recording": (m.meta or {}).get("recording_url"),
            }
            for m in file.messages
        ],
        "events": [
            {
                "id": e.id,
                "at": local_minute(aware(e.at), tz),
                "who": actor_name(e.actor),
                "what": event_name(e.kind),
                "kind": e.kind,
                "detail": _event_detail(e.kind, e.data or {}, unit_name),
                "recording": (e.data or {}).get("recording_url"),
            }
            for e in file.events
        ],
        "links": file.links,
        "reply": [(REPLY_LABELS.get(k, k), _text(v)) for k, v in (ticket.reply or {}).items()],
        "surveys": [
            {
                "round": s.round,
                "channel": CHANNEL_NAMES.get(s.channel, s.channel),
                "status": SURVEY_STATUS.get(s.status, s.status),
                "rating": s.rating,
                "asked_at": local_minute(aware(s.asked_at), tz),
                "answered_at": local_minute(aware(s.answered_at), tz) if s.answered_at else "",
            }
            for s in file.surveys
        ],
        "stamp": stamp(db, ticket),
    }


SURVEY_STATUS = {
    "asked": "已发送，等待评价",
    "answered": "已评价",
    "defaulted": "未答复，按规定视为评价",
    "unanswered": "未答复",
    "unreachable": "回访未接通",
    "superseded": "已由新一轮回访取代",
}


def _render(db: Session, ticket: Ticket, *, refusal: dict[str, Any] | None = None, status: int = 200):
    user = current_user()
    page = _page(db, ticket)
    words = request.args.get("unit_q", "")[:50] if request.method == "GET" else ""
    suggestion = suggest_unit(hotline().units(db), ticket) if page["dispatched"] else None
    units = search_units(db, words) if words else []
    return (
        render_template(
            "office_ticket.html",
            t=page,
            user=user,
            may_act=may_act_on_tickets(user),
            title=hotline().policy.title,
            csrf_token=csrf_token(),
            refusal=refusal,
            messages=get_flashed_messages(),
            suggestion=suggestion,
            unit_q=words,
            units=[(u.code, u.name) for u in units],
            categories=[(c, CATEGORY_NAMES[c]) for c in CATEGORIES],
            redirects=[
                (code, REDIRECT_NAMES.get(code, code), basis)
                for code, basis in _desk().redirect_codes().items()
            ],
            has_key_items=hotline().policy.key_items.reporters is not None,
        ),
        status,
    )


def _desk() -> Desk:
    line = hotline()
    return Desk(line.policy, line.lifecycle.tz, line.clock)


@bp.route("/office/tickets/<number>")
@office_only()
def show(number: str):
    """The ticket's page (404 for a number that is no ticket)."""
    with hotline().db.session() as db:
        ticket = find_ticket(db, number[:20])
        if ticket is None:
            abort(404)
        return _render(db, ticket)


def _act(action: str, db: Session, ticket: Ticket, form: Any, actor: str) -> None:
    """Run ``action`` with the form's fields; the lifecycle and the desk check everything."""
    flow = hotline().lifecycle
    desk = _desk()
    field = form.get
    if action == "dispatch":
        unit = (field("unit") or "").strip()[:64]
        if ticket.status == "returned":
            flow.approve_return(
                db, ticket, unit=unit, actor=actor, note=(field("note") or "").strip() or None
            )
        else:
            flow.dispatch(db, ticket, unit=unit, actor=actor)
    elif action == "refuse_return":
        flow.refuse_return(db, ticket, actor=actor, reason=field("reason", ""))
    elif action == "approve_extension":
        flow.approve_extension(db, ticket, actor=actor, until=(field("until") or "").strip() or None)
    elif action == "refuse_extension":
        flow.refuse_extension(db, ticket, actor=actor, reason=field("reason", ""))
    elif action in ("accept_reply", "send_back"):
        note = (field("note") or "").strip() or None
        flow.review(db, ticket, actor=actor, approved=action == "accept_reply", note=note)
    elif action == "correct":
        name = field("field", "")
        desk.correct(db, ticket, field=name, value=field(name), actor=actor)
    elif action == "confidential":
        desk.mark_confidential(db, ticket, actor=actor, reason=field("reason", ""))
    elif action == "repeat":
        desk.link_repeat(db, ticket, of=field("number", ""), actor=actor)
    elif action == "key_item":
        desk.mark_key_item(db, ticket, numbers=field("numbers", ""), actor=actor)
    elif action == "note":
        desk.add_note(db, ticket, text=field("text", ""), actor=actor)
    elif action == "close":
        flow.close(db, ticket, actor=actor)


@bp.route("/office/tickets/<number>/<action>", methods=["POST"])
@office_only()
def act(number: str, action: str):
    """One office action on the ticket, refused when the page's stamp is older than the ticket."""
    if action not in DONE:
        abort(404)
    user = current_user()
    if not may_act_on_tickets(user):
        abort(403)
    actor = f"office:{user.username}"
    with hotline().db.session() as db:
        ticket = find_ticket(db, number[:20], for_update=True)
        if ticket is None:
            abort(404)
        try:
            check_stamp(db, ticket, parse_stamp(request.form.get("stamp")), hotline().lifecycle.tz)
            _act(action, db, ticket, request.form, actor)
            db.commit()
        except TransitionRefused as refused:
            db.rollback()
            return _render(
                db, ticket, refusal={"reason": refused.reason, "basis": refused.basis, "code": refused.code},
                status=409,
            )  # fmt: skip
        except InvalidInput as bad:
            db.rollback()
            return _render(db, ticket, refusal={"reason": bad.message, "field": bad.field}, status=400)
    flash(DONE[action])
    return redirect(url_for("office_ticket.show", number=number))
