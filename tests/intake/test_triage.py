"""The pipeline's order: emergencies first, then redirects and declines, then the knowledge base, then a
ticket; and the conversation state that lets a follow-up complete a ticket."""

from __future__ import annotations

import pytest

from intake.core.messages import Message
from intake.triage import decline_step, emergency_step, knowledge_step, redirect_step, ticket_step


def test_steps_run_in_the_documented_order(demo):
    assert demo.triage.steps == [emergency_step, redirect_step, decline_step, knowledge_step, ticket_step]


@pytest.mark.parametrize(
    "text, line",
    [
        ("家里厨房一股很冲的煤气味，燃气公司电话多少", "119"),  # the gas-account entry must not answer
        ("我奶奶在卫生间摔倒了头一直流血，医保能报吗", "120"),
        ("公交车刚刚在桂石路撞了一个行人", "122"),
    ],
)
def test_an_emergency_is_never_answered_from_the_knowledge_base(demo, text, line):
    outcome = demo.decide(text)
    assert outcome.action == "transfer"
    assert outcome.transfer_to == line
    assert outcome.kb_id is None


@pytest.mark.parametrize(
    "text",
    [
        "消防安全检查合格证怎么办理",
        "救护车的费用医保能报销吗",
        "110可以发短信报警吗",
        "燃气费怎么在手机上交",
        "去火车站坐几路车",
    ],
)
def test_routine_questions_that_mention_emergency_words_are_not_transferred(demo, text):
    assert demo.decide(text).action != "transfer"


def test_a_complaint_naming_a_kb_topic_becomes_a_ticket_not_an_answer(demo):
    outcome = demo.decide("社保卡窗口的工作人员态度很差，让我跑了三趟")
    assert outcome.action == "ticket"
    assert outcome.category == "complaint"
    assert outcome.kb_id is None


def test_a_redirect_comes_before_the_knowledge_base(demo):
    outcome = demo.decide("我想起诉社保局，医保报销的钱一直不给")
    assert outcome.action == "redirect" and outcome.redirect_to == "litigation"


def test_an_emergency_interrupts_a_pending_question(demo):
    first = demo.handle(Message(channel="web", sender="w1", text="有人在河边偷排污水"))
    assert first.action == "ask"
    second = demo.handle(Message(channel="web", sender="w1", text="救命！河边有个小孩掉进水里了"))
    assert second.action == "transfer" and second.transfer_to == "119"
    third = demo.handle(Message(channel="web", sender="w1", text="社保卡丢了咋办"))
    assert third.action == "answer"  # the pending question was dropped, nothing asks for a place


def test_the_voice_channel_is_told_it_is_being_put_through(demo):
    with demo.db.session() as session:
        units = demo.units(session)
        index = demo.kb.refresh(session)
    outcome = demo.triage.decide("我家着火了", now=demo.clock(), index=index, units=units, channel="voice")
    assert outcome.action == "transfer" and "转接119" in outcome.reply
    text = demo.triage.decide("我家着火了", now=demo.clock(), index=index, units=units, channel="sms")
    assert "拨打119" in text.reply


def test_a_conversation_left_idle_starts_afresh(demo, clock):
    from datetime import timedelta

    assert demo.handle(Message(channel="web", sender="w2", text="有人在河边偷排污水")).action == "ask"
    clock.now += timedelta(hours=2)
    outcome = demo.handle(Message(channel="web", sender="w2", text="平等镇龙坪村"))
    assert outcome.action != "ticket"  # a bare place name two hours later is not the old matter's place


def test_a_ticket_for_an_urgent_matter_is_due_in_hours(demo):
    outcome = demo.decide("龙胜镇桂石路的电线掉下来了，垂在人行道上")
    assert outcome.action == "ticket" and outcome.urgent is True
    assert outcome.due == "2026-11-24T10:00:00+08:00"  # 003 第十二条(二)7: within 24 hours


def test_every_answer_carries_a_version_to_read_aloud(demo):
    outcome = demo.decide("社保卡丢了咋办")
    assert outcome.action == "answer" and outcome.spoken_reply
    assert len(outcome.spoken_reply) <= 150 and "http" not in outcome.spoken_reply


@pytest.mark.parametrize(
    "text, answered_with",
    [
        ("三门镇下周哪天停电", "LS-POWER-0005"),
        ("龙胜镇停水到什么时候", "LS-WATER-0005"),
        ("平等镇下周哪天计划停电", None),  # 三门镇's notice is about another place
        ("泗水乡停水到什么时候", None),
    ],
)
def test_a_notice_about_one_town_does_not_answer_for_another(demo, text, answered_with):
    outcome = demo.decide(text)
    assert (outcome.kb_id if outcome.action == "answer" else None) == answered_with


def test_an_ordinary_message_is_checked_for_an_emergency_once(demo, monkeypatch):
    from routing import rules

    calls: list[object] = []
    real = rules.detect_emergency

    def counting(match, policy, semantic=None):
        calls.append(match)
        return real(match, policy, semantic)

    monkeypatch.setattr(rules, "detect_emergency", counting)
    from intake.core.messages import Message

    demo.handle(Message(channel="web", sender="web-once", text="社保卡丢了咋办"))
    assert len(calls) == 1
