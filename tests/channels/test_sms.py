"""The SMS channel end to end: Twilio-signed form posts in, TwiML out, pages of at most two segments."""

from __future__ import annotations

import dataclasses
import itertools
import math
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app import create_app
from channels.errors import KEPT, apology
from channels.senders import build_senders
from channels.sms import MEDIA_REPLY, render
from intake.core.config import Settings
from intake.core.messages import Candidate, Outcome
from intake.core.models import ChannelEvent, ContactPreference, InboundMessage, Ticket
from intake.core.preferences import OPT_IN_REPLY, OPT_OUT_REPLY
from intake.sms_exchange import LAST_PAGE
from kb.answer_forms import MORE
from routing.surveys import SurveyRequest, ratings
from tests.fakes import fake_twilio

TOKEN = "twilio-auth-token"
URL = "http://localhost/sms/incoming"
PHONE = "+8613912345678"
OUR_NUMBER = "+8675512345"
FIRE = "邻居家阳台冒出火光，好像着火了"
LOST_CARD = "社保卡丢了怎么补办"
COURT = "法院判决了对方一直不执行怎么办"
PRIVACY = "帮我查一下邻居的手机号"
STREET_LIGHT = "瓢里镇瓢里街的路灯坏了一个多月了"


def ucs2_segments(body: str) -> int:
    """Segments Twilio bills for a Chinese SMS: UTF-16 code units, 70 alone, 67 each once split."""
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


