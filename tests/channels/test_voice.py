"""The phone channel end to end: Twilio's side played by a test caller that signs every request with
twilio's own ``RequestValidator`` and follows the TwiML it gets back, verb by verb."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from app import create_app
from channels.senders import build_senders
from channels.voice import withheld
from intake.core.config import Settings
from intake.core.models import ChannelEvent, InboundMessage, OutboxMessage, Ticket
from intake.hotline import Hotline
from tests.conftest import TZ, _empty_tables, load_demo_into
from tests.fakes import fake_twilio

TOKEN = "voice-test-token"
ACCOUNT = "AC" + "0" * 32
OUR_NUMBER = "+15005550006"
CALLER = "+8613912345678"
AGENT = "+8677312345678"
DIAL = {"110": "+8677300000110", "119": "+8677300000119", "120": "+8677300000120"}
RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'1' * 32}"

FIRE = "邻居家阳台冒出火光，好像着火了"
MATTER = "我要反映一下有人偷排污水"  # a report that does not say where
PLACE = "瓢里镇瓢里街"
MENU_END = "重听请按1，反映其他问题请按2，人工服务请按0；没有其他问题，请直接挂机。"


# ---------------------------------------------------------------- Twilio's side of the call


class Caller:
    """One phone call as Twilio makes it: signed webhooks, following the TwiML's actions."""

    def __init__(self, client, number: str = CALLER, base: str = "http://localhost") -> None:
        self.client = client
        self.number = number
        self.base = base  # the address Twilio is given, and signs
        self.sid = "CA" + uuid.uuid4().hex
        self.twiml: ET.Element | None = None
        self.body = b""

    def params(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.sid, "AccountSid": ACCOUNT, "From": self.number, "To": OUR_NUMBER,
            "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01", **extra,
        }  # fmt: skip

    def request(self, url: str, **extra: str):
        """POST ``url`` (ours are relative, or absolute under ``base``) signed as Twilio signs it."""
        path = url.removeprefix(self.base)
        params = self.params(**extra)
        signature = RequestValidator(TOKEN).compute_signature(self.base + path, params)
        return self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    def post(self, path: str, **extra: str) -> ET.Element:
        self.last = (path, extra)
        response = self.request(path, **extra)
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        self.body = response.data
        self.twiml = ET.fromstring(response.data)
        assert_mandarin(self.twiml)
        return self.twiml

    def action(self, verb: str) -> str:
        element = self.twiml.find(verb)
        assert element is not None, f"no <{verb}> in {verbs(self.twiml)}"
        return element.get("action")

    def call(self) -> ET.Element:
        return self.post("/voice/incoming")

    def say(self, text: str, confidence: str = "0.92") -> ET.Element:
        return self.post(self.action("Gather"), SpeechResult=text, Confidence=confidence)

    def press(self, digits: str) -> ET.Element:
        return self.post(self.action("Gather"), Digits=digits)

    def silence(self) -> ET.Element:
        """Nothing said or pressed: Twilio moves on to the ``<Redirect>`` after the ``<Gather>``."""
        return self.post(self.twiml.find("Redirect").text)

    def record(self, url: str = RECORDING, seconds: str = "14") -> ET.Element:
        return self.post(self.action("Record"), RecordingUrl=url, RecordingDuration=seconds,
                         RecordingSid="RE" + "1" * 32)  # fmt: skip

    def transfer_ends(self, status: str) -> ET.Element:
        return self.post(self.action("Dial"), DialCallStatus=status)

    def retry(self) -> ET.Element:
        """The last webhook once more, exactly: what Twilio does when our answer was late or lost."""
        path, extra = self.last
        return self.post(path, **extra)

    def hang_up(self):
        return self.request("/voice/status", CallStatus="completed", CallDuration="42")


def verbs(twiml: ET.Element) -> list[str]:
    return [child.tag for child in twiml]


def said(twiml: ET.Element) -> str:
    return "".join(say.text or "" for say in twiml.iter("Say"))


