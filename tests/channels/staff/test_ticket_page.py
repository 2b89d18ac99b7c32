"""One ticket on the office's desk: the page, the office's actions, refusals and two staff at once.

The deployment runs the longsheng pack (003) with the demo units; the unit's own steps (sign, return,
reply) are the lifecycle's calls, as the units' portal will make them.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app import create_app
from intake.core.models import Conversation, InboundMessage, TicketEvent
from intake.core.tickets import find_ticket
from tests.channels.staff.test_office import CSRF, add_staff, login
from tests.routing.lifecycle_world import PHONE, REPLY, RETURN, TEXT

STAMP = re.compile(r'name="stamp" value="(\d+)"')
STALL = "龙胜镇桂龙路天天有人占道摆摊，人都走不过去"  # the catalogue suggests 城管 (cgj): 占道, 摆摊


@pytest.fixture
def app(world):
    add_staff(world.hotline, "wang", "office")
    add_staff(world.hotline, "li", "office")
    add_staff(world.hotline, "zhao", "unit_editor", unit="cgj")
    return create_app({"hotline": world.hotline, "TESTING": True})


@pytest.fixture
def web(app):
    client = app.test_client()
    login(client, "wang")
    return client


def html(client, number: str, **query) -> str:
    page = client.get(f"/office/tickets/{number}", query_string=query)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def post(client, number: str, action: str, /, *, stamp: str | None = None, **data):
    """POST one action with the session's token and the stamp of the page as it is now (or ``stamp``)."""
    body = html(client, number)
    fields = {"csrf_token": CSRF.search(body).group(1), "stamp": stamp or STAMP.search(body).group(1), **data}
    return client.post(f"/office/tickets/{number}/{action}", data=fields)


def kinds(world, number: str) -> list[str]:
    return [e.kind for e in world.ticket(number).events]


# ---------------------------------------------------------------- what the page shows


def test_the_page_shows_number_stage_and_text(app, world):
    number = world.register()
    client = app.test_client()
    assert client.get(f"/office/tickets/{number}").status_code == 302  # not signed in: the login page
    login(client, "wang")
    body = html(client, number)
    assert number in body and "已转交承办单位" in body and TEXT in body


def test_an_unknown_number_is_404_and_unit_staff_are_403(app, world):
    number = world.register()
    client = app.test_client()
    login(client, "wang")
    assert client.get("/office/tickets/2611239999").status_code == 404
    assert client.get("/office/tickets/" + "9" * 300).status_code == 404
    other = app.test_client()
    login(other, "zhao")
    assert other.get(f"/office/tickets/{number}").status_code == 403
    token = CSRF.search(other.get("/office/login").get_data(as_text=True)).group(1)
    refused = other.post(
        f"/office/tickets/{number}/note", data={"csrf_token": token, "stamp": "1", "text": "x"}
    )
    assert refused.status_code == 403 and "note" not in kinds(world, number)


def test_the_queue_can_link_to_it(app):
    from flask import url_for

    with app.test_request_context():
        assert url_for("office_ticket.show", number="2611230001") == "/office/tickets/2611230001"


def test_the_facts_unit_deadlines_and_events_masked_and_in_chinese(web, world):
    number = world.register(category="complaint")
    body = html(web, number)
    assert "139****5678" in body and PHONE not in body and "13912345678" not in body
    for shown in (
        "投诉",
        "短信",
        "瓢里镇瓢里街菜市场",
        "龙胜各族自治县城市管理综合行政执法局",
        "2026年12月7日",
    ):
        assert shown in body, shown
    assert "003 第十二条" in body  # the due's article
    events = body[body.index('id="events"') :]
    assert "登记" in events and "派单" in events and "诉求人" in events


def test_the_citizens_messages_in_order_with_the_recording(web, world):
    number = world.register(channel="voice")
    with world.hotline.db.session() as session:
        talk = Conversation(channel="voice", sender=PHONE)
        session.add(talk)
        session.flush()
        for i, (text, kind, meta) in enumerate(
            [
                ("菜市场门口的路灯坏了", "voice", None),
                ("在瓢里镇", "voice", None),
                ("电话留言30秒，请听录音", "voice", {"recording_url": "https://api.twilio.com/rec/RE1"}),
            ]
        ):
            session.add(
                InboundMessage(
                    channel="voice", sender=PHONE, text=text, kind=kind, meta=meta, conversation_id=talk.id,
                    received_at=world.clock(), channel_msg_id=f"CA1:{i}",
                )
            )  # fmt: skip
        find_ticket(session, number).conversation_id = talk.id
        session.commit()
    body = html(web, number)
    shown = body[body.index('id="messages"') :]
    assert shown.index("路灯坏了") < shown.index("在瓢里镇") < shown.index("电话留言")
    assert 'href="https://api.twilio.com/rec/RE1"' in shown and "收听录音" in shown


