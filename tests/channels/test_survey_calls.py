"""Satisfaction call-backs by phone, end to end: the worker places calls against a local fake of
Twilio's REST API, then Twilio's side of each call is played by signed webhooks (twilio's own
``RequestValidator``) following the TwiML we return."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app import create_app
from channels.survey_calls import callbacks_of, place_due_calls
from channels.twiml import digits_aloud
from intake.core.config import Settings
from intake.core.models import ChannelEvent, Ticket
from intake.core.tickets import find_ticket
from intake.hotline import Hotline
from routing.callbacks import CLAIM_LEASE, UNREACHABLE
from routing.deadlines import in_hours
from routing.policy import load
from routing.surveys import CallbackRequest, SurveyRequest
from tests.conftest import TZ, _empty_tables, load_demo_into
from tests.fakes import fake_twilio
from tests.routing.test_surveys import PHONE, replied_ticket

TOKEN = "callback-test-token"
ACCOUNT = "AC" + "1" * 32
OUR_NUMBER = "+15005550006"
PUBLIC = "https://hotline.example.org"


@pytest.fixture
def twilio_api():
    server = fake_twilio()
    yield server
    server.close()


@pytest.fixture
def make_phone(settings, clock, twilio_api):
    """A hotline with the demo county, Twilio's settings and a public URL, under ``policy``."""
    made: list[Hotline] = []

    def make(policy: str = "longsheng") -> Hotline:
        values = {
            "HOTLINE_DATABASE_URL": settings.database_url,
            "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
            "HOTLINE_POLICY": policy, "HOTLINE_PUBLIC_URL": PUBLIC, "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": OUR_NUMBER,
            "TWILIO_API_BASE_URL": twilio_api.url,
        }  # fmt: skip
        hotline = Hotline(Settings.from_env(values), clock=clock)
        _empty_tables(hotline.db)
        load_demo_into(hotline)
        made.append(hotline)
        return hotline

    yield make
    for hotline in made:
        hotline.db.dispose()


def web_client(hotline: Hotline):
    return create_app({"hotline": hotline, "TESTING": True}).test_client()


class OutboundCall:
    """One call-back as Twilio runs it: it fetches our URL, then follows the TwiML, all signed."""

    def __init__(self, client, placed) -> None:
        self.client = client
        self.url = placed.form["Url"]
        self.status_url = placed.form["StatusCallback"]
        self.to = placed.form["To"]
        self.sid = ""  # set by the test from the ticket's events (the fake made it up)
        self.twiml: ET.Element | None = None
        self.last: tuple[str, dict[str, str]] | None = None

    def request(self, url: str, **extra: str):
        params = {"CallSid": self.sid, "AccountSid": ACCOUNT, "From": OUR_NUMBER, "To": self.to,
                  "Direction": "outbound-api", "CallStatus": "in-progress", **extra}  # fmt: skip
        signature = RequestValidator(TOKEN).compute_signature(url, params)
        return self.client.post(
            url.removeprefix(PUBLIC), data=params, headers={"X-Twilio-Signature": signature}
        )

    def post(self, url: str, **extra: str) -> ET.Element:
        self.last = (url, extra)
        response = self.request(url, **extra)
        assert response.status_code == 200, response.data
        self.twiml = ET.fromstring(response.data)
        for element in self.twiml.iter("Say"):
            assert element.get("language") == "cmn-CN"
        return self.twiml

    def answer(self) -> ET.Element:
        return self.post(self.url)

    def press(self, digits: str) -> ET.Element:
        return self.post(self.twiml.find("Gather").get("action"), Digits=digits)

    def say(self, text: str) -> ET.Element:
        return self.post(self.twiml.find("Gather").get("action"), SpeechResult=text, Confidence="0.9")

    def retry(self) -> ET.Element:
        url, extra = self.last
        return self.post(url, **extra)

    def ends(self, status: str):
        response = self.request(self.status_url, CallStatus=status)
        assert response.status_code == 204
        return response


def said(twiml: ET.Element) -> str:
    return "".join(element.text or "" for element in twiml.iter("Say"))


def calls_placed(twilio_api) -> list:
    return twilio_api.sent("/Calls.json")