def aloud(number: str) -> str:
    """A number as the caller hears it: digit by digit (一 as 幺); pauses removed from what was said."""
    return "".join("零幺二三四五六七八九"[int(d)] for d in number)


def as_written(text: str) -> str:
    """Spoken text with its numbers back in digits and without pauses, to compare with a written reply."""
    return text.translate(str.maketrans("零幺二三四五六七八九", "0123456789", "， "))


def heard(twiml: ET.Element) -> str:
    return said(twiml).replace("，", "")


def assert_mandarin(twiml: ET.Element) -> None:
    for say in twiml.iter("Say"):
        assert (say.get("voice"), say.get("language")) == ("Polly.Zhiyu", "cmn-CN")
    for gather in twiml.iter("Gather"):
        if "speech" in gather.get("input", ""):
            assert gather.get("language") == "cmn-Hans-CN"


def dialled(twiml: ET.Element) -> list[str]:
    return [n.text for n in twiml.iter("Number")]


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def twilio_api():
    server = fake_twilio()
    yield server
    server.close()


@pytest.fixture
def make_phone(settings, clock, twilio_api, tmp_path):
    """A hotline with the demo county and the phone channel's settings; ``env`` overrides them."""
    made: list[Hotline] = []

    def make(**env: str) -> Hotline:
        values = {
            "HOTLINE_DATABASE_URL": settings.database_url,
            "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "HOTLINE_PUBLIC_URL": "http://localhost",
            "TWILIO_FROM_NUMBER": OUR_NUMBER,
            "TWILIO_API_BASE_URL": twilio_api.url,
            "HOTLINE_AGENT_NUMBER": AGENT,
            "HOTLINE_DIAL_NUMBERS": ",".join(f"{line}={number}" for line, number in DIAL.items()),
            **env,
        }
        hotline = Hotline(Settings.from_env(values), clock=clock)
        _empty_tables(hotline.db)
        load_demo_into(hotline)
        made.append(hotline)
        return hotline

    yield make
    for hotline in made:
        hotline.db.dispose()


@pytest.fixture
def phone(make_phone) -> Hotline:
    return make_phone()


@pytest.fixture
def client(phone):
    return create_app({"hotline": phone, "TESTING": True}).test_client()


@pytest.fixture
def caller(client) -> Caller:
    return Caller(client)


def tickets(hotline: Hotline) -> list[Ticket]:
    with hotline.db.session() as session:
        rows = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        for row in rows:
            row.events  # noqa: B018 - load them before the session closes
        session.expunge_all()
        return list(rows)


def count(hotline: Hotline, model) -> int:
    with hotline.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def outbox(hotline: Hotline) -> list[OutboxMessage]:
    with hotline.db.session() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        session.expunge_all()
        return list(rows)


# ---------------------------------------------------------------- the welcome


def test_the_welcome_asks_in_mandarin_for_speech_or_keys(caller):
    twiml = caller.call()
    assert verbs(twiml) == ["Gather", "Redirect"]
    gather = twiml.find("Gather")
    assert gather.get("input") == "speech dtmf" and gather.get("language") == "cmn-Hans-CN"
    assert gather.get("action").startswith("http://localhost/voice/listen?")  # HOTLINE_PUBLIC_URL
    assert "按9" in said(twiml) and "人工服务请按0" in said(twiml)
    # silence goes back to the same step, which counts it as a miss
    assert twiml.find("Redirect").text == gather.get("action")


@pytest.mark.parametrize(
    "caller_id, is_withheld",
    [("anonymous", True), ("unknown", True), ("+266696687", True), ("", True), ("Restricted", True),
     (CALLER, False), ("+12025550123", False), ("07737512345", False)],
)  # fmt: skip
def test_withheld_caller_ids_are_recognised(caller_id, is_withheld):
    assert withheld(caller_id) is is_withheld