def test_the_gathered_facts_show_once_the_ticket_has_them_with_the_phone_masked(web, world):
    number = world.register()
    assert "诉求人姓名" not in html(web, number)
    with world.hotline.db.session() as session:
        ticket = find_ticket(session, number)
        ticket.citizen_name, ticket.contact_phone = "张先生", "13800001111"
        session.commit()
    body = html(web, number)
    assert "诉求人姓名" in body and "张先生" in body
    assert "138****1111" in body and "13800001111" not in body
    assert "联系电话" in body  # another number than the one they texted from
    with world.hotline.db.session() as session:
        ticket = find_ticket(session, number)
        ticket.contact_phone = ticket.sender
        session.commit()
    assert "联系电话" not in html(web, number)  # the caller ID, shown once as 来电号码


def test_the_suggested_unit_and_a_search_over_the_catalogue(web, world):
    number = world.register(text=STALL, location=None, registered_only=True)
    body = html(web, number)
    assert "龙胜各族自治县城市管理综合行政执法局" in body[body.index('id="suggested-unit"') :]
    assert "占道" in body  # and why
    found = html(web, number, unit_q="瓢里")
    assert "瓢里镇人民政府" in found[found.index('id="unit-results"') :]
    assert "没有找到" in html(web, number, unit_q="没有这种单位")


# ---------------------------------------------------------------- the office's actions


def test_dispatch_return_redispatch_reply_accept_correct(web, world):
    number = world.register(text=STALL, location=None, registered_only=True)
    done = post(web, number, "dispatch", unit="cgj")
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/office/tickets/{number}")
    assert "已派单" in html(web, number)
    world.act(number, "request_return", **RETURN)
    body = html(web, number)
    assert "承办单位申请退回" in body and RETURN["reason"] in body and "同意退回并转派" in body
    assert post(web, number, "dispatch", unit="twn-longsheng").status_code == 302
    ticket = world.ticket(number)
    assert ticket.status == "dispatched" and ticket.unit_code == "twn-longsheng" and ticket.version == 2
    world.act(number, "sign")
    world.act(number, "reply", reply=REPLY | {"handled_at": "2026-11-23", "case_date": "2026-11-23"})
    body = html(web, number)
    assert REPLY["result"] in body and "经办人" in body and "审核答复" in body
    assert post(web, number, "accept_reply").status_code == 302
    assert world.ticket(number).status == "reviewed"
    assert post(web, number, "correct", field="category", category="help").status_code == 302
    corrected = [e.data for e in world.ticket(number).events if e.kind == "corrected"]
    assert corrected == [{"field": "category", "before": "complaint", "after": "help", "text": STALL}]
    assert world.ticket(number).category == "help"
    assert "类别：投诉 → 求助" in html(web, number)
    by = [e.actor for e in world.ticket(number).events if e.kind in ("dispatched", "reviewed", "corrected")]
    assert set(by) == {"office:wang"}


def test_returns_extensions_and_replies_can_be_refused(web, world):
    number = world.register()
    world.act(number, "request_return", **RETURN)
    assert post(web, number, "refuse_return", reason="路灯维修属城管职责").status_code == 302
    assert world.ticket(number).status == "dispatched" and "return_refused" in kinds(world, number)
    world.act(number, "sign")
    world.act(number, "request_extension", reason="需协调供电公司", until="2026-12-11")
    assert "申请延期至：2026年12月11日" in html(web, number)
    assert post(web, number, "approve_extension", until="2026-12-09").status_code == 302
    assert world.ticket(number).due == "2026-12-09"
    # 003 第十二条(二)9: the citizen is told, and the page says how
    assert "告知诉求人" in html(web, number) and "延期告知：已通过短信发送；办理时限：2026年12月9日" in html(
        web, number
    )
    world.act(number, "reply", reply=REPLY | {"handled_at": "2026-11-23", "case_date": "2026-11-23"})
    assert post(web, number, "send_back", note="答复未说明更换时间").status_code == 302
    assert world.ticket(number).status == "signed"


def test_the_office_marks_links_notes_and_closes(web, world):
    first = world.register()
    world.at("11-23 10:00")
    number = world.register(sender="+8613800001111")
    for action, data in (
        ("confidential", {"reason": "诉求人要求保密"}),
        ("repeat", {"number": first}),
        ("note", {"text": "已电话联系诉求人"}),
        ("correct", {"field": "urgent", "urgent": "1"}),
        ("correct", {"field": "redirect", "redirect": "court"}),
    ):
        assert post(web, number, action, **data).status_code == 302, action
    ticket = world.ticket(number)
    assert ticket.confidential and ticket.urgent and ticket.redirect_to == "court"
    body = html(web, number)
    assert "保密" in body and f">{first}</a> 的重复件" in body and "已电话联系诉求人" in body
    assert f">{number}</a> 是本工单的重复件" in html(web, first)
    world.act(number, "sign")
    # marked urgent above, so the handling time is given to the hour (003 第十二条(四)1)
    handled = {"handled_at": "2026-11-23T10:00+08:00", "case_date": "2026-11-23"}
    world.act(number, "reply", reply=REPLY | handled)
    assert post(web, number, "close").status_code == 302
    assert world.ticket(number).status == "closed"