def place(hotline, twilio_api, client) -> OutboundCall:
    """The worker's pass places exactly one call; returns it with its CallSid."""
    before = len(calls_placed(twilio_api))
    assert place_due_calls(hotline) == 1
    assert len(calls_placed(twilio_api)) == before + 1
    call = OutboundCall(client, calls_placed(twilio_api)[-1])
    with hotline.db.session() as session:
        (survey,) = session.scalars(select(SurveyRequest)).all()
        ticket = session.get(Ticket, survey.ticket_id)
        placed = [e for e in ticket.events if e.kind == "callback_call_placed"]
        call.sid = placed[-1].data["call_sid"]
    return call


def state(hotline, number):
    with hotline.db.session() as session:
        ticket = find_ticket(session, number)
        surveys = session.scalars(select(SurveyRequest).where(SurveyRequest.ticket_id == ticket.id)).all()
        kinds = [e.kind for e in ticket.events]
        return ticket, [(s.status, s.rating) for s in surveys], kinds


def events(hotline, number, kind):
    with hotline.db.session() as session:
        return [e.data for e in find_ticket(session, number).events if e.kind == kind]


# ---------------------------------------------------------------- calling hours


@pytest.mark.parametrize(
    "clock_time, allowed",
    [("08:59", False), ("09:00", True), ("11:59", True), ("12:00", False), ("13:30", False),
     ("14:00", True), ("19:59", True), ("20:00", False), ("23:00", False), ("03:00", False)],
)  # fmt: skip
def test_calls_are_placed_only_in_the_morning_and_afternoon_to_evening(clock_time, allowed):
    hour, minute = map(int, clock_time.split(":"))
    hours = load("longsheng").survey.calls.hours  # common.yaml's deployment default
    assert in_hours(datetime(2026, 11, 28, hour, minute, tzinfo=TZ), TZ, hours) is allowed


def test_a_call_is_never_placed_outside_calling_hours(make_phone, twilio_api, clock):
    hotline = make_phone()
    clock.now = datetime(2026, 11, 23, 23, 0, tzinfo=TZ)
    replied_ticket(hotline, channel="voice")
    assert place_due_calls(hotline) == 0
    clock.now = datetime(2026, 11, 24, 8, 30, tzinfo=TZ)
    assert place_due_calls(hotline) == 0
    assert calls_placed(twilio_api) == []
    clock.now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)  # still within 003's 24 hours for an answer
    assert place_due_calls(hotline) == 1


# ---------------------------------------------------------------- who is called


def test_a_caller_is_called_back_but_a_texter_only_where_the_pack_says_after_a_day(
    make_phone, twilio_api, clock
):
    longsheng = make_phone("longsheng")  # 003: no callback_within
    replied_ticket(longsheng, channel="sms")
    clock.now += timedelta(days=1, hours=1)
    assert place_due_calls(longsheng) == 0

    liaoyang = make_phone("liaoyang")  # 001 第二十二条(二): call back within 3 working days
    clock.now = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
    replied_ticket(liaoyang, channel="sms")
    assert place_due_calls(liaoyang) == 0  # the SMS survey gets its day first
    clock.now += timedelta(days=1)
    assert place_due_calls(liaoyang) == 1
    assert calls_placed(twilio_api)[0].form["To"] == PHONE


def test_the_call_is_placed_with_our_signed_urls_and_status_callback(make_phone, twilio_api):
    hotline = make_phone()
    replied_ticket(hotline, channel="voice")
    assert place_due_calls(hotline) == 1
    assert place_due_calls(hotline) == 0  # one attempt at a time
    (placed,) = calls_placed(twilio_api)
    form = placed.form
    assert placed.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert form["To"] == PHONE and form["From"] == OUR_NUMBER
    assert form["Url"].startswith(f"{PUBLIC}/voice/callback/call?s=")
    assert form["StatusCallback"].startswith(f"{PUBLIC}/voice/callback/status?s=")
    assert "completed" in placed.body.decode()


# ---------------------------------------------------------------- the call


