"""Tables of routing: how the handling units (承办单位, ``intake.core.models.Unit``) are reached, and the
notices owed to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from intake.core.db import Base
from intake.core.models import utcnow


class UnitCredential(Base):
    """How one unit is reached and recognised: its API token (hashed) and its webhook.

    Only a SHA-256 digest of the bearer token is kept: tokens are long random strings, so the digest
    cannot be reversed, and a leaked database does not hand out access. The webhook secret is kept as
    is because every delivery must be signed with it.
    """

    __tablename__ = "unit_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime | None] = mapped_column()
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandoffDelivery(Base):
    """One notice owed to a unit (a dispatch, a re-handling, a reminder), kept until it is delivered.

    ``key`` (``number:version`` for a dispatch, with a suffix for reminders) is unique, so a notice is
    owed once however often the code that owes it runs, and it is the ``Idempotency-Key`` the
    receiver sees, so a retried POST takes effect once. ``body`` holds the exact JSON sent, the same
    bytes on every attempt. A unit without a webhook gets its notices ``listed``: it reads them from
    the unit API.
    """

    __tablename__ = "handoff_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_number: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))  # dispatched | rehandled | reminder | overdue
    unit_code: Mapped[str] = mapped_column(String(64), index=True)  # the unit the notice is about
    target: Mapped[str | None] = mapped_column(
        String(64)
    )  # whose webhook receives it (the unit or the office)
    body: Mapped[str] = mapped_column(Text)
    # pending -> sending -> delivered | failed; listed: no webhook, the unit API shows it
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
