"""One ticket on the office's desk at ``/office/tickets/<number>`` (issue 18, item 2): the citizen's
messages, the facts, the events, and the office's actions, each the lifecycle's own call."""

from __future__ import annotations

from flask import Blueprint

from channels.staff.auth import check_csrf, staff_headers

bp = Blueprint("office_ticket", __name__, template_folder="templates")
bp.before_request(check_csrf)
bp.after_request(staff_headers)