def test_behind_a_proxy_every_step_is_at_the_configured_public_address(make_phone):
    base = "https://12345.example.gov.cn"
    caller = Caller(create_app({"hotline": make_phone(HOTLINE_PUBLIC_URL=base)}).test_client(), base=base)
    twiml = caller.call()
    assert twiml.find("Gather").get("action").startswith(f"{base}/voice/listen?")
    assert dialled(caller.say(FIRE)) == [DIAL["119"]]
    assert caller.action("Dial").startswith(f"{base}/voice/dialed?")


def test_without_an_agent_number_zero_means_a_voice_message(make_phone):
    caller = Caller(
        create_app({"hotline": make_phone(HOTLINE_AGENT_NUMBER=""), "TESTING": True}).test_client()
    )
    assert "留言请按0" in said(caller.call())


# ---------------------------------------------------------------- what the pipeline decides, spoken


@pytest.mark.parametrize(
    "text, line",
    [(FIRE, "119"), ("我爸突然倒在地上不动了，没反应", "120"), ("有人拿着刀在街上砍人", "110")],
)
def test_an_emergency_is_put_through_to_the_number_configured_for_its_line(phone, caller, text, line):
    caller.call()
    twiml = caller.say(text)
    assert verbs(twiml) == ["Say", "Dial"]
    assert aloud(line) in heard(twiml)  # "转接幺幺九", not "一百一十九"
    assert dialled(twiml) == [DIAL[line]]
    [ticket] = tickets(phone)
    assert (ticket.disposition, ticket.transfer_to, ticket.channel, ticket.sender) == (
        "transferred", line, "voice", CALLER,
    )  # fmt: skip


def test_a_utility_line_without_a_number_is_explained_not_dialled(make_phone):
    """004 第十条(一): guizhou puts water matters through to the water company, whose number the pack
    does not know; the caller hears how to reach it and the menu, never a <Dial> to "water"."""
    hotline = make_phone(HOTLINE_POLICY="guizhou", HOTLINE_DIAL_NUMBERS="")
    caller = Caller(create_app({"hotline": hotline, "TESTING": True}).test_client())
    caller.call()
    twiml = caller.say("我们小区突然停水了，一滴水都没有")
    assert "Dial" not in verbs(twiml)
    assert "供水企业的服务热线" in heard(twiml)
    [ticket] = tickets(hotline)
    assert (ticket.disposition, ticket.transfer_to) == ("transferred", "water")


@pytest.mark.parametrize(
    "status, expected",
    [("completed", ["Hangup"]), ("no-answer", ["Say", "Hangup"]), ("busy", ["Say", "Hangup"])],
)
def test_when_a_transfer_ends_unanswered_the_caller_is_told_the_line_to_dial(caller, status, expected):
    caller.call()
    caller.say(FIRE)
    twiml = caller.transfer_ends(status)
    assert verbs(twiml) == expected
    assert (aloud("119") in heard(twiml)) is (status != "completed")


def test_a_knowledge_answer_is_read_in_its_spoken_version_then_the_menu(phone, caller):
    expected = phone.decide("社保卡丢了怎么补办", channel="voice")
    assert expected.action == "answer" and expected.spoken_reply
    caller.call()
    twiml = caller.say("社保卡丢了怎么补办")
    assert verbs(twiml) == ["Gather", "Redirect"]
    gather = twiml.find("Gather")
    assert (gather.get("input"), gather.get("numDigits")) == ("dtmf", "1")
    assert expected.spoken_reply in said(twiml) and "重听请按1" in said(twiml)
    [ticket] = tickets(phone)
    assert (ticket.disposition, ticket.kb_public_id) == ("answered", expected.kb_id)


def test_pressing_1_repeats_the_answer_word_for_word(phone, caller):
    caller.call()
    first = said(caller.say("社保卡丢了怎么补办"))
    assert said(caller.press("1")) == first
    assert said(caller.press("1")) == first  # as often as the caller likes
    assert len(tickets(phone)) == 1


def test_pressing_0_after_an_answer_dials_the_agent(caller):
    caller.call()
    caller.say("社保卡丢了怎么补办")
    twiml = caller.press("0")
    assert verbs(twiml) == ["Say", "Dial"] and dialled(twiml) == [AGENT]


