"""The operators' call-back queue at /office/callbacks: who sees the citizen's number, who may record a
result, and what recording it does to the call-back, the survey and the ticket."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.core.messages import Message
from intake.core.tickets import find_ticket
from routing.callbacks import UNREACHABLE
from routing.surveys import CallbackRequest, SurveyRequest
from tests.channels.staff.test_office import CSRF, add_staff, login, office_app
from tests.conftest import make_hotline
from tests.routing.test_surveys import PHONE, replied_ticket, unit_replies

FULL = "+8613912345678"
MASKED = "139****5678"


@pytest.fixture
def pingli(settings, clock):
    """Pingli (002): one re-handling, then a person calls back after the second 不满意 (第二十条)."""
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy="pingli", demo=True)
    for name, role in (("wang", "office"), ("zhou", "operator"), ("chen", "operator"), ("root", "admin")):
        add_staff(hotline, name, role)
    yield hotline
    hotline.db.dispose()


def second_unsatisfied(hotline, sender: str = PHONE) -> str:
    """A ticket its citizen rated 不满意 twice by SMS: queued for a person's call-back."""
    number, _ = replied_ticket(hotline, channel="sms", sender=sender)
    hotline.handle(Message(channel="sms", sender=sender, text="不满意"))
    unit_replies(hotline, number)
    hotline.handle(Message(channel="sms", sender=sender, text="不满意"))
    return number


def unreachable(hotline) -> str:
    """A replied ticket whose survey is open and whose citizen the calls never reached."""
    number, _ = replied_ticket(hotline, channel="voice")
    with hotline.db.session() as session:
        ticket = find_ticket(session, number)
        session.add(CallbackRequest(ticket_id=ticket.id, reason=UNREACHABLE, basis="002 第二十条",
                                    created_at=hotline.clock()))  # fmt: skip
        session.commit()
    return number


def signed_in(hotline, username: str):
    client = office_app(hotline).test_client()
    assert login(client, username).status_code == 302
    return client


def open_callback(hotline) -> CallbackRequest:
    with hotline.db.session() as session:
        (callback,) = session.scalars(select(CallbackRequest).where(CallbackRequest.status == "open")).all()
        return callback


def record(client, callback_id: int, **form: str):
    page = client.get("/office/callbacks").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    return client.post(f"/office/callbacks/{callback_id}", data={"csrf_token": token, **form})


@pytest.mark.parametrize("username, shown", [("zhou", FULL), ("root", FULL), ("wang", MASKED)])
def test_the_number_is_shown_in_full_only_to_those_who_dial_it(pingli, username, shown):
    number = second_unsatisfied(pingli)
    page = signed_in(pingli, username).get("/office/callbacks")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and number in text
    assert (
        "第2次不满意" in text and "002 第二十条" in text and "幸福小区某号楼门口的路灯坏了一个星期了" in text
    )
    assert shown in text
    if shown == MASKED:
        assert FULL[-11:] not in text and 'action="/office/callbacks/' not in text  # no number, no form


def test_the_oldest_call_back_comes_first(pingli, clock):
    first = unreachable(pingli)
    clock.now = clock.now.replace(hour=11)
    second = second_unsatisfied(pingli, sender="+8613800001111")
    text = signed_in(pingli, "zhou").get("/office/callbacks").get_data(as_text=True)
    assert text.index(first) < text.index(second)


@pytest.mark.parametrize("role, unit", [("unit_editor", "lsx_water"), ("unit_reviewer", "lsx_water")])
def test_unit_roles_are_refused_the_queue(pingli, role, unit):
    add_staff(pingli, "zhao", role, unit)
    assert signed_in(pingli, "zhao").get("/office/callbacks").status_code == 403


def test_the_office_sees_the_queue_but_may_not_record(pingli):
    second_unsatisfied(pingli)
    callback = open_callback(pingli)
    response = record(signed_in(pingli, "wang"), callback.id, outcome="reached", rating="满意")
    assert response.status_code == 403
    assert open_callback(pingli).id == callback.id


def test_the_dashboard_links_to_the_queue(pingli):
    second_unsatisfied(pingli)
    page = signed_in(pingli, "zhou").get("/office").get_data(as_text=True)
    assert 'href="/office/callbacks"' in page and "回访队列（1）" in page


def test_an_operator_records_the_rating_given_after_a_second_不满意(pingli):
    number = second_unsatisfied(pingli)
    client = signed_in(pingli, "zhou")
    callback = open_callback(pingli)
    response = record(
        client, callback.id, outcome="reached", rating="基本满意", note="路灯已修好，理解单位困难"
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/office/callbacks?done={number}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"工单{number}的回访结果已记录" in page and "暂无待回访的诉求人" in page

    with pingli.db.session() as session:
        done = session.get(CallbackRequest, callback.id)
        assert (done.status, done.operator, done.outcome, done.rating) == (
            "done",
            "zhou",
            "reached",
            "基本满意",
        )
        assert done.result == "路灯已修好，理解单位困难" and done.done_at == pingli.clock()
        ticket = find_ticket(session, number)
        rounds = session.scalars(
            select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id).order_by(SurveyRequest.round)
        ).all()
        assert [(r.round, r.status, r.rating) for r in rounds] == [
            (1, "answered", "不满意"),
            (2, "answered", "基本满意"),
        ]
        (result,) = [e for e in ticket.events if e.kind == "callback_result"]
        assert result.actor == "staff:zhou"
        assert result.data["previous_rating"] == "不满意" and result.data["rating"] == "基本满意"
        assert session.scalars(select(CallbackRequest).where(CallbackRequest.status == "open")).all() == []