def test_satisfied_by_key_rates_and_closes_the_ticket(make_phone, twilio_api):
    hotline = make_phone()
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)

    twiml = call.answer()
    text = said(twiml)
    assert "龙胜各族自治县幺二三四五政务服务便民热线" in text
    assert digits_aloud(number) in text and "反映的是：幸福小区某号楼门口的路灯坏了一个星期了" in text
    assert "承办单位的答复是：已派人更换菜市场门口的路灯灯具" in text and "。。" not in text
    gather = twiml.find("Gather")
    assert gather.get("input") == "speech dtmf" and gather.get("language") == "cmn-Hans-CN"
    assert "满意请按1" in said(gather) and "不满意请按2" in said(gather)

    answered = call.press("1")
    assert "感谢您的评价" in said(answered) and answered.find("Hangup") is not None
    call.ends("completed")
    ticket, surveys, kinds = state(hotline, number)
    assert ticket.status == "closed" and surveys == [("answered", "满意")]
    assert events(hotline, number, "callback_answered")[0]["input"] == "dtmf"
    assert place_due_calls(hotline) == 0


def test_unsatisfied_by_speech_with_the_reason_on_the_ticket(make_phone, twilio_api):
    hotline = make_phone("pingli")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)
    call.answer()
    asked = call.say("不满意")
    assert "不满意的原因" in said(asked.find("Gather")) and asked.find("Gather").get("input") == "speech"
    done = call.say("路灯修好两天又不亮了")
    assert "您的意见已记录" in said(done)
    ticket, surveys, _ = state(hotline, number)
    assert surveys == [("answered", "不满意")] and ticket.status == "rehandling"  # 002 第十八条
    (reason,) = events(hotline, number, "callback_reason")
    assert reason["text"] == "路灯修好两天又不亮了"


def test_a_confidential_ticket_is_called_without_its_summary(make_phone, twilio_api):
    hotline = make_phone()
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    with hotline.db.session() as session:
        find_ticket(session, number).confidential = True
        session.commit()
    text = said(place(hotline, twilio_api, client).answer())
    assert digits_aloud(number) in text and "幸福小区" not in text and "反映的是" not in text


def test_a_rating_not_heard_is_asked_again_once(make_phone, twilio_api):
    hotline = make_phone()
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)
    call.answer()
    again = call.say("你们是哪里")
    assert "没有听清" in said(again) and again.find("Gather") is not None
    last = call.say("嗯")
    assert "没有收到您的评价" in said(last) and last.find("Hangup") is not None
    assert state(hotline, number)[1] == [("asked", None)]


# ---------------------------------------------------------------- unanswered calls


def no_answer_three_times(hotline, twilio_api, client, clock):
    """Three attempts in calling hours, the pack's retry_after (2 hours) apart; 12:00–14:00 is skipped."""
    first = place(hotline, twilio_api, client)
    first.ends("no-answer")
    clock.now = datetime(2026, 11, 23, 11, 0, tzinfo=TZ)
    assert place_due_calls(hotline) == 0  # too soon to retry
    clock.now = datetime(2026, 11, 23, 12, 30, tzinfo=TZ)
    assert place_due_calls(hotline) == 0  # lunch
    clock.now = datetime(2026, 11, 23, 14, 0, tzinfo=TZ)
    place(hotline, twilio_api, client).ends("busy")
    clock.now = datetime(2026, 11, 23, 16, 0, tzinfo=TZ)
    place(hotline, twilio_api, client).ends("no-answer")
    clock.now = datetime(2026, 11, 23, 18, 0, tzinfo=TZ)
    assert place_due_calls(hotline) == 0  # three attempts: no more
    assert len(calls_placed(twilio_api)) == 3


def test_three_unanswered_calls_count_as_satisfied_under_003(make_phone, twilio_api, clock):
    hotline = make_phone("longsheng")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    no_answer_three_times(hotline, twilio_api, client, clock)
    ticket, surveys, _ = state(hotline, number)
    assert surveys == [("defaulted", "满意")] and ticket.status == "closed"
    statuses = [e["status"] for e in events(hotline, number, "callback_call_status")]
    assert statuses == ["no-answer", "busy", "no-answer"]


def test_three_unanswered_calls_go_to_a_person_without_a_silence_rule(make_phone, twilio_api, clock):
    hotline = make_phone("liaoyang")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    no_answer_three_times(hotline, twilio_api, client, clock)
    with hotline.db.session() as session:
        (callback,) = session.scalars(select(CallbackRequest)).all()
        assert callback.reason == UNREACHABLE and callback.basis == "001 第二十二条(二)"
    assert state(hotline, number)[1] == [("asked", None)]  # an SMS answer still counts


# ---------------------------------------------------------------- idempotence and forgery


