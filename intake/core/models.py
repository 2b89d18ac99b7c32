"""Tables of intake: inbound messages, conversations, tickets with their events, and ticket counters.

A ticket (工单) is the record of one matter. Every disposition the hotline reaches has a column here
(answered from the knowledge base, transferred, redirected, declined, dispatched to a unit,
abandoned) because the regulations count and publish all of them, not only the dispatched ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from intake.core.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class InboundMessage(Base):
    """A message exactly as it arrived, stored before anything else happens to it."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "channel_msg_id", name="uq_inbound_channel_msg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_msg_id: Mapped[str | None] = mapped_column(String(128))
    sender: Mapped[str] = mapped_column(String(128), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    # received -> processed | failed; a failed message is kept so nothing received is lost
    status: Mapped[str] = mapped_column(String(16), default="received")
    # text | voice | event | location | unknown, and what the channel knew besides the text (a recording)
    kind: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    meta: Mapped[dict[str, Any] | None] = mapped_column()
    outcome: Mapped[dict[str, Any] | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


class Conversation(Base):
    """One person's exchange on one channel, with what the pipeline is waiting for."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketCounter(Base):
    """The last sequence number used for ticket numbers on one day (upserted atomically)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """A work order (工单): one matter of one citizen, with its disposition and its life."""

    __tablename__ = "tickets"
    # the office's queue counts open tickets by stage and due on every page (routing.queue)
    __table_args__ = (Index("ix_tickets_status_due", "status", "due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)
    sender: Mapped[str] = mapped_column(String(128), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    text: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    # The matter's facts (001 第十三条(四), 004 第十一条), read from the citizen's words or asked for
    # (intake.facts, intake.gathering); the course is ``text``. The office's pages read these names.
    citizen_name: Mapped[str | None] = mapped_column(String(64))  # as given: 张伟, 王女士, 姓王
    contact_phone: Mapped[str | None] = mapped_column(String(32))  # given, else the caller ID
    event_time: Mapped[str | None] = mapped_column(String(64))  # the citizen's words: 昨天晚上, 三天了
    event_date: Mapped[date | None] = mapped_column(Date)  # that day, where the words name one
    parties: Mapped[str | None] = mapped_column(Text)  # who else is involved: 华润超市、邻居
    # whether the citizen agreed that the unit sees their contact (001 第二十四条); None: not asked
    contact_consent: Mapped[bool | None] = mapped_column(Boolean)
    category: Mapped[str | None] = mapped_column(String(16), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # answered | transferred | redirected | declined | dispatched | abandoned
    disposition: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(32), default="registered", index=True)
    unit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    due: Mapped[str | None] = mapped_column(String(32))
    basis: Mapped[str | None] = mapped_column(String(200))
    kb_public_id: Mapped[str | None] = mapped_column(String(64))
    kb_version: Mapped[int | None] = mapped_column(Integer)
    transfer_to: Mapped[str | None] = mapped_column(String(16))
    redirect_to: Mapped[str | None] = mapped_column(String(32))
    decline_reason: Mapped[str | None] = mapped_column(String(32))
    policy: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column()
    # The ticket's life with its unit (routing.lifecycle). ``version`` counts dispatches (0: not yet
    # handed to a unit), so ``number:version`` names one hand-off; the counters are what the pack limits.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dispatched_at: Mapped[datetime | None] = mapped_column()
    signed_at: Mapped[datetime | None] = mapped_column()
    replied_at: Mapped[datetime | None] = mapped_column()
    return_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rehandle_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    request: Mapped[dict[str, Any] | None] = mapped_column()  # a return or extension awaiting the office
    reply: Mapped[dict[str, Any] | None] = mapped_column()  # the unit's latest reply (002 第十五条)
    card: Mapped[str | None] = mapped_column(String(8), index=True)  # green | yellow | red (000 第二十二条)
    card_at: Mapped[datetime | None] = mapped_column()

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """Something that happened to a ticket: who, when, what."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class OutboxMessage(Base):
    """A message we owe someone (an SMS, a WeChat customer-service message), kept until it is sent.

    ``key`` makes enqueueing idempotent: the same notice for the same ticket is queued once however
    often the code that owes it runs (a retried webhook, a worker restarted mid-job).
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)  # sms | wechat
    recipient: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    ticket_number: Mapped[str | None] = mapped_column(String(20), index=True)
    # pending -> sending -> sent | failed (after the last attempt); sending past its lease is retried
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lease_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class ChannelEvent(Base):
    """Something a platform told us that is not a citizen's message: a call's status, a delivery report.

    ``(channel, ref, kind)`` is unique, so a retried callback is recorded once.
    """

    __tablename__ = "channel_events"
    __table_args__ = (UniqueConstraint("channel", "ref", "kind", name="uq_channel_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(128), index=True)  # CallSid, MessageSid, …
    kind: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactPreference(Base):
    """What one citizen (a phone number, a WeChat OpenID) asked of us: no surveys (退订), calls preferred."""

    __tablename__ = "contact_preferences"
    __table_args__ = (UniqueConstraint("channel", "sender", name="uq_contact_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(128))
    no_surveys: Mapped[bool] = mapped_column(Boolean, default=False)
    prefers_calls: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


UNIT_KINDS = ("office", "township", "department", "enterprise")


class Unit(Base):
    """A unit that handles tickets: the hotline office, a township, a department or a utility."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(default=list)
    towns: Mapped[list[str]] = mapped_column(default=list)
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(200))
    # the unit this one belongs to (a bureau's office, a township's station), by code; no foreign key:
    # the catalogue is written whole by routing.catalogue, which checks that the parent exists
    parent_code: Mapped[str | None] = mapped_column(String(64))