def test_without_an_agent_number_0_leaves_a_voice_message(make_phone):
    caller = Caller(
        create_app({"hotline": make_phone(HOTLINE_AGENT_NUMBER=""), "TESTING": True}).test_client()
    )
    caller.call()
    caller.say("社保卡丢了怎么补办")
    assert verbs(caller.press("0")) == ["Say", "Record", "Say", "Hangup"]


def test_a_busy_agent_means_a_voice_message(caller):
    caller.call()
    caller.press("0")
    assert verbs(caller.transfer_ends("busy")) == ["Say", "Record", "Say", "Hangup"]


def test_pressing_2_after_an_answer_asks_for_another_matter(caller):
    caller.call()
    caller.say("社保卡丢了怎么补办")
    twiml = caller.press("2")
    assert twiml.find("Gather").get("input") == "speech dtmf" and "在什么地方" in said(twiml)


@pytest.mark.parametrize(
    "text, action, field, value",
    [
        ("法院判决了对方一直不执行怎么办", "redirected", "redirect_to", "court"),
        ("帮我查一下我前妻现在的住址", "declined", "decline_reason", "secret_or_privacy"),
    ],
)
def test_a_redirect_or_a_decline_is_read_with_its_reason_then_the_menu(
    phone, caller, text, action, field, value
):
    expected = phone.decide(text, channel="voice")
    caller.call()
    twiml = caller.say(text)
    assert verbs(twiml) == ["Gather", "Redirect"]
    assert as_written(expected.reply) in as_written(said(twiml))  # all of it, numbers spelt out
    assert said(twiml).endswith(MENU_END)
    [ticket] = tickets(phone)
    assert ticket.disposition == action and getattr(ticket, field) == value


def test_a_list_of_choices_is_read_out_and_picked_by_key(phone, caller):
    caller.call()
    twiml = caller.say("公积金")
    assert "第1项" in said(twiml) and "第2项" in said(twiml)
    expected = phone.decide("公积金", channel="voice").candidates[1]
    caller.press("2")
    [ticket] = tickets(phone)
    assert (ticket.disposition, ticket.kb_public_id) == ("answered", expected.kb_id)


# ---------------------------------------------------------------- a ticket


def test_without_an_sms_gateway_the_caller_is_not_told_an_sms_follows(make_phone):
    hotline = make_phone(TWILIO_ACCOUNT_SID="")  # HOTLINE_SMS_PROVIDER falls back to none
    caller = Caller(create_app({"hotline": hotline, "TESTING": True}).test_client())
    caller.call()
    caller.say(MATTER)
    confirmed = caller.say(PLACE)
    [ticket] = tickets(hotline)
    assert aloud(ticket.number) in heard(confirmed) and "短信" not in said(confirmed)


def test_a_ticket_asks_where_confirms_reads_the_number_and_owes_an_sms(phone, caller, twilio_api):
    caller.call()
    asked = caller.say(MATTER)
    assert verbs(asked) == ["Gather", "Redirect"] and "什么地方" in said(asked)
    assert asked.find("Gather").get("input") == "speech dtmf"
    confirmed = caller.say(PLACE)
    expected = phone.decide(f"{MATTER}\n{PLACE}", channel="voice")
    [ticket] = tickets(phone)
    assert (ticket.disposition, ticket.unit_code, ticket.location) == ("dispatched", expected.unit, PLACE)
    assert heard(confirmed).count(aloud(ticket.number)) == 2  # in the confirmation, then once more
    assert expected.unit_name in said(confirmed) and "短信" in said(confirmed)
    [sms] = outbox(phone)
    assert (sms.key, sms.channel, sms.recipient, sms.ticket_number) == (
        f"voice-ticket:{ticket.number}", "sms", CALLER, ticket.number,
    )  # fmt: skip
    assert not twilio_api.requests  # the call does not wait for the SMS: the worker sends it
    report = phone.outbox.deliver_due(build_senders(phone.settings))
    assert report.sent == [sms.id]
    [sent] = twilio_api.sent("/Messages.json")
    assert (
        sent.form["To"] == CALLER and sent.form["From"] == OUR_NUMBER and ticket.number in sent.form["Body"]
    )


