"""The hotline's staff: who may sign in to the office's pages, with which role, and login throttling.

Roles: ``admin`` (the hotline's administrator: everything), ``office`` (the hotline office: the
dashboard, the call-back queue with numbers masked), ``operator`` (话务员: the dashboard and the
call-back queue with the citizens' full numbers, and records the results of the calls),
``unit_editor`` and ``unit_reviewer`` (one unit's knowledge entries; they carry ``unit_code``).
A citizen's full number is shown only to the people who dial it (``intake.core.permissions``);
the office sees the figures and who waits, not whom to ring.

Passwords are hashed with werkzeug's ``generate_password_hash`` (scrypt with
a random salt, the hash string names its method so stronger ones can be introduced later) and checked
with ``check_password_hash`` (a constant-time comparison).

Failed logins are counted with the ``limits`` library per username and per client address, in Redis
when ``HOTLINE_REDIS_URL`` is set (every worker sees the same count), in memory otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime

from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Boolean, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from intake.core.db import Base
from intake.core.models import utcnow
from intake.core.permissions import ROLES, UNIT_ROLES
from intake.core.ratelimits import limit_storage

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
# Failed logins allowed in a moving 15 minutes (issue 17): per username from one address, so a whole
# office behind one NAT is not locked out by one person's typos and nobody can lock a colleague out from
# elsewhere; per username from anywhere, a cap on guessing one account from many addresses; per address,
# a cap on trying many accounts from one place.
LOGIN_FAILURES = "5/15 minutes"  # one username from one address
NAME_FAILURES = "20/15 minutes"  # one username, every address
ADDRESS_FAILURES = "50/15 minutes"  # one address, every username

# Checked when the username is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class StaffError(ValueError):
    """A user that cannot be created as asked (bad role, short password, name taken)."""


class StaffUser(Base):
    """One person of the hotline office or of a handling unit who signs in to the web pages."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # one of ROLES
    unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class StaffSession(Base):
    """One signed-in browser. The cookie carries a random key; only its SHA-256 is stored, and a logout
    revokes the row, so a copied cookie stops working at once (issue 17: Flask's signed cookie alone
    stayed valid after logout)."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(session: Session, user: StaffUser, now: datetime) -> str:
    """A new session for ``user``; returns the key the cookie carries (caller commits)."""
    key = secrets.token_urlsafe(32)
    session.add(StaffSession(key_hash=_key_hash(key), user_id=user.id, created_at=now))
    return key


def session_user(session: Session, key: str | None) -> StaffUser | None:
    """The active user of a session that was opened and not revoked; ``None`` otherwise."""
    if not key:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.key_hash == _key_hash(key)))
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(StaffUser, row.user_id)
    return user if user is not None and user.active else None


def close_session(session: Session, key: str | None, now: datetime) -> None:
    """Revoke the session ``key`` (a logout); caller commits."""
    if key:
        row = session.scalar(select(StaffSession).where(StaffSession.key_hash == _key_hash(key)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    now: datetime,
    unit_code: str | None = None,
) -> StaffUser:
    """Create a user; refuses an unknown role, a unit role without a unit, a short password, a taken name."""
    name = normalise_username(username)
    if not name or len(name) > 64:
        raise StaffError("用户名不能为空，且不超过64个字符")
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    if role in UNIT_ROLES and not unit_code:
        raise StaffError(f"role {role} needs --unit CODE")
    if role not in UNIT_ROLES and unit_code:
        raise StaffError(f"role {role} belongs to no unit; drop --unit")
    if len(password or "") < MIN_PASSWORD:
        raise StaffError(f"password too short: at least {MIN_PASSWORD} characters")
    if session.scalar(select(func.count()).where(StaffUser.username == name)):
        raise StaffError(f"user {name!r} exists already")
    user = StaffUser(
        username=name,
        password_hash=generate_password_hash(password),
        role=role,
        unit_code=unit_code,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str, now: datetime) -> StaffUser | None:
    """The active user with this name and password (its last login set to ``now``), else ``None``."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = now
    return user


class LoginThrottle:
    """Failed logins counted per username and address together, with caps per username and per address."""

    def __init__(self, redis_url: str | None, namespace: str) -> None:
        self.strategy = MovingWindowRateLimiter(limit_storage(redis_url))
        self.pair, self.name, self.address = (
            parse(LOGIN_FAILURES),
            parse(NAME_FAILURES),
            parse(ADDRESS_FAILURES),
        )
        # Keys of one deployment (or one test) do not collide with another's in a shared Redis
        self.namespace = namespace

    def _keys(self, username: str, address: str):
        name, addr = normalise_username(username), address or "unknown"
        return [
            (self.pair, ("pair", name, addr)),
            (self.name, ("user", name)),
            (self.address, ("addr", addr)),
        ]

    def blocked(self, username: str, address: str) -> bool:
        """Whether this username from this address may not try again yet."""
        return not all(
            self.strategy.test(limit, self.namespace, "login", *key)
            for limit, key in self._keys(username, address)
        )

    def failed(self, username: str, address: str) -> None:
        """Count one failed attempt against the pair, the username and the address."""
        for limit, key in self._keys(username, address):
            self.strategy.hit(limit, self.namespace, "login", *key)
        log.warning("failed staff login for %r", normalise_username(username)[:64])
