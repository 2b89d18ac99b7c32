"""Supervision: cards (000 第二十二条), reminders before deadlines and notices after (000 第二十一条),
and the overdue list, each computed from the pack and the working-day calendar.
"""

from __future__ import annotations

import threading

import pytest

from routing import supervision
from routing.handoff import set_webhook
from routing.lifecycle import Lifecycle
from tests.routing.lifecycle_world import REPLY

# ---------------------------------------------------------------- cards

# Registered Monday 2026-11-23 10:00 (a complaint: 15 working days under 000).
# (signed, replied, looked at, card)
CARDS = [
    pytest.param("11-24 09:00", None, "11-25 10:00", "green", id="accepted by the next working day: green"),
    pytest.param(None, None, "11-24 17:00", "green", id="unsigned during the next working day: still green"),
    pytest.param(None, None, "11-25 09:00", "yellow", id="not accepted by the next working day: yellow"),
    pytest.param(None, None, "11-26 09:00", "red", id="not accepted within 2 working days: red"),
    pytest.param("11-25 09:00", None, "11-26 09:00", "yellow", id="a late signature keeps its yellow card"),
    pytest.param("11-24 09:00", None, "11-30 09:00", "green", id="4 working days without a reply: green"),
    pytest.param(
        "11-24 09:00", None, "12-01 09:00", "yellow", id="more than 5 working days without reply: yellow"
    ),
    pytest.param(
        "11-24 09:00", None, "12-15 09:00", "red", id="more than 15 working days without reply: red"
    ),
    pytest.param("11-24 09:00", "11-27 15:00", "12-15 09:00", "green", id="replied in time: green for good"),
]


@pytest.mark.parametrize("signed, replied, looked, card", CARDS)
def test_000_article_22_cards(world, signed, replied, looked, card):
    w = world("wengyuan")
    number = w.register()
    for when, step, args in (
        (signed, "sign", {}),
        (replied, "reply", {"reply": REPLY | {"handled_at": "2026-11-27"}}),
    ):
        if when:
            w.at(when)
            w.act(number, step, **args)
    w.at(looked)
    assert w.view(number)["card"] == card


@pytest.mark.parametrize("pack", ["pingli", "longsheng"])
def test_packs_without_card_thresholds_give_no_cards(world, pack):
    w = world(pack)  # 002 sets no cards; 003 第二十四条(一) names them without thresholds
    number = w.register()
    w.at("12-15 09:00")
    assert w.view(number)["card"] is None
    assert supervision.update_cards(w.flow) == []


def test_cards_are_stored_with_an_event_each_time_they_change(world):
    w = world("wengyuan")
    number = w.register()
    w.flow.hand_off_new()
    w.at("11-25 09:00")
    assert [c.to_dict() for c in supervision.update_cards(w.flow)] == [
        {"number": number, "unit": "cgj", "previous": None, "card": "yellow"}
    ]
    assert supervision.update_cards(w.flow) == []  # nothing new: nothing done
    w.at("11-26 09:00")
    assert [(c.previous, c.card) for c in supervision.update_cards(w.flow)] == [("yellow", "red")]
    ticket = w.ticket(number)
    assert ticket.card == "red" and ticket.card_at == w.clock()
    cards = [e.data for e in ticket.events if e.kind == "card"]
    assert [c["card"] for c in cards] == ["yellow", "red"] and cards[-1]["basis"] == "000 第二十二条"


# ---------------------------------------------------------------- reminders and overdue notices


def sent(w):
    return [(s.kind, s.deadline) for s in supervision.send_reminders(w.flow)]


def test_pingli_reminds_to_sign_then_to_reply_then_notes_the_overdue(world):
    w = world("pingli")  # 24 hours to sign (002 第十条(一)); a complaint in 5 working days: due Monday 11-30
    number = w.register()
    w.flow.hand_off_new()
    w.at("11-23 21:59")
    assert sent(w) == []
    w.at("11-23 22:00")  # halfway through the 24 hours
    assert sent(w) == [("sign", "2026-11-24T10:00:00+08:00")]
    assert sent(w) == []  # once
    w.at("11-24 09:00")
    w.act(number, "sign")
    w.at("11-26 23:59")
    assert sent(w) == []
    w.at("11-27 08:00")  # the working day before the due
    assert sent(w) == [("due", "2026-12-01T00:00:00+08:00")]
    assert sent(w) == []
    w.at("12-01 00:00")
    assert sent(w) == [("overdue", "2026-12-01T00:00:00+08:00")]
    assert sent(w) == []
    view = w.view(number)
    assert [r["kind"] for r in view["reminders"]] == ["sign", "due", "overdue"]
    notices = w.flow.handoff.deliveries(number)
    assert [(d.kind, d.status) for d in notices] == [
        ("dispatched", "listed"), ("reminder", "listed"), ("reminder", "listed"), ("overdue", "listed")
    ]  # fmt: skip
    assert (
        "2026年11月30日24时" in [e for e in w.ticket(number).events if e.kind == "reminded"][1].data["text"]
    )


