"""A hotline under one pack with the demo units, and shortcuts to register and walk tickets.

Shared by the lifecycle, hand-off, supervision and unit API tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from intake.core.models import Ticket
from intake.core.tickets import create_ticket, find_ticket
from routing.catalogue import load_units
from tests.conftest import make_hotline

TZ = ZoneInfo("Asia/Shanghai")
PHONE = "+8613912345678"
TEXT = "瓢里镇瓢里街菜市场门口的路灯坏了一个多星期了，晚上很黑"
REPLY = {
    "handled_at": "2026-11-24",
    "unit": "龙胜各族自治县城市管理局",
    "handler": "李明",
    "result": "已派人更换菜市场门口的路灯灯具，11月24日晚恢复照明。",
    "legal_basis": "《城市道路照明设施管理规定》第十条",
    "case_number": "龙城管〔2026〕31号",
    "case_date": "2026-11-24",
}
RETURN = {"reason": "路灯属供电公司产权，不属本单位职责", "basis": "《龙胜各族自治县城市管理局职能配置》"}


def local(when: str) -> datetime:
    """``"11-24 09:30"`` (in 2026) or a full ``"2027-01-04 09:30"`` as a moment in the hotline's zone."""
    text = when if when.count("-") == 2 else f"2026-{when}"
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


class World:
    """One deployment under one pack: its hotline, its clock and its lifecycle."""

    def __init__(self, hotline: Any, clock: Any) -> None:
        self.hotline = hotline
        self.clock = clock
        self.flow = hotline.lifecycle

    def at(self, when: str) -> None:
        self.clock.now = local(when)

    def register(
        self,
        *,
        category: str = "complaint",
        urgent: bool = False,
        unit: str = "cgj",
        channel: str = "sms",
        sender: str = PHONE,
        text: str = TEXT,
        location: str | None = "瓢里镇瓢里街菜市场",
        confidential: bool = False,
        registered_only: bool = False,
    ) -> str:
        """A ticket dispatched by the pipeline now, with the pack's due for its category.

        ``registered_only``: registered by the office, waiting to be dispatched by hand.
        """
        now = self.clock()
        due, basis = self.hotline.triage.deadline(category, urgent, now)
        with self.hotline.db.session() as session:
            ticket = create_ticket(
                session, now=now, tz=TZ, actor=f"{channel}:citizen", channel=channel, sender=sender,
                text=text, location=location, disposition="dispatched", category=category, urgent=urgent,
                unit_code=unit, due=due, basis=basis, policy=self.hotline.policy.name,
                confidential=confidential,
            )  # fmt: skip
            if registered_only:
                ticket.status = "registered"
                del ticket.events[1:]
            session.commit()
            return ticket.number

    def act(self, number: str, transition: str, **arguments: Any):
        """Run one transition at the clock's time and commit; a refusal rolls everything back."""
        arguments.setdefault("actor", "unit:test" if transition in UNIT_ACTS else "office:test")
        with self.hotline.db.session() as session:
            ticket = self.flow.ticket_for_update(session, number)
            event = getattr(self.flow, transition)(session, ticket, **arguments)
            session.commit()
            return event

    def ticket(self, number: str) -> Ticket:
        with self.hotline.db.session() as session:
            ticket = find_ticket(session, number)
            _ = list(ticket.events)
            session.expunge_all()
            return ticket

    def view(self, number: str) -> dict[str, Any]:
        with self.hotline.db.session() as session:
            return self.flow.unit_view(session, find_ticket(session, number))


UNIT_ACTS = {"sign", "request_return", "request_extension", "reply"}


def make_world(settings: Any, clock: Any, pack: str) -> World:
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy=pack)
    with hotline.db.session() as session:
        load_units(session)
        session.commit()
    hotline.forget_units()
    return World(hotline, clock)
