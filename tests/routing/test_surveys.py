"""Satisfaction surveys as the packs set them: who is asked how, what silence means, what 不满意 starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.models import ContactPreference, OutboxMessage
from intake.core.tickets import find_ticket
from routing.surveys import CallbackRequest, SurveyRequest, parse_rating
from tests.conftest import make_hotline
from tests.routing.lifecycle_world import REPLY

PHONE = "+8613912345678"
COMPLAINT = "幸福小区3号楼门口的路灯坏了一个星期了，晚上很黑"


def unit_replies(hotline, number):
    """The unit signs (if it has not) and replies; the hotline asks the citizen at once."""
    flow = hotline.lifecycle
    with hotline.db.session() as session:
        ticket = find_ticket(session, number)
        if ticket.status == "dispatched":
            flow.sign(session, ticket, actor="unit")
        today = hotline.clock().astimezone(hotline.settings.timezone).date().isoformat()
        flow.reply(session, ticket, actor="unit", reply=REPLY | {"handled_at": today, "case_date": today})
        session.commit()
    with hotline.db.session() as session:
        ticket = find_ticket(session, number)
        asked = session.scalars(
            select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id).order_by(SurveyRequest.round)
        ).all()
        return asked[-1].token


def replied_ticket(hotline, channel="sms", sender=PHONE):
    """A ticket from the pipeline, dispatched, signed and replied to by its unit."""
    outcome = hotline.handle(Message(channel=channel, sender=sender, text=COMPLAINT))
    assert outcome.action == "ticket", outcome.reply
    return outcome.ticket.number, unit_replies(hotline, outcome.ticket.number)


def survey_of(hotline, number):
    with hotline.db.session() as session:
        ticket = find_ticket(session, number)
        rows = session.scalars(select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id)).all()
        return ticket.status, [(r.round, r.status, r.rating) for r in rows]


@pytest.mark.parametrize(
    "policy, text, rating",
    [
        ("pingli", "1", "满意"),
        ("pingli", "2", "基本满意"),
        ("pingli", "3", "不满意"),
        ("pingli", "不满意", "不满意"),
        ("pingli", "基本满意。", "基本满意"),
        ("longsheng", "2", "不满意"),  # 003 第十三条(二) names only 满意 and 不满意
        ("longsheng", "3", None),
        ("pingli", "路灯还是不亮，我很不满意你们的处理", None),  # a new message, not a rating
    ],
)
def test_a_rating_is_read_from_its_number_or_its_words(policy, text, rating, hotline):
    from routing.policy import load

    assert parse_rating(text, load(policy)) == rating


def test_a_caller_or_texter_is_asked_by_sms_with_the_ratings_numbered(demo):
    number, _ = replied_ticket(demo)
    with demo.db.session() as session:
        (sms,) = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert sms.recipient == PHONE and sms.key == f"survey:{number}:1"
    assert number in sms.body and "1满意" in sms.body and "2不满意" in sms.body and "退订" in sms.body


def test_the_sms_reply_rates_the_ticket_and_closes_it(demo):
    number, _ = replied_ticket(demo)
    outcome = demo.handle(Message(channel="sms", sender=PHONE, text="1"))
    assert outcome.action == "survey" and outcome.ticket.number == number
    assert outcome.reply == "感谢您的评价！"
    assert survey_of(demo, number) == ("closed", [(1, "answered", "满意")])


def test_silence_counts_as_satisfied_after_24_hours_under_003(demo, clock):
    number, _ = replied_ticket(demo)
    with demo.db.session() as session:
        assert demo.surveys.expire(session, clock.now + timedelta(hours=23)) == 0
        assert demo.surveys.expire(session, clock.now + timedelta(hours=24)) == 1
        session.commit()
    assert survey_of(demo, number) == ("closed", [(1, "defaulted", "满意")])


def test_unsatisfied_under_003_queues_a_person_to_call_back(demo):
    number, _ = replied_ticket(demo)
    outcome = demo.handle(Message(channel="sms", sender=PHONE, text="不满意"))
    assert "工作人员将尽快与您联系" in outcome.reply
    with demo.db.session() as session:
        (callback,) = session.scalars(select(CallbackRequest)).all()
        assert callback.basis == "003 第十三条(三)" and callback.status == "open"


def test_someone_who_opted_out_is_not_sent_a_survey(demo):
    with demo.db.session() as session:
        session.add(ContactPreference(channel="sms", sender=PHONE, no_surveys=True))
        session.commit()
    replied_ticket(demo)
    with demo.db.session() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_a_wechat_citizen_is_asked_by_wechat(demo):
    replied_ticket(demo, channel="wechat", sender="openid-1")
    with demo.db.session() as session:
        (message,) = session.scalars(select(OutboxMessage)).all()
    assert message.channel == "wechat" and message.recipient == "openid-1"


def test_a_web_citizen_rates_on_the_survey_page(demo, client):
    number, token = replied_ticket(demo, channel="web", sender="browser-1")
    page = client.get(f"/survey/{token}")
    assert page.status_code == 200 and number in page.text and 'name="rating"' in page.text
    answered = client.post(f"/survey/{token}", data={"rating": "满意"})
    assert "感谢您的评价" in answered.text
    again = client.post(f"/survey/{token}", data={"rating": "不满意"})
    assert "您已评价过" in again.text
    assert survey_of(demo, number) == ("closed", [(1, "answered", "满意")])
    assert client.get("/survey/not-a-token").status_code == 404


def test_a_clarify_choice_is_not_taken_for_a_rating(demo):
    number, _ = replied_ticket(demo)
    # the same citizen asks something with several close answers, then picks one by number
    outcome = demo.handle(Message(channel="sms", sender=PHONE, text="公积金"))
    assert outcome.action == "clarify"
    picked = demo.handle(Message(channel="sms", sender=PHONE, text="1"))
    assert picked.action == "answer"
    assert survey_of(demo, number)[1] == [(1, "asked", None)]


def test_without_a_silence_rule_a_survey_is_left_unanswered(settings, clock):
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy="liaoyang", demo=True)
    number, _ = replied_ticket(hotline)
    with hotline.db.session() as session:
        hotline.surveys.expire(session, clock.now + timedelta(days=8))
        session.commit()
    assert survey_of(hotline, number)[1] == [(1, "unanswered", None)]


# ---------------------------------------------------------------- 002: re-handled once, second rating counts


@pytest.fixture
def pingli(settings, clock):
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy="pingli", demo=True)
    yield hotline
    hotline.db.dispose()


def test_under_002_a_first_unsatisfied_sends_the_ticket_back_once(pingli):
    number, _ = replied_ticket(pingli)
    outcome = pingli.handle(Message(channel="sms", sender=PHONE, text="3"))
    assert "重新办理" in outcome.reply
    status, rounds = survey_of(pingli, number)
    assert status == "rehandling"  # back with the unit (002 第十八条)
    assert rounds == [(1, "answered", "不满意")]


def test_under_002_the_second_rating_counts(pingli):
    number, _ = replied_ticket(pingli)
    pingli.handle(Message(channel="sms", sender=PHONE, text="不满意"))
    unit_replies(pingli, number)
    outcome = pingli.handle(Message(channel="sms", sender=PHONE, text="基本满意"))
    assert outcome.reply == "感谢您的评价！"
    assert survey_of(pingli, number) == ("closed", [(1, "answered", "不满意"), (2, "answered", "基本满意")])


def test_under_002_a_second_unsatisfied_goes_to_a_person(pingli):
    number, _ = replied_ticket(pingli)
    pingli.handle(Message(channel="sms", sender=PHONE, text="不满意"))
    unit_replies(pingli, number)
    outcome = pingli.handle(Message(channel="sms", sender=PHONE, text="不满意"))
    assert "工作人员将尽快与您联系" in outcome.reply
    status, rounds = survey_of(pingli, number)
    assert status == "closed" and rounds == [(1, "answered", "不满意"), (2, "answered", "不满意")]
    with pingli.db.session() as session:
        (callback,) = session.scalars(select(CallbackRequest)).all()
        assert callback.basis == "002 第二十条" and callback.reason == "第2次不满意"


def test_under_002_silence_is_not_a_rating(pingli, clock):
    number, _ = replied_ticket(pingli)
    with pingli.db.session() as session:
        pingli.surveys.expire(session, clock.now + timedelta(days=8))
        session.commit()
    assert survey_of(pingli, number)[1] == [(1, "unanswered", None)]
