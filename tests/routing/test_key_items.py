"""Key items (000 第十四条): one incident reported by many different people on one day.

Each report stays its own ticket; the reports are linked to each other, and once the pack's number of
different citizens have reported it, every ticket of the group is flagged as a key item.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.models import Ticket
from routing.keyitems import is_key_item, linked_numbers
from tests.conftest import load_demo_into, make_hotline

# three neighbours describe one broken water main, in their own words
REPORTS = [
    ("13800000001", "瓢里镇瓢里街的自来水管爆了，水漫到路上了"),
    ("13800000002", "瓢里街那边自来水管爆裂了，整条路都是水"),
    ("13800000003", "瓢里镇瓢里街自来水管破了，路上全是水没人管"),
]


@pytest.fixture
def wengyuan(settings, clock):
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy="wengyuan")
    load_demo_into(hotline)
    yield hotline
    hotline.db.dispose()


def report(hotline, sender: str, text: str) -> str:
    outcome = hotline.handle(Message(channel="sms", sender=sender, text=text))
    assert outcome.action == "ticket", outcome
    return outcome.ticket.number


def tickets(hotline) -> dict[str, Ticket]:
    with hotline.db.session() as session:
        rows = session.scalars(select(Ticket).where(Ticket.disposition == "dispatched")).all()
        for row in rows:
            _ = row.events  # loaded while the session is open
        return {row.number: row for row in rows}


def test_the_third_citizen_reporting_one_incident_makes_it_a_key_item(wengyuan):
    first = report(wengyuan, *REPORTS[0])
    second = report(wengyuan, *REPORTS[1])
    found = tickets(wengyuan)
    assert linked_numbers(found[second]) == [first] and linked_numbers(found[first]) == [second]
    assert not is_key_item(found[first]) and not is_key_item(found[second])  # two people are not 多人

    third = report(wengyuan, *REPORTS[2])
    found = tickets(wengyuan)
    assert all(is_key_item(found[n]) for n in (first, second, third))
    flag = next(e for e in found[third].events if e.kind == "key_item")
    assert flag.data == {"basis": "000 第十四条", "reporters": 3, "numbers": sorted([first, second, third])}
    assert sorted(linked_numbers(found[third])) == sorted([first, second])


def test_one_citizen_reporting_twice_is_not_many_people(wengyuan):
    first = report(wengyuan, *REPORTS[0])
    # the same citizen again is a duplicate of their own open ticket, never a second reporter
    again = wengyuan.handle(Message(channel="sms", sender=REPORTS[0][0], text=REPORTS[1][1]))
    assert again.action == "decline" and again.decline_reason == "duplicate"
    assert linked_numbers(tickets(wengyuan)[first]) == []


def test_reports_on_different_days_are_not_linked(wengyuan):
    first = report(wengyuan, *REPORTS[0])
    wengyuan.clock.now += timedelta(days=1)
    second = report(wengyuan, *REPORTS[1])
    found = tickets(wengyuan)
    assert linked_numbers(found[first]) == [] and linked_numbers(found[second]) == []


def test_different_incidents_on_one_day_are_not_linked(wengyuan):
    first = report(wengyuan, *REPORTS[0])
    second = report(wengyuan, "13800000009", "瓢里镇瓢里街的路灯坏了一个多月了，晚上黑漆漆的")
    found = tickets(wengyuan)
    assert linked_numbers(found[first]) == [] and linked_numbers(found[second]) == []


def test_a_pack_without_the_rule_links_nothing(demo):  # longsheng: 003 names no key items
    numbers = [report(demo, *r) for r in REPORTS]
    found = tickets(demo)
    assert not any(linked_numbers(found[n]) or is_key_item(found[n]) for n in numbers)