def test_a_retried_webhook_records_nothing_twice(make_phone, twilio_api, clock):
    hotline = make_phone("pingli")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)
    call.answer()
    first = call.press("3")
    assert ET.tostring(call.retry()) == ET.tostring(first)  # the same TwiML, the rating kept once
    call.say("没有人来处理")
    call.retry()
    call.ends("completed")
    call.ends("completed")
    _, surveys, kinds = state(hotline, number)
    assert surveys == [("answered", "不满意")]
    assert kinds.count("surveyed") == 1 and kinds.count("callback_answered") == 1
    assert kinds.count("callback_reason") == 1 and kinds.count("callback_call_status") == 1
    with hotline.db.session() as session:
        recorded = session.scalars(select(ChannelEvent.kind).where(ChannelEvent.ref == call.sid)).all()
    assert sorted(recorded) == ["rating", "reason", "status:completed"]


def test_unsigned_or_foreign_calls_are_refused(make_phone, twilio_api):
    hotline = make_phone()
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)
    forged = client.post(call.url.removeprefix(PUBLIC), data={"CallSid": call.sid},
                         headers={"X-Twilio-Signature": "forged"})  # fmt: skip
    assert forged.status_code == 403
    call.sid = "CA" + "9" * 32  # signed, but not a call we placed for this survey
    assert "系统出现故障" in said(call.answer())
    call.post(call.url.replace("call?", "rate?"), Digits="1")
    assert state(hotline, number)[1] == [("asked", None)]


# ---------------------------------------------------------------- the pack's calling rules


def test_calling_hours_and_attempts_come_from_the_pack(make_phone, twilio_api, clock, tmp_path):
    pack = tmp_path / "tight.yaml"
    pack.write_text(
        'base: longsheng\nname: tight\nsurvey:\n  calls:\n    hours: ["10:30-11:00"]\n    attempts: 1\n',
        encoding="utf-8",
    )
    hotline = make_phone(str(pack))
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    assert place_due_calls(hotline) == 0  # 10:00 is outside this pack's one window
    clock.now = datetime(2026, 11, 23, 10, 30, tzinfo=TZ)
    place(hotline, twilio_api, client).ends("no-answer")
    ticket, surveys, _ = state(hotline, number)
    assert surveys == [("defaulted", "满意")]  # one attempt only, then 003's silence rule


# 000 sets no call-back rules of its own (第十七条's 连续2天…视为已答复 is the unit's reply, not the survey):
# the deployment's defaults apply, and a citizen the calls never reach goes to a person (000 第十九条)
def test_000_call_backs_follow_the_defaults_and_an_unreached_citizen_goes_to_a_person(
    make_phone, twilio_api, clock
):
    hotline = make_phone("wengyuan")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    place(hotline, twilio_api, client).ends("no-answer")  # Monday 10:00
    for hour, status in ((14, "busy"), (16, "no-answer")):
        clock.now = datetime(2026, 11, 23, hour, 0, tzinfo=TZ)
        place(hotline, twilio_api, client).ends(status)
    ticket, surveys, _ = state(hotline, number)
    assert events(hotline, number, "callback_unreachable") == []  # never "counts as replied"
    assert ticket.status != "closed"
    with hotline.db.session() as session:
        (callback,) = session.scalars(select(CallbackRequest)).all()
        assert callback.reason == UNREACHABLE and callback.basis == "000 第十九条"
    clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    assert place_due_calls(hotline) == 0  # three attempts, then the person's call


# ---------------------------------------------------------------- the citizen's wish for calls


