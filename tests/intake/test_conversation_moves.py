"""Conversation moves in a conversation (issue 16, item 1), through the JSON API the web chat uses.

A move makes no ticket, no knowledge gap and no consultation in the figures; a closer says what becomes
of a matter still waiting; "重复一遍" repeats the last reply; "不是这个" takes the next message afresh;
garbage is asked again and never glued to the next message.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from intake.core.messages import Message
from intake.core.models import Ticket
from intake.stats import compute
from kb.models import KbGap
from tests.conftest import TZ, make_hotline
from tests.contract import CONTRACT_KEYS

GARBAGE = "asdkjh qwe 啊啊啊 ;;;; zzz"
COMPLAINT = "瓢里镇瓢里街的路灯坏了一个多月了，晚上黑漆漆的没人管"
NO_PLACE = "有人在河边偷排污水，水都变黑了"
QUESTION = "社保卡丢了咋办"


class Chat:
    """One browser of the web chat: every message posted to /api/v1/messages with the same sender."""

    def __init__(self, client, sender: str = "web-moves") -> None:
        self.client = client
        self.sender = sender

    def say(self, text: str) -> dict:
        response = self.client.post(
            "/api/v1/messages", json={"channel": "web", "sender": self.sender, "text": text}
        )
        assert response.status_code == 200, response.json
        body = response.json
        assert set(body) >= CONTRACT_KEYS | {"move"}
        return body


@pytest.fixture
def chat(client) -> Chat:
    return Chat(client)


def tickets(hotline) -> list[Ticket]:
    with hotline.db.session() as session:
        rows = session.scalars(select(Ticket).options(selectinload(Ticket.events)).order_by(Ticket.id)).all()
        session.expunge_all()
        return list(rows)


def gaps(hotline) -> int:
    with hotline.db.session() as session:
        return session.scalar(select(func.count()).select_from(KbGap))


def test_thanks_and_no_more_after_an_answer_is_a_polite_close_with_no_ticket_and_no_gap(chat, demo):
    assert chat.say(QUESTION)["action"] == "answer"
    closed = chat.say("谢谢，没有了")
    assert (closed["action"], closed["move"]) == ("move", "closing")
    assert closed["reply"] == "不客气，感谢您的来信，再见。"
    assert closed["ticket"] is None and closed["category"] is None
    assert [t.disposition for t in tickets(demo)] == ["answered"]
    assert gaps(demo) == 0


@pytest.mark.parametrize(
    "text, move",
    [("喂喂喂", "greeting"), ("你好", "greeting"), ("在吗", "greeting"), ("有人吗", "greeting"),
     ("谢谢", "thanks"), ("麻烦你了", "thanks"), ("没有了", "closing"), ("好的", "ack"), ("再见", "closing"),
     ("没别的事了", "closing"), ("嗯", "ack"), ("好", "ack"), ("知道了", "ack"), ("明白", "ack"),
     ("转人工", "agent"), ("我要找人工", "agent"), ("重复一遍", "repeat"), ("再说一遍", "repeat"),
     ("不是这个", "not_it")],
)  # fmt: skip
def test_every_move_alone_makes_no_ticket_no_gap_and_no_consultation(chat, demo, text, move):
    body = chat.say(text)
    assert (body["action"], body["move"]) == ("move", move)
    assert body["reply"] and body["ticket"] is None
    assert tickets(demo) == [] and gaps(demo) == 0
    with demo.db.session() as session:
        stats = compute(session, date(2026, 11, 23), date(2026, 11, 23), TZ)
    assert (stats.total, stats.consultations) == (0, 0)


def test_a_greeting_is_answered_as_an_operator_answers_the_phone(chat):
    assert chat.say("喂喂喂")["reply"] == "您好，这里是12345热线，请问有什么可以帮您？"


def test_a_greeting_with_a_matter_is_the_matter(chat, demo):
    body = chat.say("你好，我家门口路灯坏了")
    assert body["action"] == "ticket" and body["move"] is None  # 门口 says where
    [ticket] = tickets(demo)
    assert ticket.text == "你好，我家门口路灯坏了" and ticket.disposition == "dispatched"
    assert chat.say("喂，瓢里镇瓢里街的路灯不亮")["action"] == "ticket"


def test_a_closer_while_the_place_is_awaited_says_the_matter_is_not_registered(chat, demo):
    assert chat.say(NO_PLACE)["action"] == "ask"
    closed = chat.say("没有了，再见")
    assert closed["move"] == "closing"
    assert "缺少发生地点" in closed["reply"] and "暂时无法登记" in closed["reply"]
    assert closed["reply"].endswith("不客气，感谢您的来信，再见。")
    [ticket] = tickets(demo)
    assert (ticket.disposition, ticket.status) == ("abandoned", "closed")
    assert ticket.events[-1].data == {"reason": "closed_by_citizen"}
    assert chat.say(COMPLAINT)["action"] == "ticket"  # the next message is a matter of its own
    assert [t.disposition for t in tickets(demo)] == ["abandoned", "dispatched"]


def test_an_acknowledgement_while_the_place_is_awaited_asks_for_it_again(chat, demo):
    assert chat.say(NO_PLACE)["action"] == "ask"
    body = chat.say("好的")
    assert body["move"] == "ack" and "什么地方" in body["reply"]
    assert chat.say("平等镇龙坪村那条河")["action"] == "ticket"
    [ticket] = tickets(demo)
    assert ticket.disposition == "dispatched" and ticket.location == "平等镇龙坪村那条河"
    assert "偷排污水" in ticket.text


def test_a_closer_during_a_clarify_list_says_nothing_was_answered(chat, demo):
    assert chat.say("公积金")["action"] == "clarify"
    closed = chat.say("好的再见")
    assert closed["move"] == "closing" and "没有选定" in closed["reply"]
    [ticket] = tickets(demo)
    assert ticket.disposition == "abandoned"


def test_repeat_gives_the_last_reply_again_and_keeps_the_list_open(chat, demo):
    listed = chat.say("公积金")
    again = chat.say("再说一遍")
    assert (again["action"], again["move"]) == ("move", "repeat")
    assert again["reply"] == listed["reply"] and again["candidates"] == listed["candidates"]
    picked = chat.say("2")  # the list is still the one the citizen is choosing from
    assert picked["action"] == "answer" and picked["kb_id"] == listed["candidates"][1]["kb_id"]
    assert [t.disposition for t in tickets(demo)] == ["answered"]


def test_repeat_after_an_answer_and_with_nothing_said_yet(chat):
    first = chat.say("重复一遍")
    assert first["move"] == "repeat" and "请您直接说明" in first["reply"]
    answer = chat.say(QUESTION)
    assert chat.say("重复一遍")["reply"] == answer["reply"]
    assert chat.say("重复一遍")["reply"] == answer["reply"]  # a repeat of a repeat is the same


def test_not_it_after_a_clarify_list_takes_the_next_message_as_the_matter(chat, demo):
    assert chat.say("公积金")["action"] == "clarify"
    not_it = chat.say("不是这个")
    assert not_it["move"] == "not_it" and "自己的话" in not_it["reply"]
    fresh = chat.say(COMPLAINT)
    assert fresh["action"] == "ticket"  # not read as a choice, nor as the list's follow-up
    [ticket] = tickets(demo)
    assert ticket.text == COMPLAINT and ticket.disposition == "dispatched"


def test_not_it_after_an_answer_is_noted_on_the_answered_matter(chat, demo):
    assert chat.say(QUESTION)["action"] == "answer"
    assert chat.say("不是这个")["move"] == "not_it"
    assert chat.say(COMPLAINT)["action"] == "ticket"
    answered, dispatched = tickets(demo)
    assert answered.disposition == "answered" and answered.events[-1].kind == "not_it"
    assert dispatched.text == COMPLAINT


def test_asking_for_a_person_by_text_says_honestly_what_happens(chat, demo):
    body = chat.say("转人工")
    assert body["move"] == "agent"
    assert "不能直接转接" in body["reply"] and "正在为您转接" not in body["reply"]
    assert "12345" in body["reply"] and "24小时" in body["reply"]  # longsheng: always staffed
    assert tickets(demo) == []


def test_garbage_is_asked_again_and_the_next_complaint_is_its_own_matter(chat, demo):
    body = chat.say(GARBAGE)
    assert (body["action"], body["decline_reason"]) == ("decline", "no_content")
    assert "什么地方" not in body["reply"]
    done = chat.say(COMPLAINT)
    assert done["action"] == "ticket"
    garbage, complaint = tickets(demo)
    assert garbage.disposition == "declined" and garbage.text == GARBAGE
    assert complaint.text == COMPLAINT and complaint.location == "瓢里镇瓢里街"  # its own place, not the mash
    assert complaint.disposition == "dispatched"


def test_garbage_while_the_place_is_awaited_is_not_taken_for_the_place(chat, demo):
    assert chat.say(NO_PLACE)["action"] == "ask"
    body = chat.say(GARBAGE)
    assert body["action"] == "ask" and "没能明白" in body["reply"] and "什么地方" in body["reply"]
    assert chat.say("平等镇龙坪村那条河")["action"] == "ticket"
    [ticket] = tickets(demo)
    assert ticket.location == "平等镇龙坪村那条河" and GARBAGE not in ticket.text


def test_the_same_phrases_on_the_stateless_triage_are_unchanged(client):
    # hotline triage / POST /api/v1/triage decide without a conversation: the pack's rules as before
    assert client.post("/api/v1/triage", json={"text": "你好！"}).json["decline_reason"] == "no_content"


def test_asking_for_a_person_gives_the_packs_staffed_hours(settings, clock, tmp_path):
    pack = tmp_path / "wengyuan-hours.yaml"
    pack.write_text('base: wengyuan\nhours:\n  staffed: ["08:00-12:00", "14:30-17:30"]\n')
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy=str(pack))
    try:
        reply = hotline.handle(Message(channel="wechat", sender="o1", text="人工客服")).reply
        assert "08:00-12:00、14:30-17:30" in reply and "24小时" not in reply
    finally:
        hotline.db.dispose()
