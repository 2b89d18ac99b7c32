"""API tokens for staff users: how a unit's own system signs in to the knowledge API.

A token acts as the user it belongs to, with that user's role and unit, so a unit that syncs entries
from its own system gets exactly the rights its reviewer or editor has in the pages. Only a SHA-256 of
the token is stored (the token is 256 random bits, so a slow password hash adds nothing); it is shown
once, when made with ``hotline user token``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from intake.core.db import Base
from intake.core.models import utcnow
from intake.core.staff import StaffError, StaffUser, normalise_username

PREFIX = "hlk_"  # recognisable in a leaked file or a secret scanner


class StaffToken(Base):
    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, username: str, now: datetime, label: str | None = None) -> str:
    """Make a new token for ``username``; return it (it cannot be read back later)."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    if user is None:
        raise StaffError(f"no user {username!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(StaffToken(user_id=user.id, token_hash=_hash(token), label=label, created_at=now))
    return token


def user_for_token(session: Session, token: str, now: datetime) -> StaffUser | None:
    """The active user a token belongs to, or ``None``; notes when the token was last used."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    digest = _hash(token)
    row = session.scalar(select(StaffToken).where(StaffToken.token_hash == digest))
    # the lookup is by hash already; compare again in constant time so a timing of the index is moot
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = now
    return user


def revoke_tokens(session: Session, username: str) -> int:
    """Delete every token of ``username``; return how many."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
    if user is None:
        raise StaffError(f"no user {username!r}")
    rows = list(session.scalars(select(StaffToken).where(StaffToken.user_id == user.id)))
    for row in rows:
        session.delete(row)
    return len(rows)
