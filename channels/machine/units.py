"""The handling units' API under ``/api/v1/unit/``: list, sign, return, extend, reply (per-unit token).

Every request carries ``Authorization: Bearer <token>`` (``hotline unit token CODE`` issues one).
The adapter checks the token and the body's shape, calls ``routing.lifecycle`` and renders the
result as JSON; every rule (limits, required reply fields, privacy) lives there. Each ticket also
says how many citizens reported the same incident and which tickets they are (``key_item``,
``reporters``, ``linked``: 000 第十四条, ``routing.handoff.incident``), without who they are.

401: no token or a bad one; 404: no such ticket for this unit (another unit's reads the same); 400: a
missing or bad field (``field`` names it); 409: a transition the ticket's state or the pack does not allow
(``error`` is the reason with its article, ``code`` says which rule).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request
from sqlalchemy.orm import Session

from channels.security import hotline
from intake.core.models import Ticket, TicketEvent
from routing.handoff import unit_for_token
from routing.lifecycle import Lifecycle, TransitionRefused
from routing.replies import InvalidInput

bp = Blueprint("unit_api", __name__, url_prefix="/api/v1/unit")


class _Problem(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@bp.errorhandler(_Problem)
def _problem(exc: _Problem):
    response = jsonify({"error": exc.message, **exc.extra})
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline-unit"'
    return response


@bp.errorhandler(InvalidInput)
def _invalid(exc: InvalidInput):
    return _problem(_Problem(400, exc.message, field=exc.field))


@bp.errorhandler(TransitionRefused)
def _refused(exc: TransitionRefused):
    return _problem(_Problem(409, exc.reason, code=exc.code, basis=exc.basis))


def lifecycle() -> Lifecycle:
    return hotline().lifecycle


@bp.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Problem(401, "缺少访问令牌：请在 Authorization 头中提供 Bearer 令牌（由热线办签发）。")
    with hotline().db.session() as session:
        unit = unit_for_token(session, token.strip())
    if unit is None:
        raise _Problem(401, "访问令牌无效或已被更换，请向热线办申请新的令牌。")
    g.unit = unit


def _actor() -> str:
    return f"unit:{g.unit}"


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise _Problem(400, "请求体必须是 JSON 对象", field="body")
    return data


def _mine(session: Session, number: str) -> Ticket:
    ticket = lifecycle().ticket_for_update(session, number) if len(number) <= 20 else None
    # another unit's ticket and no ticket at all read the same: a unit learns nothing of other units'
    # numbers (issue 17; it used to get 403 for one and 404 for the other)
    if ticket is None or ticket.unit_code != g.unit:
        raise _Problem(404, f"本单位没有工单{number[:20]}")
    return ticket


def _event(event: TicketEvent) -> dict[str, Any]:
    tz = lifecycle().tz
    return {
        "kind": event.kind,
        "actor": event.actor,
        "at": event.at.astimezone(tz).isoformat(),
        "data": event.data,
    }


def _transition(number: str, act) -> Any:
    """Run ``act(session, ticket, body)`` on one of the unit's tickets; answer with the event and ticket."""
    data = _body()
    flow = lifecycle()
    with hotline().db.session() as session:
        ticket = _mine(session, number)
        flow.check_version(ticket, data.get("version"))
        event = act(session, ticket, data)
        session.commit()
        return jsonify({"event": _event(event), "ticket": flow.unit_view(session, ticket)})


@bp.get("/tickets")
def list_tickets():
    """The unit's open tickets, soonest due first, each with its due date, deadlines and card."""
    flow = lifecycle()
    with hotline().db.session() as session:
        tickets = flow.open_for_unit(session, g.unit)
        for ticket in tickets:
            flow.adopt(session, ticket)
        session.commit()
        return jsonify({"unit": g.unit, "tickets": [flow.unit_view(session, t) for t in tickets]})


@bp.get("/tickets/<number>")
def get_ticket(number: str):
    """One of the unit's tickets, with its events."""
    flow = lifecycle()
    with hotline().db.session() as session:
        ticket = _mine(session, number)
        flow.adopt(session, ticket)
        session.commit()
        view = flow.unit_view(session, ticket)
        view["events"] = [_event(e) for e in ticket.events if e.kind not in ("registered", "follow_up")]
        return jsonify(view)


@bp.post("/tickets/<number>/sign")
def sign(number: str):
    """Sign for (签收) the ticket."""
    return _transition(number, lambda s, t, d: lifecycle().sign(s, t, actor=_actor()))


@bp.post("/tickets/<number>/return")
def return_ticket(number: str):
    """Ask to send the ticket back: ``{"reason": …, "basis": …}``."""
    return _transition(
        number,
        lambda s, t, d: lifecycle().request_return(
            s, t, actor=_actor(), reason=_text(d, "reason"), basis=_text(d, "basis")
        ),
    )


@bp.post("/tickets/<number>/extension")
def extension(number: str):
    """Ask for more time: ``{"reason": …, "until": "2026-12-04"}``."""
    return _transition(
        number,
        lambda s, t, d: lifecycle().request_extension(
            s, t, actor=_actor(), reason=_text(d, "reason"), until=_text(d, "until")
        ),
    )


@bp.post("/tickets/<number>/reply")
def reply(number: str):
    """Reply with the result (002 第十五条, 003 第十二条(四)); the fields are listed in the README."""
    return _transition(number, lambda s, t, d: lifecycle().reply(s, t, actor=_actor(), reply=d))


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(name, f"缺少 {name} 字段（文字）")
    return value