class Phone:
    """A citizen's phone texting our Twilio number: every post is signed as Twilio signs it."""

    _sids = itertools.count(1)

    def __init__(self, client, number: str = PHONE) -> None:
        self.client = client
        self.number = number

    def post(self, params: dict[str, str], signature: str | None = None):
        signature = signature or RequestValidator(TOKEN).compute_signature(URL, params)
        return self.client.post("/sms/incoming", data=params, headers={"X-Twilio-Signature": signature})

    def params(self, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
        return {
            "MessageSid": sid or f"SM{next(self._sids):032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": self.number,
            "To": OUR_NUMBER,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def send(self, body: str, sid: str | None = None, **extra: str) -> list[str]:
        """Text ``body``; return the bodies of the TwiML reply's ``<Message>`` elements."""
        response = self.post(self.params(body, sid, **extra))
        assert response.status_code == 200, response.text
        return twiml_messages(response)

    def text(self, body: str, **extra: str) -> str:
        (reply,) = self.send(body, **extra)
        return reply


def twiml_messages(response) -> list[str]:
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [child.text or "" for child in root]


@pytest.fixture
def sms_hotline(demo):
    demo.settings = dataclasses.replace(demo.settings, twilio_auth_token=TOKEN, rate_limit="20/minute")
    return demo


@pytest.fixture
def sms_app(sms_hotline):
    return create_app({"hotline": sms_hotline, "TESTING": True})


@pytest.fixture
def phone(sms_app):
    return Phone(sms_app.test_client())


def count(hotline, model, *where) -> int:
    with hotline.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def tickets(hotline) -> list[Ticket]:
    with hotline.db.session() as session:
        rows = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        session.expunge_all()
        return list(rows)


# ---------------------------------------------------------------- the pipeline's answers, by SMS


@pytest.mark.parametrize(
    "text, lines",
    [(FIRE, ["119"]), ("路口发生车祸了，有人受伤流了很多血", ["122", "120"])],
    ids=["fire", "road-accident"],
)
def test_an_emergency_is_told_to_call_the_line_now_in_one_page(phone, sms_hotline, text, lines):
    reply = phone.text(text)
    assert reply == sms_hotline.decide(text, channel="sms").reply
    assert f"请立即拨打{lines[0]}" in reply and all(line in reply for line in lines)
    assert MORE not in reply and ucs2_segments(reply) <= 2
    (ticket,) = tickets(sms_hotline)
    assert ticket.disposition == "transferred" and ticket.transfer_to == lines[0]


def test_a_long_answer_is_paged_and_1_gives_the_next_page(phone, sms_hotline):
    answer = sms_hotline.decide(LOST_CARD, channel="sms").reply
    assert ucs2_segments(answer) > 2  # the demo entry is long enough to need pages

    pages = [phone.text(LOST_CARD)]
    while pages[-1].endswith(MORE):
        assert len(pages) < 10
        pages.append(phone.text("1"))

    assert len(pages) >= 3
    assert all(ucs2_segments(page) <= 2 for page in pages)
    assert "".join(page.removesuffix(MORE) for page in pages) == answer.replace("\n", "")
    (ticket,) = tickets(sms_hotline)  # asking for more pages raised no new matter
    assert ticket.disposition == "answered"
    assert count(sms_hotline, InboundMessage) == len(pages)  # every text received is kept

    # nothing is left to show: "1" is told so (issue 16: it used to become a new matter), and only
    # once: a second "1" refers to nothing here and goes to the pipeline like any other text
    assert phone.text("1") == LAST_PAGE
    assert len(tickets(sms_hotline)) == 1
    assert phone.text("1") == sms_hotline.decide("1", channel="sms").reply


def test_while_a_clarify_list_is_open_1_picks_the_first_choice(phone, sms_hotline):
    offered = sms_hotline.decide("公积金", channel="sms")
    assert offered.action == "clarify"

    listing = phone.text("公积金")
    assert MORE not in listing and ucs2_segments(listing) <= 2
    first = phone.text("1")

    chosen = offered.candidates[0].kb_id
    (ticket,) = tickets(sms_hotline)
    assert ticket.disposition == "answered" and ticket.kb_public_id == chosen
    assert first.removesuffix(MORE) in sms_hotline.decide(offered.candidates[0].question).reply


def test_a_clarify_list_too_long_for_two_segments_is_shortened_never_paged():
    questions = [
        f"第{i}种情况下，" + "住房公积金可以在哪些情况下提取以及需要准备哪些材料" * 2 for i in (1, 2, 3)
    ]
    candidates = [Candidate(f"kb-{i}", q, 0.6) for i, q in enumerate(questions, 1)]
    lines = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    outcome = Outcome(
        action="clarify", reply=f"请回复序号：\n{lines}", candidates=candidates, category="consult"
    )

    page = render(outcome)

    assert page.rest == "" and MORE not in page.body
    assert ucs2_segments(page.body) <= 2
    assert all(f"{i}.第{i}种情况下" in page.body for i in (1, 2, 3))


@pytest.mark.parametrize("text", [COURT, PRIVACY], ids=["redirect", "decline"])
def test_redirects_and_declines_say_why_in_full(phone, sms_hotline, text):
    decided = sms_hotline.decide(text, channel="sms")
    reply = phone.text(text)
    assert reply == decided.reply and ucs2_segments(reply) <= 2
    (ticket,) = tickets(sms_hotline)
    assert ticket.disposition == {"redirect": "redirected", "decline": "declined"}[decided.action]


def test_a_ticket_reply_carries_its_number_and_the_number_looks_it_up(phone, sms_hotline):
    reply = phone.text(STREET_LIGHT)

    (ticket,) = tickets(sms_hotline)
    assert ticket.disposition == "dispatched"
    assert reply.startswith(f"工单号：{ticket.number}。") and ucs2_segments(reply) <= 2

    status = phone.text(f"查询 {ticket.number}")
    assert status.startswith(f"工单{ticket.number}：已转交承办单位。") and "瓢里镇人民政府" in status

    stranger = Phone(phone.client, "+8613800000001")
    assert "没有查到" in stranger.text(f"查询 {ticket.number}")
    assert "已转交承办单位" in stranger.text(f"查询 {ticket.number} {PHONE[-4:]}")
    assert len(tickets(sms_hotline)) == 1  # look-ups raise no matter


# ---------------------------------------------------------------- "1": more, or not


def ask_survey(hotline, number: str) -> None:
    with hotline.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        hotline.surveys.ask(session, ticket, hotline.clock())
        session.commit()
    assert len(hotline.outbox.deliver_due({"sms": _Accepting()}).sent) == 1


def test_1_answers_what_was_sent_last_a_survey_sent_after_the_page_takes_it(phone, sms_hotline, clock):
    phone.text(STREET_LIGHT)
    (ticket,) = tickets(sms_hotline)
    assert phone.text(LOST_CARD).endswith(MORE)
    clock.now += timedelta(minutes=5)
    ask_survey(sms_hotline, ticket.number)

    thanks = phone.text("1")

    with sms_hotline.db.session() as session:
        survey = session.scalars(select(SurveyRequest)).one()
        assert survey.status == "answered" and survey.rating == ratings(sms_hotline.policy)[0]
    assert MORE not in thanks and "感谢" in thanks


def test_once_opted_out_an_sms_citizen_is_not_sent_a_survey(phone, sms_hotline):
    phone.text(STREET_LIGHT)
    (ticket,) = tickets(sms_hotline)
    phone.text("退订")
    with sms_hotline.db.session() as session:
        sms_hotline.surveys.ask(session, session.get(Ticket, ticket.id), sms_hotline.clock())
        session.commit()
    assert sms_hotline.outbox.pending("sms") == []


def test_1_the_next_day_no_longer_means_more(phone, sms_hotline, clock):
    assert phone.text(LOST_CARD).endswith(MORE)
    clock.now += timedelta(hours=25)
    assert phone.text("1") == sms_hotline.decide("1", channel="sms").reply


def test_pages_belong_to_their_sender(phone, sms_hotline):
    assert phone.text(LOST_CARD).endswith(MORE)
    other = Phone(phone.client, "+8613800000002")
    assert other.text("1") == sms_hotline.decide("1", channel="sms").reply


class _Accepting:
    def send(self, recipient: str, body: str) -> str:
        return "SM-notice"


# ---------------------------------------------------------------- 退订 / 订阅


def preference(hotline) -> bool | None:
    with hotline.db.session() as session:
        return session.scalar(
            select(ContactPreference.no_surveys).where(
                ContactPreference.channel == "sms", ContactPreference.sender == PHONE
            )
        )


@pytest.mark.parametrize(
    "stop, start", [("退订", "订阅"), ("TD", "START"), ("STOP", "start"), ("取消", "订阅")]
)
def test_opting_out_of_surveys_and_back_in(phone, sms_hotline, stop, start):
    assert phone.text(stop) == OPT_OUT_REPLY
    assert preference(sms_hotline) is True
    assert phone.text(start) == OPT_IN_REPLY
    assert preference(sms_hotline) is False
    assert tickets(sms_hotline) == []  # a preference is not a matter
    assert count(sms_hotline, InboundMessage) == 2  # but both texts are kept
    assert all(ucs2_segments(reply) == 1 for reply in (OPT_OUT_REPLY, OPT_IN_REPLY))


def test_twilio_advanced_opt_out_keywords_are_recorded_without_a_second_confirmation(phone, sms_hotline):
    # Twilio has answered the keyword configured in the Messaging Service already
    assert phone.send("停止回访", OptOutType="STOP") == []
    assert preference(sms_hotline) is True
    assert phone.send("恢复回访", OptOutType="START") == []
    assert preference(sms_hotline) is False


# ---------------------------------------------------------------- what cannot be trusted or read


def test_a_forged_or_missing_signature_is_refused_and_nothing_is_stored(phone, sms_hotline):
    params = phone.params(STREET_LIGHT)
    forged = RequestValidator("not-the-token").compute_signature(URL, params)
    assert phone.post(params, signature=forged).status_code == 403
    tampered = RequestValidator(TOKEN).compute_signature(URL, {**params, "Body": "别的内容"})
    assert phone.post(params, signature=tampered).status_code == 403
    assert phone.client.post("/sms/incoming", data=params).status_code == 403
    assert count(sms_hotline, InboundMessage) == 0 and tickets(sms_hotline) == []


def test_an_oversized_body_is_refused_before_it_is_read(phone, sms_hotline):
    params = phone.params("路灯坏了" * 70_000)  # ~840 KB once form-encoded
    assert phone.post(params, signature="unchecked").status_code == 413
    assert count(sms_hotline, InboundMessage) == 0


def test_a_long_text_within_the_limit_is_stored_whole_and_answered(phone, sms_hotline):
    body = STREET_LIGHT + "，晚上走路很不安全。" * 400  # far beyond HOTLINE_MAX_TEXT, under 256 KiB
    reply = phone.text(body)
    assert "工单号" in reply and ucs2_segments(reply) <= 2
    with sms_hotline.db.session() as session:
        assert session.scalars(select(InboundMessage.text)).one() == body


def test_a_retried_webhook_gets_the_same_reply_and_creates_nothing_twice(phone, sms_hotline):
    first = phone.send(STREET_LIGHT, sid="SMretried")
    again = phone.send(STREET_LIGHT, sid="SMretried")
    assert first == again and "工单号" in first[0]
    assert len(tickets(sms_hotline)) == 1 and count(sms_hotline, InboundMessage) == 1


def test_a_retried_request_for_more_gets_the_same_page(phone, sms_hotline):
    phone.text(LOST_CARD)
    second = phone.send("1", sid="SMmore")
    assert phone.send("1", sid="SMmore") == second
    third = phone.text("1")
    assert third != second[0]  # the retry did not move the citizen on a page


def test_a_sender_over_the_rate_limit_gets_no_reply_and_nothing_is_stored(sms_hotline):
    sms_hotline.settings = dataclasses.replace(sms_hotline.settings, rate_limit="3/minute")
    phone = Phone(create_app({"hotline": sms_hotline, "TESTING": True}).test_client())
    for _ in range(3):
        assert phone.send("你好") != []
    assert phone.send(STREET_LIGHT) == []
    assert count(sms_hotline, InboundMessage) == 3
    assert tickets(sms_hotline) == []  # a greeting is a conversation move, no matter (issue 16)
    assert Phone(phone.client, "+8613800000003").send("你好") != []  # others are not held up


@pytest.mark.parametrize(
    "body, extra, expected",
    [
        ("", {"NumMedia": "1", "MediaContentType0": "image/jpeg"}, MEDIA_REPLY),
        ("", {}, "no_content"),
        ("@@##%%……", {}, "no_content"),
        ("\x00\x00", {}, "no_content"),
    ],
    ids=["picture-only", "empty", "punctuation", "nul-bytes"],
)
def test_what_cannot_be_read_gets_a_polite_reply(phone, sms_hotline, body, extra, expected):
    reply = phone.text(body, **extra)
    no_content = sms_hotline.decide("", channel="sms").reply
    if expected == MEDIA_REPLY:  # the pack's own emergency numbers, not a fixed list
        expected = apology(MEDIA_REPLY, sms_hotline.policy)
        assert "紧急情况请直接拨打110、119、122、120" in expected
    assert reply == (no_content if expected == "no_content" else expected)
    (ticket,) = tickets(sms_hotline)  # still a contact, recorded
    assert ticket.disposition == "declined" and ticket.decline_reason == "no_content"
    assert count(sms_hotline, InboundMessage) == 1


def test_a_picture_with_a_caption_is_handled_by_its_caption(phone, sms_hotline):
    reply = phone.text(STREET_LIGHT, NumMedia="1", MediaContentType0="image/jpeg")
    assert "工单号" in reply


def test_when_the_pipeline_fails_the_text_is_kept_and_the_citizen_told(phone, sms_hotline, monkeypatch):
    def broken(ctx):
        raise RuntimeError("search index unavailable")

    monkeypatch.setattr(sms_hotline.triage, "run", broken)
    assert phone.text(STREET_LIGHT) == apology(KEPT, sms_hotline.policy)
    with sms_hotline.db.session() as session:
        stored = session.scalars(select(InboundMessage)).one()
        assert stored.status == "failed" and stored.text == STREET_LIGHT
    assert count(sms_hotline, ChannelEvent) == 0  # no reply recorded: a retry is processed afresh


# ---------------------------------------------------------------- outbound SMS through the provider


def test_outbox_sms_go_through_twilio_in_at_most_two_segments_each(sms_hotline, tmp_path):
    api = fake_twilio()
    try:
        env = {
            "HOTLINE_INSTANCE_PATH": str(tmp_path),
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": TOKEN,
            "HOTLINE_PUBLIC_URL": "http://localhost",
            "TWILIO_FROM_NUMBER": OUR_NUMBER,
            "TWILIO_API_BASE_URL": api.url,
        }
        senders = build_senders(Settings.from_env(env))
        texts = [FIRE, LOST_CARD, COURT, STREET_LIGHT, "公积金"]
        bodies = [render(sms_hotline.decide(text, channel="sms")).body for text in texts]
        with sms_hotline.db.session() as session:
            for i, body in enumerate(bodies):
                sms_hotline.outbox.enqueue(
                    session, key=f"reply-{i}", channel="sms", recipient=PHONE, body=body
                )
            session.commit()

        report = sms_hotline.outbox.deliver_due(senders)

        assert len(report.sent) == len(texts)
        sent = [request.form for request in api.sent("/Messages.json")]
        assert [form["Body"] for form in sent] == bodies
        assert all(form["To"] == PHONE and form["From"] == OUR_NUMBER for form in sent)
        segments = [ucs2_segments(form["Body"]) for form in sent]
        assert all(1 <= n <= 2 for n in segments)
        assert segments[texts.index(LOST_CARD)] == 2  # a paged answer fills both segments
    finally:
        api.close()


# ---------------------------------------------------------------- conversation moves (issue 16)


def test_thanks_no_more_by_sms_is_a_polite_close_with_no_ticket(phone, sms_hotline):
    phone.text(LOST_CARD)
    reply = phone.text("谢谢，没有了")
    assert reply == "不客气，感谢您的来信，再见。"
    assert [t.disposition for t in tickets(sms_hotline)] == ["answered"]


def test_hello_hello_by_sms_is_greeted_and_garbage_is_not_glued_to_the_complaint(phone, sms_hotline):
    assert phone.text("喂喂喂") == "您好，这里是12345热线，请问有什么可以帮您？"
    assert tickets(sms_hotline) == []
    assert "什么地方" not in phone.text("asdkjh qwe 啊啊啊 ;;;; zzz")
    reply = phone.text(STREET_LIGHT)
    garbage, complaint = tickets(sms_hotline)
    assert garbage.disposition == "declined"
    assert complaint.text == STREET_LIGHT and complaint.disposition == "dispatched"
    assert reply.startswith(f"工单号：{complaint.number}")


def test_asking_for_a_person_by_sms_does_not_claim_a_transfer(phone, sms_hotline):
    reply = phone.text("转人工")
    assert "正在为您转接" not in reply and "12345" in reply and ucs2_segments(reply) <= 2
    assert tickets(sms_hotline) == []