def test_a_不满意_told_to_an_operator_queues_no_further_call_back(pingli):
    second_unsatisfied(pingli)
    callback = open_callback(pingli)
    response = record(
        signed_in(pingli, "zhou"), callback.id, outcome="reached", rating="不满意", note="仍不满意"
    )
    assert response.status_code == 302
    with pingli.db.session() as session:
        assert session.scalars(select(CallbackRequest).where(CallbackRequest.status == "open")).all() == []


def test_an_unreachable_citizen_reached_by_an_operator_rates_the_open_survey(pingli):
    number = unreachable(pingli)
    callback = open_callback(pingli)
    assert record(signed_in(pingli, "zhou"), callback.id, outcome="reached", rating="满意").status_code == 302
    with pingli.db.session() as session:
        ticket = find_ticket(session, number)
        (survey,) = session.scalars(select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id)).all()
        assert (survey.status, survey.rating) == ("answered", "满意") and ticket.status == "closed"
        (surveyed,) = [e for e in ticket.events if e.kind == "surveyed"]
        assert surveyed.actor == "staff:zhou" and surveyed.data["by"] == "person"


@pytest.mark.parametrize(
    "form, error",
    [
        ({"outcome": "not_reached"}, "请说明未联系上的情况"),
        ({"outcome": "not_reached", "rating": "满意", "note": "关机"}, "未联系上诉求人，不能记录评价"),
        ({"outcome": "reached"}, "联系上但未评价时，请填写情况说明"),
        ({"outcome": "reached", "rating": "非常满意"}, "评价应为 满意 / 基本满意 / 不满意 之一"),
        ({"rating": "满意"}, "请选择是否联系上诉求人"),
    ],
)
def test_an_incomplete_result_is_refused_with_the_reason(pingli, form, error):
    unreachable(pingli)
    callback = open_callback(pingli)
    response = record(signed_in(pingli, "zhou"), callback.id, **form)
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert open_callback(pingli).status == "open"


def test_not_reached_closes_the_call_back_and_leaves_the_survey_open(pingli):
    number = unreachable(pingli)
    callback = open_callback(pingli)
    response = record(signed_in(pingli, "zhou"), callback.id, outcome="not_reached", note="连续两天关机")
    assert response.status_code == 302
    with pingli.db.session() as session:
        done = session.get(CallbackRequest, callback.id)
        assert (done.status, done.outcome, done.rating, done.result) == (
            "done",
            "not_reached",
            None,
            "连续两天关机",
        )
        ticket = find_ticket(session, number)
        (survey,) = session.scalars(select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id)).all()
        assert survey.status == "asked"
        (result,) = [e.data for e in ticket.events if e.kind == "callback_result"]
        assert result["outcome"] == "not_reached" and result["note"] == "连续两天关机"


def test_a_call_back_done_by_someone_else_gets_409_and_changes_nothing(pingli):
    number = unreachable(pingli)
    callback = open_callback(pingli)
    zhou, chen = signed_in(pingli, "zhou"), signed_in(pingli, "chen")
    page = chen.get("/office/callbacks").get_data(as_text=True)  # both have the form open
    assert record(zhou, callback.id, outcome="reached", rating="满意").status_code == 302
    late = chen.post(
        f"/office/callbacks/{callback.id}",
        data={
            "csrf_token": CSRF.search(page).group(1),
            "outcome": "reached",
            "rating": "不满意",
            "note": "x",
        },
    )
    assert late.status_code == 409 and "已由zhou处理" in late.get_data(as_text=True)
    with pingli.db.session() as session:
        done = session.get(CallbackRequest, callback.id)
        assert (done.operator, done.rating) == ("zhou", "满意")
        kinds = [e.kind for e in find_ticket(session, number).events]
        assert kinds.count("callback_result") == 1 and kinds.count("surveyed") == 1


def test_a_result_without_the_csrf_token_or_for_no_call_back_is_refused(pingli):
    unreachable(pingli)
    callback = open_callback(pingli)
    client = signed_in(pingli, "zhou")
    forged = client.post(f"/office/callbacks/{callback.id}", data={"outcome": "reached", "rating": "满意"})
    assert forged.status_code == 400 and open_callback(pingli).status == "open"
    assert record(client, 999_999, outcome="reached", rating="满意").status_code == 404
