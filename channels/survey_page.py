"""The survey link for web citizens: ``/survey/<token>`` shows the ratings, a POST records one.

The token in the link is the only credential (it is long and random, one per survey round), so the
page needs no login; an unknown token reads as "not found", an answered one as "already rated".
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from channels.security import hotline
from intake.core.models import Ticket
from routing.surveys import ratings

bp = Blueprint("survey_page", __name__, template_folder="templates")


@bp.route("/survey/<token>", methods=["GET", "POST"])
def survey(token: str):
    """Show the survey for ``token``, or record the rating posted to it."""
    line = hotline()
    values = ratings(line.policy)
    with line.db.session() as session:
        found = line.surveys.by_token(session, token[:64])
        if found is None:
            abort(404)
        ticket = session.get(Ticket, found.ticket_id)
        number, status, rating = ticket.number, found.status, found.rating
        message = None
        if request.method == "POST":
            choice = request.form.get("rating", "")
            if status != "asked":
                message = "您已评价过，感谢您的参与。"
            elif choice not in values:
                message = "请选择一项评价。"
            else:
                verdict = line.surveys.answer(session, found, choice, line.clock())
                session.commit()
                status, rating, message = "answered", choice, verdict.reply
    return render_template(
        "survey.html", title=line.policy.title, number=number, values=values, status=status,
        rating=rating, message=message,
    )  # fmt: skip
