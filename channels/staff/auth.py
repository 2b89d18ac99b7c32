"""Staff sign-in for every staff page (office, call-backs, editors): login and logout, the session's CSRF
token, the staff pages' security headers, and the office roles' gate.

- Login at ``/office/login`` against ``intake.core.staff`` (werkzeug's scrypt hashes); the signed Flask
  session cookie carries the user's id and a CSRF token; every POST of a staff blueprint must send the
  token back (form field ``csrf_token`` or header ``X-CSRF-Token``), else 400. Failed logins are
  throttled per username and client address together, with caps per username and per address
  (``intake.core.staff.LoginThrottle``): the sixth try of one name from one address in 15 minutes gets 429.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from channels.security import CONTENT_SECURITY_POLICY, hotline
from intake.core.permissions import may_see_office
from intake.core.staff import (
    LoginThrottle,
    StaffUser,
    authenticate,
    close_session,
    open_session,
    session_user,
)

bp = Blueprint("auth", __name__, template_folder="templates")


@bp.record_once
def _setup(state: Any) -> None:
    settings = state.app.extensions["hotline"].settings
    state.app.extensions["office_login_throttle"] = LoginThrottle(
        settings.redis_url, namespace=f"{settings.instance_path}:office"
    )
    # The staff cookie is sent on same-site navigation only: a cross-site form cannot ride on it.
    if state.app.config.get("SESSION_COOKIE_SAMESITE") is None:
        state.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def _throttle() -> LoginThrottle:
    return current_app.extensions["office_login_throttle"]


# ---------------------------------------------------------------- session, CSRF, roles


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Every staff page's POST must send the session's token back (the editors' pages use this too)."""
    if request.method != "POST":
        return
    if not csrf_sent(request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")):
        abort(400, description="CSRF token missing or wrong")


def csrf_sent(sent: str | None) -> bool:
    """Whether ``sent`` is this session's CSRF token (compared in constant time)."""
    expected = session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest((sent or "").encode(), expected.encode())


def staff_headers(response: Response) -> Response:
    """Security headers of every staff page (the office's and the editors')."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # figures and tickets are not for shared caches
    return response


def current_user() -> StaffUser | None:
    """The signed-in staff user, re-read each request so a deactivated account or a revoked session (a
    logout, from any copy of the cookie) is out at once."""
    if "staff_user" not in g:
        user = None
        key = session.get("staff_session")
        if key:
            with hotline().db.session() as db:
                user = session_user(db, key)
                if user is not None:
                    db.expunge(user)
        g.staff_user = user
    return g.staff_user


def office_only(api: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let through who ``may_see_office``; anonymous: the login page (401 for the API); others: 403."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if api:
                    return jsonify(error="login required"), 401
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not may_see_office(user):
                abort(403)
            return view(*args, **kwargs)

        return checked

    return wrap


def _safe_next(target: str | None) -> str:
    """Only a path of this site's staff pages (office, editors): never an open redirect to another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith(("/office", "/editor")):
            return target
    return url_for("office.dashboard")


def _client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/office/login", methods=["GET", "POST"])
def login():
    """The login form; a POST checks the password, counting failures against name and address."""
    message, status = None, 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:256]
        address = _client_address()
        throttle = _throttle()
        line = hotline()
        if throttle.blocked(username, address):
            message, status = "登录失败次数过多，请15分钟后再试。", 429
        else:
            with line.db.session() as db:
                user = authenticate(db, username, password, line.clock())
                if user is not None:
                    key = open_session(db, user, line.clock())
                    db.commit()
            if user is None:
                throttle.failed(username, address)
                message, status = "用户名或密码错误。", 401
            else:
                # A new session on login: nothing from before (a planted cookie) carries over.
                session.clear()
                session["staff_session"] = key
                csrf_token()
                return redirect(_safe_next(request.args.get("next")))
    return (
        render_template("staff_login.html", message=message, username=username, csrf_token=csrf_token()),
        status,
    )


@bp.route("/office/logout", methods=["POST"])
def logout():
    """Revoke this session server-side, then forget the cookie: a copy of it no longer works."""
    line = hotline()
    with line.db.session() as db:
        close_session(db, session.get("staff_session"), line.clock())
        db.commit()
    session.clear()
    return redirect(url_for("auth.login"))


bp.before_request(check_csrf)
bp.after_request(staff_headers)