@pytest.mark.parametrize(
    "setup, action, data, status, said",
    [
        ("", "dispatch", {"unit": "nosuchunit"}, 400, "没有代码为 nosuchunit 的承办单位"),
        ("", "dispatch", {"unit": ""}, 400, "承办单位"),
        ("return", "refuse_return", {"reason": "  "}, 400, "不同意退回应说明理由"),
        ("return", "dispatch", {"unit": "cgj"}, 400, "应转派给其他承办单位"),
        ("extension", "approve_extension", {"until": "明天"}, 400, "until 应为日期"),
        ("extension", "approve_extension", {"until": "2026-12-30"}, 400, "不能晚于申请的日期"),
        ("extension", "refuse_extension", {"reason": ""}, 400, "不同意延期应说明理由"),
        ("", "accept_reply", {}, 409, "不能审核答复"),
        ("", "close", {}, 409, "不能办结"),
        ("", "correct", {"field": "category", "category": "gossip"}, 400, "请选择一个类别"),
        ("", "correct", {"field": "shoe"}, 400, "只能更正"),
        ("", "repeat", {"number": "abc"}, 400, "没有工单号为 abc 的工单"),
        ("", "key_item", {"numbers": "2611230001"}, 409, "没有规定重点事项"),
        ("", "note", {"text": ""}, 400, "备注内容不能为空"),
        ("", "confidential", {"reason": ""}, 400, "设为保密应说明原因"),
    ],
)
def test_a_refusal_is_shown_on_the_page_and_nothing_is_applied(web, world, setup, action, data, status, said):
    number = world.register()
    if setup == "return":
        world.act(number, "request_return", **RETURN)
    if setup == "extension":
        world.act(number, "sign")
        world.act(number, "request_extension", reason="需协调供电公司", until="2026-12-11")
    before = world.ticket(number)
    refused = post(web, number, action, **data)
    body = refused.get_data(as_text=True)
    assert refused.status_code == status and said in body and 'role="alert"' in body
    after = world.ticket(number)
    assert [e.kind for e in after.events] == [e.kind for e in before.events]
    assert (after.status, after.unit_code, after.category, after.due) == (
        before.status, before.unit_code, before.category, before.due,
    )  # fmt: skip


def test_a_refusal_by_the_pack_shows_its_article(web, world, monkeypatch):
    """The office's refusals carry the article as the lifecycle gives it (here a late return's)."""
    from routing.lifecycle import Lifecycle, TransitionRefused

    def late(self, session, ticket, **kwargs):
        raise TransitionRefused("late_return", "已超过退回时限", "003 第十二条(三)")

    monkeypatch.setattr(Lifecycle, "close", late)
    number = world.register()
    refused = post(web, number, "close")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "已超过退回时限" in body and "依据：003 第十二条(三)" in body


def test_bad_posts_are_refused_in_chinese_never_a_500(web, world):
    number = world.register()
    token = CSRF.search(html(web, number)).group(1)
    assert web.post(f"/office/tickets/{number}/note", data={"stamp": "1", "text": "x"}).status_code == 400
    assert web.post(f"/office/tickets/{number}/fly", data={"csrf_token": token}).status_code == 404
    assert (
        web.post("/office/tickets/2611239999/note", data={"csrf_token": token, "stamp": "1"}).status_code
        == 404
    )
    for stamp in ("", "abc", "9" * 40):
        missing = web.post(
            f"/office/tickets/{number}/note", data={"csrf_token": token, "stamp": stamp, "text": "x"}
        )
        assert missing.status_code == 400 and "刷新页面" in missing.get_data(as_text=True)
    assert "note" not in kinds(world, number)


# ---------------------------------------------------------------- two staff at once


def test_a_second_worker_acting_on_an_older_page_is_told_and_nothing_is_applied(app, web, world):
    number = world.register(text=STALL, location=None, registered_only=True)
    li = app.test_client()
    login(li, "li")
    old = html(li, number)  # li opens the ticket…
    world.at("11-23 09:42")
    assert post(web, number, "dispatch", unit="cgj").status_code == 302  # …wang dispatches it meanwhile
    late = li.post(
        f"/office/tickets/{number}/dispatch",
        data={
            "csrf_token": CSRF.search(old).group(1),
            "stamp": STAMP.search(old).group(1),
            "unit": "twn-longsheng",
        },
    )
    body = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "热线办公室 wang于2026年11月23日09:42派单" in body and "您的操作未执行" in body
    ticket = world.ticket(number)
    assert ticket.unit_code == "cgj" and ticket.version == 1
    assert "龙胜各族自治县城市管理综合行政执法局" in body[body.index('id="unit"') :]  # the current state
    fresh = STAMP.search(body).group(1)
    assert fresh != STAMP.search(old).group(1)
    again = li.post(
        f"/office/tickets/{number}/note",
        data={"csrf_token": CSRF.search(body).group(1), "stamp": fresh, "text": "已看到王的派单"},
    )
    assert again.status_code == 302  # on the page as it is now, li acts
    with world.hotline.db.session() as session:
        notes = session.scalars(select(TicketEvent.actor).where(TicketEvent.kind == "note")).all()
    assert notes == ["office:li"]