def test_a_withheld_caller_id_still_registers_a_ticket_but_gets_no_sms(phone, client):
    caller = Caller(client, number="anonymous")
    caller.call()
    caller.say(MATTER)
    confirmed = caller.say(PLACE)
    [ticket] = tickets(phone)
    assert ticket.sender == f"anonymous:{caller.sid}" and ticket.disposition == "dispatched"
    assert ticket.contact_phone is None  # the SID's digits are not a number to call back
    assert aloud(ticket.number) in heard(confirmed) and "短信" not in said(confirmed)
    assert outbox(phone) == []


def test_two_withheld_callers_do_not_share_a_conversation(phone, client):
    first, second = Caller(client, number="anonymous"), Caller(client, number="anonymous")
    first.call(), second.call()
    first.say(MATTER)  # waits for the place
    second.say(MATTER)  # would be taken for the place of the first one's matter if they shared
    assert [t.disposition for t in tickets(phone)] == ["pending", "pending"]


# ---------------------------------------------------------------- status look-up by keys


def register_ticket(client) -> str:
    caller = Caller(client)
    caller.call()
    caller.say(MATTER)
    caller.say(PLACE)
    caller.hang_up()
    with caller.client.application.extensions["hotline"].db.session() as session:
        return session.scalar(select(Ticket.number))


def test_a_status_look_up_by_keys_trusts_the_caller_id_that_registered_the_ticket(client):
    number = register_ticket(client)
    caller = Caller(client)
    caller.call()
    asked = caller.press("9")
    assert asked.find("Gather").get("finishOnKey") == "#" and "工单号" in said(asked)
    twiml = caller.press(number + "#")
    assert aloud(number) in heard(twiml) and "已转交承办单位" in said(twiml) and "承办单位：" in said(twiml)


@pytest.mark.parametrize("check, found", [(CALLER[-4:], True), ("0000", False)])
def test_another_phone_must_key_in_the_last_four_digits(client, check, found):
    number = register_ticket(client)
    caller = Caller(client, number="+8613800001111")
    caller.call()
    caller.press("9")
    asked = caller.press(number)
    assert asked.find("Gather").get("numDigits") == "4" and "后四位" in said(asked)
    twiml = caller.press(check)
    assert ("已转交承办单位" in said(twiml)) is found
    assert ("没有查到" in said(twiml)) is not found
    assert aloud(number) in heard(twiml)


def test_a_number_that_is_no_ticket_number_is_asked_again_then_gives_up(caller):
    caller.call()
    caller.press("9")
    again = caller.press("123")
    assert "工单号有误" in said(again)
    assert dialled(caller.press("456")) == [AGENT]


# ---------------------------------------------------------------- never stuck, never a dead loop


def test_two_silences_reach_the_agent(phone, caller):
    caller.call()
    once = caller.silence()
    assert verbs(once) == ["Gather", "Redirect"] and "没有听到" in said(once)
    twiml = caller.silence()
    assert verbs(twiml) == ["Say", "Dial"] and dialled(twiml) == [AGENT]
    assert count(phone, InboundMessage) == 0


def test_two_silences_without_an_agent_leave_a_voice_message(make_phone):
    caller = Caller(
        create_app({"hotline": make_phone(HOTLINE_AGENT_NUMBER=""), "TESTING": True}).test_client()
    )
    caller.call()
    caller.silence()
    assert verbs(caller.silence()) == ["Say", "Record", "Say", "Hangup"]


def test_speech_recognised_with_low_confidence_is_asked_again_not_acted_on(phone, caller):
    caller.call()
    twiml = caller.say(FIRE, confidence="0.2")
    assert "没有听清" in said(twiml) and dialled(twiml) == []
    assert count(phone, InboundMessage) == 0
    assert dialled(caller.say(FIRE, confidence="0.85")) == [DIAL["119"]]


