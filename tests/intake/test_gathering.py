"""Asking for what the pack requires and the citizen's words do not give (issue 16, item 2), turn by
turn over the JSON API the web chat uses: one question for every missing fact, every answer fills the
pending matter, "不知道" files it, a refusal is declined only where the pack's article says so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from intake.core.messages import Message
from intake.core.models import Ticket
from intake.gathering import ASK_PLACE, CONSENT_QUESTION
from routing.policy import load
from tests.conftest import make_hotline
from tests.contract import CONTRACT_KEYS


class Chat:
    """One browser of the web chat (or one phone on SMS): every message to /api/v1/messages."""

    def __init__(self, client, sender: str = "web-gathering", channel: str = "web") -> None:
        self.client, self.sender, self.channel = client, sender, channel

    def say(self, text: str) -> dict:
        body = {"channel": self.channel, "sender": self.sender, "text": text}
        response = self.client.post("/api/v1/messages", json=body)
        assert response.status_code == 200, response.json
        assert set(response.json) >= CONTRACT_KEYS
        return response.json


@pytest.fixture
def deploy(database_url, tmp_path, clock):
    made = []

    def under(pack: str):
        hotline = make_hotline(database_url, tmp_path / pack, clock, policy=pack, demo=True)
        made.append(hotline)
        return hotline, create_app({"hotline": hotline, "TESTING": True}).test_client()

    yield under
    for hotline in made:
        hotline.db.dispose()


def tickets(hotline) -> list[Ticket]:
    with hotline.db.session() as session:
        rows = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        session.expunge_all()
        return list(rows)


# ---------------------------------------------------------------- the packs' sections


@pytest.mark.parametrize(
    "pack, category, required, decline, basis",
    [
        ("liaoyang", "complaint", ("place", "time", "parties"), "incomplete", "001 第十三条(四)"),
        ("liaoyang", "help", ("place", "time"), "incomplete", "001 第十三条(四)"),
        ("pingli", "complaint", ("place", "name", "phone"), "anonymous_rights", "002 第七条(十)"),
        ("pingli", "help", ("place",), "anonymous_rights", "002 第七条(十)"),
        ("guizhou", "consult", ("phone",), None, "004 第十一条"),
        ("guizhou", "complaint", ("place", "phone"), None, "004 第十一条"),
        ("longsheng", "complaint", ("place",), None, None),
        ("wengyuan", "help", ("place",), None, None),
        ("longsheng", "consult", (), None, None),
    ],
)  # fmt: skip
def test_each_pack_requires_the_facts_its_regulation_names(pack, category, required, decline, basis):
    facts = load(pack).facts
    assert facts.needed(category) == required
    assert (facts.decline, facts.basis) == (decline, basis)
    if decline:
        assert facts.reply and facts.decline in {r.code for r in load(pack).declines}


# ---------------------------------------------------------------- conversations


def test_the_place_is_asked_and_the_answer_fills_the_same_matter(deploy):
    hotline, client = deploy("longsheng")
    chat = Chat(client)
    first = chat.say("路灯坏了一个多月了，晚上走路很危险，一直没人管")
    assert (first["action"], first["reply"]) == ("ask", ASK_PLACE)
    done = chat.say("龙胜镇桂石路和新华路交叉口")
    assert done["action"] == "ticket"
    (ticket,) = tickets(hotline)
    assert ticket.location == "龙胜镇桂石路和新华路交叉口" and ticket.event_time == "一个多月了"
    assert ticket.text.startswith("路灯坏了一个多月了")


def test_a_contact_phone_is_asked_on_the_web_and_not_of_a_caller_id(deploy):
    hotline, client = deploy("guizhou")
    web = Chat(client)
    asked = web.say("幸福小区3号楼门口的路灯坏了一个星期了")
    assert (asked["action"], asked["reply"]) == ("ask", "方便留一个联系电话吗？")
    assert web.say("13800001234")["action"] == "ticket"
    sms = hotline.handle(
        Message(channel="sms", sender="+8613912345678", text="幸福小区5号楼门口的路灯坏了一个星期了")
    )
    assert sms.action == "ticket"  # the caller ID is a contact phone: nothing to ask
    by_web, by_sms = tickets(hotline)
    assert by_web.contact_phone == "13800001234" and by_sms.contact_phone == "+8613912345678"


def test_every_missing_fact_is_asked_in_one_turn_and_answered_in_one(deploy):
    hotline, client = deploy("guizhou")
    chat = Chat(client)
    asked = chat.say("路灯坏了一个多月了，晚上走路很危险，一直没人管")
    assert asked["action"] == "ask"
    assert asked["reply"] == "请问这件事发生在什么地方（乡镇、村或街道、小区）？方便留一个联系电话吗？"
    assert chat.say("在桂石路和新华路交叉口，电话13800001234")["action"] == "ticket"
    (ticket,) = tickets(hotline)
    assert ticket.location == "桂石路" and ticket.contact_phone == "13800001234"


def test_not_willing_to_give_a_phone_files_it_anyway_where_the_pack_declines_nothing(deploy):
    hotline, client = deploy("guizhou")
    chat = Chat(client)
    assert chat.say("幸福小区3号楼门口的路灯坏了一个星期了")["action"] == "ask"
    assert chat.say("不方便留电话")["action"] == "ticket"
    (ticket,) = tickets(hotline)
    assert ticket.disposition == "dispatched" and ticket.contact_phone is None


@pytest.mark.parametrize(
    "answer, action, name, phone",
    [
        ("姓王，13800001234", "ticket", "姓王", "13800001234"),
        ("张伟 13800001234", "ticket", "张伟", "13800001234"),
        ("我叫李秀英，电话是0915-8421234", "ticket", "李秀英", "0915-8421234"),
        ("不方便说", "decline", None, None),
        ("不想留名字和电话", "decline", None, None),
    ],
)  # fmt: skip
def test_a_rights_claim_asks_for_name_and_phone_and_a_refusal_is_declined_under_002(
    deploy, answer, action, name, phone
):
    hotline, client = deploy("pingli")
    chat = Chat(client)
    asked = chat.say("我要投诉幸福小区门口的华润超市卖过期牛奶")
    assert (asked["action"], asked["reply"]) == ("ask", "请问您贵姓？方便留一个联系电话吗？")
    done = chat.say(answer)
    assert done["action"] == action
    (ticket,) = tickets(hotline)  # one matter, whatever the answer
    assert (ticket.citizen_name, ticket.contact_phone) == (name, phone)
    if action == "decline":
        assert done["decline_reason"] == "anonymous_rights" and done["basis"] == "002 第七条(十)"
        assert "第七条第（十）项" in done["reply"] and ticket.disposition == "declined"


@pytest.mark.parametrize(
    "answer, action",
    [("昨天下午，是楼下的烧烤店", "ticket"), ("不知道", "ticket"), ("记不清了", "ticket"),
     ("不想说", "decline")],
)  # fmt: skip
def test_time_and_parties_under_001_and_a_refusal_may_be_declined(deploy, answer, action):
    hotline, client = deploy("liaoyang")
    chat = Chat(client)
    asked = chat.say("我要投诉幸福小区门口有人乱倒垃圾")
    assert (asked["action"], asked["reply"]) == (
        "ask",
        "大概是什么时候发生的？涉及哪家单位、商家或哪些人？" + CONSENT_QUESTION,
    )
    done = chat.say(answer)
    assert done["action"] == action
    (ticket,) = tickets(hotline)
    if action == "decline":
        assert (done["decline_reason"], done["basis"]) == ("incomplete", "001 第十三条(四)")
        assert "第十三条第（四）项" in done["reply"]
    if answer.startswith("昨天"):
        assert (ticket.event_time, ticket.parties) == ("昨天下午", "烧烤店")


def test_a_greeting_while_waiting_asks_the_same_question_again(deploy):
    _, client = deploy("pingli")
    chat = Chat(client)
    asked = chat.say("我要投诉幸福小区门口的华润超市卖过期牛奶")
    again = chat.say("你好")
    assert again["action"] == "move" and again["reply"].endswith(asked["reply"])


def test_what_the_first_message_gives_is_not_asked(deploy):
    hotline, client = deploy("pingli")
    chat = Chat(client)
    done = chat.say("我叫张伟，电话13800001234，我要投诉幸福小区门口的华润超市卖过期牛奶")
    assert done["action"] == "ticket"
    (ticket,) = tickets(hotline)
    assert (ticket.citizen_name, ticket.contact_phone, ticket.parties) == ("张伟", "13800001234", "华润超市")


# ---------------------------------------------------------------- who the unit may know (001 第二十四条)


def unit_view_of(hotline, number: str) -> dict:
    with hotline.db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        return hotline.lifecycle.unit_view(session, ticket)


@pytest.mark.parametrize(
    "answer, consent",
    [("昨天下午，是楼下的烧烤店，同意", True), ("昨天下午，是楼下的烧烤店，不同意", False),
     ("昨天下午，是楼下的烧烤店", None)],
)  # fmt: skip
def test_under_001_the_unit_sees_who_the_citizen_is_only_when_they_agreed(deploy, answer, consent):
    hotline, client = deploy("liaoyang")
    chat = Chat(client)
    chat.say("我叫张伟，电话13800001234，我要投诉幸福小区门口有人乱倒垃圾")
    done = chat.say(answer)
    assert done["action"] == "ticket"
    (ticket,) = tickets(hotline)
    assert ticket.contact_consent is consent
    view = unit_view_of(hotline, ticket.number)
    assert view["confidential"] is False
    if consent:
        assert (view["citizen_name"], view["contact_phone"]) == ("张伟", "13800001234")
    else:
        assert (view["citizen_name"], view["contact_phone"], view["citizen"]) == (None, None, None)
        assert "张伟" not in view["text"] and "13800001234" not in view["text"]


def test_elsewhere_the_unit_sees_the_contact_unless_the_citizen_asks_for_confidentiality(deploy):
    hotline, _ = deploy("longsheng")
    plain = hotline.handle(
        Message(channel="sms", sender="+8613912345678", text="幸福小区3号楼门口的路灯坏了一个星期了")
    )
    secret = hotline.handle(
        Message(
            channel="sms", sender="+8613912345670", text="幸福小区5号楼门口的路灯坏了一个星期了，请为我保密"
        )
    )
    assert unit_view_of(hotline, plain.ticket.number)["contact_phone"] == "+8613912345678"
    assert unit_view_of(hotline, secret.ticket.number)["contact_phone"] is None
