"""The web chat at ``/``: a page in plain HTML, CSS and JavaScript that talks to ``/api/v1/messages``."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint(
    "webchat",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/webchat",
)


@bp.get("/")
def index():
    """The chat page."""
    hotline = current_app.extensions["hotline"]
    return render_template("webchat.html", title=hotline.policy.title)