def test_silence_after_a_reply_ends_the_call_politely(caller):
    caller.call()
    caller.say("社保卡丢了怎么补办")
    assert verbs(caller.silence()) == ["Gather", "Redirect"]
    assert verbs(caller.silence()) == ["Say", "Hangup"]


def test_an_error_inside_a_step_still_answers_twiml_an_apology_and_voicemail(phone, caller, monkeypatch):
    def broken(message):
        raise RuntimeError("database went away")

    monkeypatch.setattr(phone, "handle", broken)
    caller.call()
    twiml = caller.say(MATTER)
    assert verbs(twiml) == ["Say", "Record", "Say", "Hangup"] and "故障" in said(twiml)


# ---------------------------------------------------------------- outside staffed hours: voicemail


@pytest.fixture
def wengyuan_office_hours(tmp_path) -> str:
    """Wengyuan's pack (000 第十三条: off-hours calls are recorded) with the office's windows added."""
    pack = tmp_path / "wengyuan-hours.yaml"
    pack.write_text('base: wengyuan\nhours:\n  staffed: ["08:00-12:00", "14:30-17:30"]\n')
    return str(pack)


@pytest.mark.parametrize("hour, staffed", [(10, True), (13, False), (20, False)])
def test_outside_staffed_hours_the_call_goes_to_voicemail(
    make_phone, clock, wengyuan_office_hours, hour, staffed
):
    clock.now = datetime(2026, 11, 23, hour, 0, tzinfo=TZ)
    caller = Caller(create_app({"hotline": make_phone(HOTLINE_POLICY=wengyuan_office_hours)}).test_client())
    twiml = caller.call()
    if staffed:
        assert verbs(twiml) == ["Gather", "Redirect"]
    else:
        assert verbs(twiml) == ["Say", "Record", "Say", "Hangup"]
        assert "非工作时间" in said(twiml) and aloud("119") in heard(twiml)


def test_a_voice_message_becomes_a_ticket_with_the_recording(make_phone, clock, wengyuan_office_hours):
    clock.now = datetime(2026, 11, 23, 20, 0, tzinfo=TZ)
    hotline = make_phone(HOTLINE_POLICY=wengyuan_office_hours)
    caller = Caller(create_app({"hotline": hotline}).test_client())
    caller.call()
    twiml = caller.record()
    assert verbs(twiml) == ["Say", "Hangup"]
    [ticket] = tickets(hotline)
    assert ticket.disposition == "dispatched" and RECORDING in ticket.text
    assert aloud(ticket.number) in heard(twiml)
    [sms] = outbox(hotline)
    assert sms.recipient == CALLER and ticket.number in sms.body
    caller.hang_up()  # a matter registered from a recording is not abandoned by the hang-up
    assert tickets(hotline)[0].disposition == "dispatched"


def test_a_recording_twilio_sends_again_is_one_ticket(make_phone, clock, wengyuan_office_hours):
    clock.now = datetime(2026, 11, 23, 20, 0, tzinfo=TZ)
    hotline = make_phone(HOTLINE_POLICY=wengyuan_office_hours)
    caller = Caller(create_app({"hotline": hotline}).test_client())
    caller.call()
    caller.record()
    first = caller.body
    caller.retry()
    assert caller.body == first
    assert len(tickets(hotline)) == 1 and len(outbox(hotline)) == 1


# ---------------------------------------------------------------- hanging up, status callbacks


@pytest.mark.parametrize("number", [CALLER, "anonymous"])
def test_hanging_up_mid_conversation_records_an_abandoned_matter(phone, client, number):
    caller = Caller(client, number=number)
    caller.call()
    caller.say(MATTER)  # the pipeline asks where; the caller hangs up instead
    assert caller.hang_up().status_code == 204
    [ticket] = tickets(phone)
    assert (ticket.disposition, ticket.status) == ("abandoned", "closed")
    assert ticket.events[-1].data == {"reason": "hung_up"}