def test_an_extension_brings_a_new_reminder_for_the_new_due(world):
    w = world("pingli")
    number = w.register()
    w.act(number, "sign")
    w.at("11-27 08:00")
    assert [k for k, _ in sent(w)] == ["due"]
    w.act(number, "request_extension", reason="需采购灯具", until="2026-12-07")
    w.act(number, "approve_extension")
    assert sent(w) == []
    w.at("12-04 08:00")
    assert sent(w) == [("due", "2026-12-08T00:00:00+08:00")]


def test_wengyuan_reminds_before_the_last_day_to_ask_for_an_extension(world):
    w = world("wengyuan")  # 000 第十六条: extensions are asked 2 working days before expiry
    number = w.register()  # a complaint: 15 working days, due Monday 12-14
    w.act(number, "sign")
    w.at("12-09 23:00")
    assert sent(w) == []
    w.at("12-10 00:00")
    assert sent(w) == [("due", "2026-12-15T00:00:00+08:00")]
    assert w.ticket(number).due == "2026-12-14"


def test_a_unit_with_a_webhook_gets_its_reminders_posted(world):
    w = world("pingli")
    with w.hotline.db.session() as session:
        set_webhook(session, "cgj", "http://127.0.0.1:9/hook", w.clock(), secret="k")
        session.commit()
    number = w.register()
    w.flow.hand_off_new()
    w.at("11-23 22:00")
    supervision.send_reminders(w.flow)
    reminder = w.flow.handoff.deliveries(number)[-1]
    assert (reminder.kind, reminder.status, reminder.target) == ("reminder", "pending", "cgj")
    assert reminder.key == f"{number}:1:remind-sign"


def test_the_overdue_list_puts_the_longest_overdue_first(world):
    w = world("pingli")
    unsigned = w.register()
    w.at("11-24 09:00")
    late_reply = w.register(category="consult", unit="rsj")  # due Thursday 11-26
    w.act(late_reply, "sign")
    on_time = w.register(unit="water")
    w.act(on_time, "sign")
    w.at("11-30 10:00")
    with w.hotline.db.session() as session:
        found = supervision.overdue(session, w.flow)
    # the complaint left unsigned is not yet past its due (Monday 11-30, 24时), but 24 hours to sign ran
    # out Tuesday 10:00; the consultation was due Thursday 11-26
    assert [(o.number, o.kind, o.late_working_days, o.status) for o in found] == [
        (unsigned, "sign", 5, "dispatched"),
        (late_reply, "reply", 2, "signed"),
    ]
    with w.hotline.db.session() as session:
        assert [o.number for o in supervision.overdue(session, w.flow, unit="rsj")] == [late_reply]


def test_reminders_and_cards_run_on_two_workers_at_once_do_each_thing_once(world):
    w = world("wengyuan")
    if w.hotline.db.engine.dialect.name == "sqlite":
        pytest.skip("several workers need PostgreSQL (SKIP LOCKED); SQLite runs one worker")
    numbers = [w.register(unit=unit) for unit in ("cgj", "power", "water", "rsj")]
    w.flow.hand_off_new()
    w.at("11-24 09:00")  # the last day to sign: a reminder each, and their first (green) card
    other = Lifecycle(w.hotline.db, w.hotline.policy, w.hotline.calendar, w.flow.tz, w.clock)
    results: dict[str, list] = {"reminders": [], "cards": []}
    barrier = threading.Barrier(2)

    def work(flow):
        barrier.wait()
        results["reminders"] += supervision.send_reminders(flow)
        results["cards"] += supervision.update_cards(flow)

    threads = [threading.Thread(target=work, args=(flow,)) for flow in (w.flow, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s.number for s in results["reminders"]) == numbers
    assert sorted(c.number for c in results["cards"]) == numbers
    for number in numbers:
        kinds = [e.kind for e in w.ticket(number).events]
        assert kinds.count("reminded") == 1 and kinds.count("card") == 1
