"""The office's ticket queue at ``/office/tickets`` (issue 18, item 1): filters, saved views with their
counts, sorting and paging over every ticket. The queries are ``routing.queue``'s; this module renders."""

from __future__ import annotations

from flask import Blueprint

from channels.staff.auth import check_csrf, staff_headers

bp = Blueprint("office_queue", __name__, template_folder="templates")
bp.before_request(check_csrf)
bp.after_request(staff_headers)