def test_a_status_callback_is_recorded_once_however_often_it_comes(phone, caller):
    caller.call()
    assert caller.hang_up().status_code == 204
    assert caller.hang_up().status_code == 204
    with phone.db.session() as session:
        [event] = session.scalars(select(ChannelEvent)).all()
        assert (event.channel, event.ref, event.kind) == ("voice", caller.sid, "status:completed")
        assert event.data["CallDuration"] == "42"


def test_a_new_call_closes_what_an_earlier_call_left_pending(phone, client):
    first = Caller(client)
    first.call()
    first.say(MATTER)  # hung up without a status callback reaching us
    second = Caller(client)
    second.call()
    second.say("社保卡丢了怎么补办")
    assert [t.disposition for t in tickets(phone)] == ["abandoned", "answered"]


def test_a_late_hang_up_report_of_an_earlier_call_leaves_the_next_call_alone(phone, client):
    first = Caller(client)
    first.call()
    first.say("社保卡丢了怎么补办")
    second = Caller(client)  # the same number calls again before the first call's report arrives
    second.call()
    second.say(MATTER)  # the pipeline asks where: a matter is pending in the second call
    assert first.hang_up().status_code == 204  # the first call's late "completed"
    pending = [t for t in tickets(phone) if t.disposition == "pending"]
    assert len(pending) == 1, "the second call's matter is still open"
    second.say("龙胜镇桂石路和新华路交叉口")
    assert [t.disposition for t in tickets(phone)] == ["answered", "dispatched"]


# ---------------------------------------------------------------- what Twilio may send again, or not at all


def test_a_retried_webhook_gets_the_same_twiml_and_creates_nothing_twice(phone, caller):
    caller.call()
    caller.say(MATTER)
    caller.say(PLACE)
    first = caller.body
    caller.retry()
    assert caller.body == first
    assert len(tickets(phone)) == 1 and len(outbox(phone)) == 1
    assert count(phone, InboundMessage) == 2


@pytest.mark.parametrize("text", ["社保卡丢了怎么补办", FIRE, "法院判决了对方一直不执行怎么办"])
def test_a_retried_answer_transfer_or_redirect_is_the_same_twiml(phone, caller, text):
    caller.call()
    caller.say(text)
    first = caller.body
    caller.retry()
    assert caller.body == first
    assert len(tickets(phone)) == 1 and count(phone, InboundMessage) == 1