def text_hotline(client, body: str, sid: str, sender: str = PHONE) -> str:
    """An SMS from ``sender`` as Twilio posts it, signed; returns our reply."""
    params = {"MessageSid": sid, "AccountSid": ACCOUNT, "From": sender, "To": OUR_NUMBER, "Body": body,
              "NumMedia": "0"}  # fmt: skip
    signature = RequestValidator(TOKEN).compute_signature(f"{PUBLIC}/sms/incoming", params)
    response = client.post("/sms/incoming", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.data
    return "".join(m.text or "" for m in ET.fromstring(response.data).iter("Message"))


def test_a_texter_who_asks_for_calls_is_called_at_once(make_phone, twilio_api, clock):
    hotline = make_phone("longsheng")  # 003 never calls a texter on its own
    client = web_client(hotline)
    assert "电话" in text_hotline(client, "电话回访", "SM" + "1" * 32)
    number, _ = replied_ticket(hotline, channel="sms")
    assert place_due_calls(hotline) == 1 and calls_placed(twilio_api)[0].form["To"] == PHONE


def test_a_later_退订_undoes_the_wish_for_calls_and_短信回访_too(make_phone, twilio_api, clock):
    hotline = make_phone("longsheng")
    client = web_client(hotline)
    text_hotline(client, "要电话", "SM" + "1" * 32)
    text_hotline(client, "退订", "SM" + "2" * 32)
    replied_ticket(hotline, channel="sms")
    assert place_due_calls(hotline) == 0
    text_hotline(client, "电话回访", "SM" + "3" * 32)  # 退订 then 电话回访: the latest wish counts
    assert place_due_calls(hotline) == 1
    text_hotline(client, "短信回访", "SM" + "4" * 32)
    clock.now += timedelta(hours=4)
    assert place_due_calls(hotline) == 0


# ---------------------------------------------------------------- the reason as a recording

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/" + ACCOUNT + "/Recordings/RE" + "5" * 32


def test_a_reason_not_recognised_is_left_as_a_recording_kept_once(make_phone, twilio_api):
    hotline = make_phone("pingli")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)
    call.answer()
    asked = call.press("3")
    assert asked.find("Gather").get("actionOnEmptyResult") == "true"
    offered = call.say("")  # nothing recognised
    record = offered.find("Record")
    assert "留言" in said(offered) and record.get("maxLength") == "60" and record.get("finishOnKey") == "#"
    assert record.get("action").startswith(f"{PUBLIC}/voice/callback/recorded?s=")
    assert record.get("recordingStatusCallback").startswith(f"{PUBLIC}/voice/callback/recording?s=")

    recording = {"RecordingUrl": RECORDING, "RecordingSid": "RE" + "5" * 32, "RecordingDuration": "14"}
    done = call.post(record.get("action"), **recording)
    assert "您的意见已记录" in said(done) and done.find("Hangup") is not None
    call.retry()  # Twilio retries the action
    status = call.request(record.get("recordingStatusCallback"), RecordingStatus="completed", **recording)
    assert status.status_code == 204
    (kept,) = events(hotline, number, "callback_recording")
    assert kept["url"] == RECORDING and kept["seconds"] == 14 and kept["call_sid"] == call.sid
    assert events(hotline, number, "callback_reason") == []


def test_a_recording_before_any_不满意_or_for_another_call_is_not_kept(make_phone, twilio_api):
    hotline = make_phone("pingli")
    client = web_client(hotline)
    number, _ = replied_ticket(hotline, channel="voice")
    call = place(hotline, twilio_api, client)
    recorded = call.url.replace("/call?", "/recorded?")
    recording = {"RecordingUrl": RECORDING, "RecordingSid": "RE" + "6" * 32, "RecordingDuration": "5"}
    assert "没有收到留言" in said(call.post(recorded, **recording))  # no 不满意 on this call
    call.sid = "CA" + "8" * 32
    call.post(recorded, **recording)
    assert events(hotline, number, "callback_recording") == []


# ---------------------------------------------------------------- a worker that dies before dialling


def test_an_attempt_claimed_by_a_dead_worker_is_placed_after_the_lease(make_phone, twilio_api, clock):
    hotline = make_phone()
    replied_ticket(hotline, channel="voice")
    callbacks = callbacks_of(hotline)
    with hotline.db.session() as session:
        (due,) = callbacks.due(session, clock.now)
        callbacks.claim(session, due, clock.now)  # claimed and committed, then the worker died
        session.commit()
    assert place_due_calls(hotline) == 0  # another worker respects a fresh claim
    clock.now += CLAIM_LEASE - timedelta(seconds=1)
    assert place_due_calls(hotline) == 0
    clock.now += timedelta(seconds=2)
    assert place_due_calls(hotline) == 1
    assert place_due_calls(hotline) == 0  # and placed once
    (placed,) = calls_placed(twilio_api)
    with hotline.db.session() as session:
        claims = session.scalars(
            select(ChannelEvent.kind).where(
                ChannelEvent.channel == "callback", ChannelEvent.ref.like("survey:%")
            )
        ).all()
    assert sorted(claims) == ["attempt:1", "attempt:1:1"]
