"""The office's own actions on one ticket (routing.desk): corrections as labelled examples, the
confidentiality mark, repeats and key items, notes, the unit the rules suggest, and the stamp."""

from __future__ import annotations

import pytest

from intake.core.tickets import find_ticket
from routing.desk import Desk, check_stamp, parse_stamp, search_units, stamp, suggest_unit
from routing.lifecycle import TransitionRefused
from routing.replies import InvalidInput
from routing.units import UnitCatalogue
from tests.routing.lifecycle_world import TEXT, TZ, make_world

OFFICE = "office:wang"


@pytest.fixture
def world(settings, clock):
    made = []

    def build(pack: str = "longsheng"):
        made.append(make_world(settings, clock, pack))
        made[-1].at("11-23 09:30")
        return made[-1]

    yield build
    for w in made:
        w.hotline.db.dispose()


def act(w, number: str, action: str, **arguments):
    """Run one desk action and commit; returns the event's kind and data."""
    desk = Desk(w.hotline.policy, TZ, w.clock)
    with w.hotline.db.session() as session:
        ticket = find_ticket(session, number)
        event = getattr(desk, action)(session, ticket, actor=OFFICE, **arguments)
        session.commit()
        return event.kind, dict(event.data)


# (field, value given, the ticket's attribute, stored before, stored after)
CORRECTIONS = [
    ("category", "consult", "category", "complaint", "consult"),
    ("urgent", "1", "urgent", False, True),
    ("redirect", "court", "redirect_to", None, "court"),
]


@pytest.mark.parametrize("field, value, attribute, before, after", CORRECTIONS)
def test_a_correction_is_a_labelled_example_and_changes_the_field(
    world, field, value, attribute, before, after
):
    w = world()
    number = w.register(category="complaint")
    kind, data = act(w, number, "correct", field=field, value=value)
    assert kind == "corrected"
    assert data == {"field": field, "before": before, "after": after, "text": TEXT}
    assert getattr(w.ticket(number), attribute) == after


@pytest.mark.parametrize(
    "field, value, refused_field",
    [
        ("category", "gossip", "category"),
        ("category", "complaint", "category"),  # no change
        ("urgent", "maybe", "urgent"),
        ("redirect", "moon", "redirect"),  # not one of the pack's redirects
        ("colour", "red", "field"),
    ],
)
def test_a_bad_correction_names_its_field_and_changes_nothing(world, field, value, refused_field):
    w = world()
    number = w.register(category="complaint")
    with pytest.raises(InvalidInput) as refused:
        act(w, number, "correct", field=field, value=value)
    assert refused.value.field == refused_field
    assert [e.kind for e in w.ticket(number).events] == ["registered", "dispatched"]


def test_confidential_once_with_a_reason(world):
    w = world()
    number = w.register()
    with pytest.raises(InvalidInput):
        act(w, number, "mark_confidential", reason=" ")
    assert act(w, number, "mark_confidential", reason="诉求人来电要求保密") == (
        "confidential",
        {"reason": "诉求人来电要求保密"},
    )
    assert w.ticket(number).confidential
    with pytest.raises(TransitionRefused) as refused:
        act(w, number, "mark_confidential", reason="再次")
    assert refused.value.code == "already_confidential"


def test_a_repeat_is_recorded_on_both_tickets(world):
    w = world()
    first = w.register()
    w.at("11-23 10:30")
    second = w.register(sender="+8613800001111")
    for bad in ("", second, "2611239999"):
        with pytest.raises(InvalidInput):
            act(w, second, "link_repeat", of=bad)
    with pytest.raises(InvalidInput):  # the earlier one is not a repeat of the later
        act(w, first, "link_repeat", of=second)
    assert act(w, second, "link_repeat", of=first) == ("repeat_of", {"number": first})
    assert [e.data for e in w.ticket(first).events if e.kind == "repeated_by"] == [{"number": second}]
    with pytest.raises(TransitionRefused):
        act(w, second, "link_repeat", of=first)


def test_a_key_item_only_where_the_pack_has_the_rule(world):
    w = world("longsheng")
    a, b = w.register(), w.register(sender="+8613800001111")
    with pytest.raises(TransitionRefused) as refused:
        act(w, a, "mark_key_item", numbers=b)
    assert refused.value.code == "no_key_items" and "重点事项" in refused.value.reason

    w = world("wengyuan")
    a, b = w.register(), w.register(sender="+8613800001111")
    kind, data = act(w, a, "mark_key_item", numbers=f"{b}，{b}")
    assert kind == "key_item" and data["basis"] == "000 第十四条" and data["reporters"] == 2
    assert data["numbers"] == sorted([a, b])
    for number, other in ((a, b), (b, a)):
        view = w.view(number)
        assert view["key_item"] and view["linked"] == [other]


def test_a_note_needs_words_and_has_a_limit(world):
    w = world()
    number = w.register()
    for bad in ("", "   ", "字" * 1001):
        with pytest.raises(InvalidInput):
            act(w, number, "add_note", text=bad)
    assert act(w, number, "add_note", text="已电话联系诉求人") == ("note", {"text": "已电话联系诉求人"})


def test_the_stamp_refuses_a_page_older_than_the_ticket_naming_who_and_when(world):
    w = world()
    number = w.register()
    with w.hotline.db.session() as session:
        seen = stamp(session, find_ticket(session, number))
    w.at("11-23 10:05")
    act(w, number, "add_note", text="先看一下")
    with w.hotline.db.session() as session:
        ticket = find_ticket(session, number)
        with pytest.raises(TransitionRefused) as refused:
            check_stamp(session, ticket, seen, TZ)
        check_stamp(session, ticket, stamp(session, ticket), TZ)  # the current stamp passes
    assert refused.value.code == "stale"
    assert "热线办公室 wang于2026年11月23日10:05备注" in refused.value.reason
    assert "未执行" in refused.value.reason
    for bad in ("", "abc", "-1", None):
        with pytest.raises(InvalidInput):
            parse_stamp(bad)
    assert parse_stamp(" 12 ") == 12


@pytest.mark.parametrize(
    "text, unit, why",
    [
        ("龙胜镇桂龙路天天有人占道摆摊", "cgj", "摆摊、占道"),  # a department's keywords
        ("瓢里镇有村民因为宅基地边界吵起来了", "twn-piaoli", "瓢里镇"),  # no department: the town
        ("我想问问一件事情怎么办", "office", "人工"),
    ],
)
def test_the_suggested_unit_is_the_pipelines_with_its_reason(world, text, unit, why):
    w = world()
    number = w.register(text=text, location=None)
    with w.hotline.db.session() as session:
        suggestion = suggest_unit(UnitCatalogue.from_session(session), find_ticket(session, number))
    assert suggestion.code == unit and why in suggestion.why


def test_the_unit_search_matches_names_keywords_and_towns(world):
    w = world()
    with w.hotline.db.session() as session:
        assert [u.code for u in search_units(session, "城市管理 执法")] == ["cgj"]
        assert "cgj" in [u.code for u in search_units(session, "摆摊")]
        assert "twn-piaoli" in [u.code for u in search_units(session, "瓢里")]
        assert search_units(session, "没有这种单位的名字") == []
        assert len(search_units(session, "")) == 20  # the first page of the whole catalogue
