"""One ticket on the office's desk at ``/office/tickets/<number>`` (issue 18, item 2): the citizen's
messages, the facts, the events, and the office's actions, each the lifecycle's own call."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from channels.security import hotline
from channels.staff.auth import check_csrf, csrf_token, current_user, office_only, staff_headers
from intake.core.tickets import find_ticket
from intake.core.vocabulary import INSTANT, STAGES

bp = Blueprint("office_ticket", __name__, template_folder="templates")
bp.before_request(check_csrf)
bp.after_request(staff_headers)


@bp.route("/office/tickets/<number>")
@office_only()
def show(number: str):
    """The ticket's page: its number, stage and text (404 for a number that is no ticket)."""
    with hotline().db.session() as db:
        ticket = find_ticket(db, number[:20])
        if ticket is None:
            abort(404)
        stage = STAGES.get(ticket.status, ticket.status)
        if ticket.status == "closed" and ticket.disposition in INSTANT:
            stage = INSTANT[ticket.disposition]
        page = {"number": ticket.number, "stage": stage, "text": ticket.text}
    return render_template(
        "office_ticket.html",
        t=page,
        user=current_user(),
        title=hotline().policy.title,
        csrf_token=csrf_token(),
    )
