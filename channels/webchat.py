"""The web chat at ``/``: a page in plain HTML, CSS and JavaScript that talks to ``/api/v1/messages``.

The page keeps a per-browser sender id, shows each outcome in its own form (choices as buttons, the
ticket number with a copy button, emergencies as an alert with ``tel:`` links) and looks up a ticket's
progress with ``/api/v1/tickets/<number>``. Everything it needs is served from ``static/``: no build
step, nothing fetched from elsewhere.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

bp = Blueprint(
    "webchat",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/webchat",
)

# Characters one chat message may have. The API accepts more (a pasted document), but nobody types more
# than this into a chat box, and it is what the pipeline reads for matching by default (HOTLINE_MAX_TEXT).
MAX_INPUT = 2000

# The page loads only its own script and style and talks only to its own origin; saying so lets the
# browser refuse anything injected into it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)


@bp.get("/")
def index() -> Response:
    """The chat page."""
    hotline = current_app.extensions["hotline"]
    response = current_app.make_response(
        render_template("webchat.html", title=hotline.policy.title, max_input=MAX_INPUT)
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    return response
