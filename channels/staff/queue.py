"""The office's ticket queue at ``/office/tickets`` (issue 18, item 1): the saved views with their
counts, filters, sorting and pages; each row links to the ticket's page.

What a filter or view holds is ``routing.queue``'s; this module reads the query string, renders, and
answers a bad filter with the page and a Chinese message (400), never a 500.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from channels.security import hotline
from channels.staff.auth import csrf_token, current_user, office_only, staff_headers
from channels.staff.office import CARD_NAMES, CATEGORY_NAMES, CHANNEL_NAMES, stage_name
from intake.core.dates import format_due, local_minute
from intake.core.vocabulary import CATEGORIES, STAGES
from routing.desk import aware
from routing.queue import CARDS, CHANNELS, PAGE_SIZE, SORTS, VIEWS, Filters, is_overdue, search
from routing.replies import InvalidInput

bp = Blueprint("office_queue", __name__, template_folder="templates")
bp.after_request(staff_headers)

SORT_NAMES = {"new": "最新登记", "old": "最早登记", "due": "办理时限"}
FILTER_FIELDS = ("stage", "unit", "category", "channel", "urgent", "card", "overdue", "since", "until")
FILTER_FIELDS += ("words",)


@bp.route("/office/tickets")
@office_only()
def queue():
    """The queue for the filters in the query string (default: every ticket, newest first)."""
    line = hotline()
    tz = line.lifecycle.tz
    error = None
    try:
        filters = Filters.parse(request.args)
    except InvalidInput as bad:
        error, filters = bad, Filters()
    now = line.clock()
    with line.db.session() as db:
        page = search(db, filters, now, tz)
        unit_name = line.units(db).name
        rows = [
            {
                "number": t.number,
                "registered": local_minute(aware(t.created_at), tz),
                "stage": stage_name(t),
                "category": CATEGORY_NAMES.get(t.category or "none", t.category),
                "channel": CHANNEL_NAMES.get(t.channel, t.channel),
                "unit": unit_name(t.unit_code) or t.unit_code or "—",
                "due": format_due(t.due) or "—",
                "overdue": is_overdue(t, now, tz),
                "urgent": bool(t.urgent),
                "card": t.card,
                "text": t.text if len(t.text) <= 60 else t.text[:60] + "…",
            }
            for t in page.rows
        ]
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return (
        render_template(
            "office_queue.html",
            rows=rows,
            page=page,
            filters=filters,
            error=error,
            active=error is None and any(request.args.get(name) for name in FILTER_FIELDS),
            views=[(name, view.label, page.counts.get(name, 0)) for name, view in VIEWS.items()],
            stages=STAGES,
            categories=[(c, CATEGORY_NAMES[c]) for c in CATEGORIES],
            channels=[(c, CHANNEL_NAMES[c]) for c in CHANNELS],
            cards=[(c, CARD_NAMES[c]) for c in CARDS],
            card_names=CARD_NAMES,
            sorts=[(s, SORT_NAMES[s]) for s in SORTS],
            page_size=PAGE_SIZE,
            page_url=lambda n: url_for("office_queue.queue", **args, page=n),
            view_url=lambda name: url_for("office_queue.queue", view=name),
            user=current_user(),
            title=line.policy.title,
            csrf_token=csrf_token(),
        ),
        400 if error else 200,
    )
