"""A matter raised again: while it is open the citizen is told its progress (duplicate); once closed, with
no new facts, its result (already_resolved) — 003 第四条(五), 002 第七条(七), 000 第十条(三), 004 第十条(三).
Only the same citizen's same matter counts; 001 第八条(二) names repeats (重复) among what is not accepted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from intake.core.messages import Message
from intake.core.models import Ticket
from tests.conftest import make_hotline

LIGHT = "瓢里镇瓢里街的路灯坏了一个多月了，晚上黑漆漆的没人管"
LIGHT_AGAIN = "瓢里街那边的路灯还是坏的，一个多月了晚上一片漆黑"


def _send(hotline, sender, text):
    return hotline.handle(Message(channel="web", sender=sender, text=text))


def test_the_same_matter_while_open_is_a_duplicate_with_its_progress(demo, clock):
    first = _send(demo, "c1", LIGHT)
    assert first.action == "ticket"
    clock.now += timedelta(hours=3)
    again = _send(demo, "c1", LIGHT_AGAIN)
    assert again.action == "decline" and again.decline_reason == "duplicate"
    assert again.basis == "003 第四条(五)"
    assert first.ticket.number in again.reply and "瓢里镇人民政府" in again.reply
    assert "2026年11月23日" in again.reply and "已转交承办单位" in again.reply
    with demo.db.session() as session:
        dispositions = [t.disposition for t in session.scalars(select(Ticket).order_by(Ticket.id))]
    assert dispositions == ["dispatched", "declined"]  # the contact is still recorded


def test_the_same_matter_after_closure_is_already_resolved(demo, clock):
    first = _send(demo, "c2", LIGHT)
    with demo.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == first.ticket.number))
        ticket.status, ticket.closed_at = "closed", clock.now + timedelta(days=2)
        session.commit()
    clock.now += timedelta(days=5)
    again = _send(demo, "c2", LIGHT_AGAIN)
    assert again.decline_reason == "already_resolved"
    assert first.ticket.number in again.reply and "2026年11月25日" in again.reply
    clock.now += timedelta(days=120)  # long after: taken afresh
    assert _send(demo, "c2", LIGHT_AGAIN).action == "ticket"


def test_a_different_matter_or_a_different_citizen_gets_a_new_ticket(demo):
    _send(demo, "c3", LIGHT)
    assert _send(demo, "c3", "龙胜镇桂石路有家饭店油烟直排，熏得楼上没法开窗").action == "ticket"
    assert _send(demo, "c4", LIGHT_AGAIN).action == "ticket"


def test_under_001_the_same_matter_again_is_a_repeat(clock, database_url, tmp_path):
    hotline = make_hotline(database_url, tmp_path, clock, policy="liaoyang", demo=True)
    try:
        # 001 第十三条(四) asks who is involved (当事人) in a complaint; "不知道" files it without
        asked = _send(hotline, "c5", LIGHT)
        assert asked.action == "ask" and "涉及哪家单位" in asked.reply
        assert _send(hotline, "c5", "不知道").action == "ticket"
        again = _send(hotline, "c5", LIGHT_AGAIN)
        assert (again.action, again.decline_reason, again.basis) == ("decline", "duplicate", "001 第八条(二)")
    finally:
        hotline.db.dispose()


def test_under_004_the_repeat_names_no_made_up_date(clock, database_url, tmp_path):
    hotline = make_hotline(database_url, tmp_path, clock, policy="guizhou", demo=True)
    try:
        first = _send(
            hotline, "c6", "南明区花果园的路灯坏了一个多月了，晚上黑漆漆的没人管，我的电话13800001111"
        )
        while first.action == "ask":  # 004 第十一条: the facts the ticket must hold
            first = _send(hotline, "c6", "不知道")
        assert first.action == "ticket" and first.due is None  # 004 第十五条: the deployment sets it
        again = _send(hotline, "c6", "花果园那边的路灯还是坏的，一个多月了晚上一片漆黑")
        assert again.decline_reason == "duplicate"
        assert "办理时限为法定时限" in again.reply and "办理时限为，" not in again.reply
    finally:
        hotline.db.dispose()