def test_a_forged_or_unsigned_request_is_refused_and_nothing_stored(phone, client):
    caller = Caller(client)
    params = caller.params(SpeechResult=FIRE)
    forged = RequestValidator("not-the-token").compute_signature("http://localhost/voice/listen?t=1", params)
    response = client.post("/voice/listen?t=1", data=params, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert client.post("/voice/listen?t=1", data=params).status_code == 403
    # signed for another step than the one called: the query string is part of what is signed
    signed = RequestValidator(TOKEN).compute_signature("http://localhost/voice/listen?t=1", params)
    response = client.post("/voice/listen?t=2", data=params, headers={"X-Twilio-Signature": signed})
    assert response.status_code == 403
    status = caller.params(CallStatus="completed")
    assert (
        client.post("/voice/status", data=status, headers={"X-Twilio-Signature": forged}).status_code == 403
    )
    assert count(phone, InboundMessage) == 0 and count(phone, ChannelEvent) == 0 and tickets(phone) == []


def test_an_oversized_body_is_refused_with_413(phone, client):
    caller = Caller(client)
    response = caller.request("/voice/listen?t=1", SpeechResult="路灯坏了" * 70_000)
    assert response.status_code == 413
    assert count(phone, InboundMessage) == 0


def test_a_caller_over_the_rate_limit_is_told_politely_and_hung_up_on(make_phone):
    client = create_app({"hotline": make_phone(HOTLINE_RATE_LIMIT="2/minute")}).test_client()
    assert verbs(Caller(client).call()) == ["Gather", "Redirect"]
    assert verbs(Caller(client).call()) == ["Gather", "Redirect"]
    twiml = Caller(client).call()
    assert verbs(twiml) == ["Say", "Hangup"] and "频繁" in said(twiml)


# ---------------------------------------------------------------- conversation moves (issue 16)


def test_a_closer_after_an_answer_ends_the_call_politely_with_no_ticket(phone, caller, twilio_api):
    caller.call()
    caller.say("社保卡丢了怎么补办")
    caller.press("2")  # another matter: the caller speaks again
    twiml = caller.say("谢谢，没有了")
    assert verbs(twiml) == ["Say", "Hangup"]
    assert said(twiml) == "不客气，感谢您的来电，再见。"
    assert "工单号" not in said(twiml) and "短信" not in said(twiml)
    assert [t.disposition for t in tickets(phone)] == ["answered"] and outbox(phone) == []
    caller.hang_up()
    assert [t.disposition for t in tickets(phone)] == ["answered"]


def test_hello_hello_is_greeted_and_listened_to(phone, caller):
    caller.call()
    twiml = caller.say("喂喂喂")
    assert verbs(twiml) == ["Gather", "Redirect"]
    assert twiml.find("Gather").get("input") == "speech dtmf"
    assert "请问有什么可以帮您" in said(twiml) and tickets(phone) == []
    caller.say(MATTER)  # the matter that follows is the matter
    caller.say(PLACE)
    [ticket] = tickets(phone)
    assert ticket.text.startswith(MATTER) and ticket.disposition == "dispatched"


def test_a_closer_while_the_place_is_awaited_says_so_and_hangs_up(phone, caller):
    caller.call()
    caller.say(MATTER)
    twiml = caller.say("没有了 再见")
    assert verbs(twiml) == ["Say", "Hangup"]
    assert "缺少发生地点" in said(twiml) and said(twiml).endswith("感谢您的来电，再见。")
    [ticket] = tickets(phone)
    assert ticket.disposition == "abandoned"


def test_asking_for_a_person_by_voice_dials_the_agent(phone, caller):
    caller.call()
    twiml = caller.say("转人工")
    assert verbs(twiml) == ["Say", "Dial"] and dialled(twiml) == [AGENT]
    assert tickets(phone) == []


def test_asking_for_a_person_without_an_agent_number_leaves_a_voice_message(make_phone):
    hotline = make_phone(HOTLINE_AGENT_NUMBER="")
    caller = Caller(create_app({"hotline": hotline, "TESTING": True}).test_client())
    caller.call()
    twiml = caller.say("我要找人工")
    assert verbs(twiml) == ["Say", "Record", "Say", "Hangup"]
    assert "转接" not in said(twiml)  # no transfer is claimed: there is nobody to put through to
    assert tickets(hotline) == []


def test_say_it_again_repeats_the_question_being_asked(phone, caller):
    caller.call()
    asked = caller.say(MATTER)
    again = caller.say("再说一遍")
    assert said(again) == said(asked) and verbs(again) == ["Gather", "Redirect"]
    caller.say(PLACE)  # the matter still waits for its place, and gets it
    [ticket] = tickets(phone)
    assert ticket.disposition == "dispatched" and ticket.location == PLACE


def test_asking_for_a_person_after_staffed_hours_ended_leaves_a_voice_message(
    make_phone, clock, wengyuan_office_hours
):
    clock.now = datetime(2026, 11, 23, 11, 59, tzinfo=TZ)
    caller = Caller(create_app({"hotline": make_phone(HOTLINE_POLICY=wengyuan_office_hours)}).test_client())
    caller.call()  # staffed: the IVR answers
    clock.now = datetime(2026, 11, 23, 12, 1, tzinfo=TZ)  # lunch: nobody at the phones
    twiml = caller.say("转人工")
    assert verbs(twiml) == ["Say", "Record", "Say", "Hangup"] and dialled(twiml) == []
