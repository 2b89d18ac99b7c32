"""The WeChat official-account channel, driven as WeChat drives it.

Messages are real WeChat XML, signed with the token (sha1 of the sorted token, timestamp and nonce)
and, in safe mode, encrypted with wechatpy's ``WeChatCrypto``; replies are decrypted and parsed with
wechatpy. Late answers go through the outbox to a local fake of WeChat's API.
"""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from app import create_app
from channels import wechat
from intake.core.config import Settings
from intake.core.messages import Candidate, Outcome
from intake.core.models import InboundMessage, OutboxMessage, Ticket
from intake.hotline import Hotline
from tests.conftest import _empty_tables, load_demo_into
from tests.contract import EXAMPLES
from tests.fakes import fake_wechat

TOKEN = "hotline12345token"
APP_ID = "wx5d1c3e2a9b8f7a60"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # 43 characters, as the console makes them
ACCOUNT = "gh_3d2c1b0a9f8e"  # the official account's original ID (ToUserName)
OPENID = "oLvTq5mD7sXb2fE9nH4kR8pZ1wYc"

BOTH = pytest.mark.parametrize("mode", ["plaintext", "safe"])


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def cdata(value: object) -> str:
    return str(value) if isinstance(value, int | float) else f"<![CDATA[{value}]]>"


class WeChat:
    """Plays WeChat's server: builds, signs and encrypts messages, reads the replies."""

    def __init__(self, app, hotline: Hotline, safe: bool) -> None:
        self.app = app
        self.client = app.test_client()
        self.hotline = hotline
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if safe else None
        self._ids = iter(range(24_000_000_000_000_001, 25_000_000_000_000_000))

    def now(self) -> int:
        return int(self.hotline.clock().timestamp())

    def xml(self, msg_type: str, *, openid: str = OPENID, msg_id: int | None = None, **fields: object) -> str:
        """A message as WeChat pushes it; every message type but events carries a MsgId."""
        parts = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": self.now(), "MsgType": msg_type}
        parts |= fields
        if msg_type != "event":
            parts["MsgId"] = msg_id if msg_id is not None else next(self._ids)
        return "<xml>" + "".join(f"<{k}>{cdata(v)}</{k}>" for k, v in parts.items()) + "</xml>"

    def post(
        self, xml: str | bytes, *, token: str = TOKEN, app_id: str = APP_ID, skew: int = 0, **query: str
    ):
        """POST ``xml`` as WeChat would: signed, and encrypted in safe mode; ``query`` overrides.

        ``skew`` sets WeChat's clock (the signed timestamp) that many seconds off ours.
        """
        timestamp, nonce = str(self.now() + skew), uuid.uuid4().hex[:10]
        params = {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                  "openid": OPENID}  # fmt: skip
        body = xml.encode() if isinstance(xml, str) else xml
        if self.crypto is not None:
            envelope = ET.fromstring(
                WeChatCrypto(token, AES_KEY, app_id).encrypt_message(body, nonce, timestamp)
            )
            encrypt = envelope.findtext("Encrypt")
            body = f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>"
            body = body.encode()
            params |= {"encrypt_type": "aes", "msg_signature": envelope.findtext("MsgSignature")}
        params |= query
        return self.client.post("/wechat", query_string=params, data=body, content_type="text/xml")

    def reply(self, response, openid: str = OPENID) -> str | None:
        """The text of a passive reply (``None`` for ``success``), decrypted and parsed with wechatpy."""
        assert response.status_code == 200, response.text
        if response.text == "success":
            return None
        xml = response.text
        if self.crypto is not None:
            envelope = ET.fromstring(xml)
            xml = self.crypto.decrypt_message(
                xml,
                envelope.findtext("MsgSignature"),
                envelope.findtext("TimeStamp"),
                envelope.findtext("Nonce"),
            )
        reply = parse_message(xml)
        assert (reply.type, reply.source, reply.target) == ("text", ACCOUNT, openid)
        return reply.content

    def send(self, msg_type: str, **fields: object) -> str | None:
        return self.reply(self.post(self.xml(msg_type, **fields)))

    def say(self, text: str, **fields: object) -> str | None:
        return self.send("text", Content=text, **fields)


@pytest.fixture
def wechat_api():
    server = fake_wechat()
    yield server
    server.close()


@pytest.fixture
def mode() -> str:
    return "plaintext"  # tests marked BOTH run in safe mode too


@pytest.fixture
def make_account(settings, clock, wechat_api, mode) -> Callable[..., WeChat]:
    """A hotline with the demo county behind an official account; ``env`` adds settings."""
    made: list[Hotline] = []

    def make(**env: str) -> WeChat:
        env = {
            "HOTLINE_DATABASE_URL": settings.database_url,
            "HOTLINE_INSTANCE_PATH": str(settings.instance_path),
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": "app-secret",
            "WECHAT_API_BASE_URL": wechat_api.url,
            "HOTLINE_PUBLIC_URL": "https://12345.example.gov.cn",
            **({"WECHAT_ENCODING_AES_KEY": AES_KEY} if mode == "safe" else {}),
            **env,
        }
        hotline = Hotline(Settings.from_env(env), clock=clock)
        made.append(hotline)
        _empty_tables(hotline.db)
        load_demo_into(hotline)
        # a generous budget: only the late-answer tests make the pipeline miss it
        app = create_app({"hotline": hotline, "TESTING": True, "WECHAT_REPLY_BUDGET": 30.0})
        return WeChat(app, hotline, safe=mode == "safe")

    yield make
    for hotline in made:
        hotline.db.dispose()


@pytest.fixture
def account(make_account) -> WeChat:
    return make_account()


def count(hotline: Hotline, model) -> int:
    with hotline.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def only_ticket(hotline: Hotline) -> Ticket:
    with hotline.db.session() as session:
        (ticket,) = session.scalars(select(Ticket)).all()
        session.expunge(ticket)
        return ticket


def wait_until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ------------------------------------------------------------------ URL verification


def test_url_verification_returns_echostr_unchanged(account):
    timestamp, nonce, echostr = str(account.now()), "1234567", "6523915306373289015"
    query = {
        "signature": sign(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echostr,
    }
    response = account.client.get("/wechat", query_string=query)
    assert response.status_code == 200 and response.text == echostr


@pytest.mark.parametrize(
    "change",
    [{"signature": sign("another-token", "1", "2")}, {"signature": ""}, {"nonce": "7654321"}],
    ids=["other-token", "unsigned", "tampered-nonce"],
)
def test_url_verification_refuses_what_wechat_did_not_sign(account, change):
    query = {"signature": sign(TOKEN, "1700000000", "1234567"), "timestamp": "1700000000", "nonce": "1234567",
             "echostr": "6523915306373289015"} | change  # fmt: skip
    response = account.client.get("/wechat", query_string=query)
    assert response.status_code == 403 and "6523915306373289015" not in response.text


def test_without_a_token_nothing_is_verified(make_account):
    account = make_account(WECHAT_TOKEN="")
    query = {"signature": sign("", "1", "2"), "timestamp": "1", "nonce": "2", "echostr": "x"}
    assert account.client.get("/wechat", query_string=query).status_code == 403
    assert account.post(account.xml("text", Content="社保卡丢了咋办"), token="").status_code == 403


# ------------------------------------------------------------------ messages through the pipeline


@BOTH
@pytest.mark.parametrize(
    "action, disposition",
    [
        ("transfer", "transferred"),
        ("answer", "answered"),
        ("redirect", "redirected"),
        ("decline", "declined"),
    ],
)
def test_a_text_gets_the_pipelines_reply_at_once(account, wechat_api, action, disposition):
    text = EXAMPLES[action]
    expected = account.hotline.decide(text, channel="wechat")
    assert expected.action == action
    reply = account.say(text, msg_id=9_001)
    assert reply == expected.reply
    with account.hotline.db.session() as session:
        (stored,) = session.scalars(select(InboundMessage)).all()
        assert (stored.channel, stored.channel_msg_id, stored.sender) == ("wechat", "9001", OPENID)
        assert stored.text == text and stored.status == "processed"
    assert only_ticket(account.hotline).disposition == disposition
    assert wechat_api.requests == []  # answered passively: no customer-service message


def test_an_emergency_reply_names_the_line_to_call(account):
    reply = account.say(EXAMPLES["transfer"])
    assert "119" in reply


@BOTH
def test_a_ticket_is_registered_and_its_status_looked_up_from_the_same_openid(account):
    reply = account.say(EXAMPLES["ticket"])
    ticket = only_ticket(account.hotline)
    assert ticket.disposition == "dispatched" and ticket.channel == "wechat" and ticket.sender == OPENID
    assert f"工单号：{ticket.number}" in reply
    status = account.say(f"查询 {ticket.number}")
    assert ticket.number in status and "已转交承办单位" in status
    assert count(account.hotline, Ticket) == 1  # a look-up is not a new matter


def test_a_status_look_up_from_another_openid_reads_like_an_unknown_number(account):
    account.say(EXAMPLES["ticket"])
    number = only_ticket(account.hotline).number
    stranger = "oSomeoneElse000"
    asked = account.post(account.xml("text", openid=stranger, Content=f"查询 {number}"))
    other = account.reply(asked, openid=stranger)
    assert "没有查到" in other and "已转交" not in other


def test_a_clarify_list_is_answered_by_number(account):
    reply = account.say("公积金")
    with account.hotline.db.session() as session:
        candidates = session.scalars(select(InboundMessage)).one().outcome["candidates"]
    assert len(candidates) >= 2
    for i, candidate in enumerate(candidates, 1):
        assert f"回复{i}：{candidate['question']}" in reply
    account.say("2")
    with account.hotline.db.session() as session:
        second = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert second.outcome["action"] == "answer" and second.outcome["kb_id"] == candidates[1]["kb_id"]


@BOTH
def test_voice_is_read_from_wechats_recognition(account):
    text = EXAMPLES["answer"]
    reply = account.send("voice", MediaId="media-1", Format="amr", Recognition=text)
    assert reply == account.hotline.decide(text, channel="wechat").reply
    with account.hotline.db.session() as session:
        stored = session.scalars(select(InboundMessage)).one()
        assert (stored.text, stored.kind, stored.meta) == (text, "voice", {"media_id": "media-1"})


@pytest.mark.parametrize("recognition", [None, "", "   "])
def test_voice_without_recognition_asks_for_text(account, recognition):
    fields = {"MediaId": "media-1", "Format": "amr"} | (
        {"Recognition": recognition} if recognition is not None else {}
    )
    assert account.send("voice", **fields) == wechat.UNHEARD
    assert count(account.hotline, InboundMessage) == 0


@BOTH
def test_a_location_answers_the_question_where_it_happened(account):
    asked = account.say("有人在河边偷排污水，水都变黑了")
    assert "什么地方" in asked and "位置" in asked
    label = "广西壮族自治区桂林市龙胜各族自治县平等镇龙坪村"
    reply = account.send("location", Location_X="25.876543", Location_Y="109.987654", Scale=15, Label=label)
    ticket = only_ticket(account.hotline)
    assert ticket.disposition == "dispatched" and ticket.location == label
    with account.hotline.db.session() as session:
        stored = session.scalars(select(InboundMessage).where(InboundMessage.kind == "location")).one()
        assert stored.text == label and (stored.meta["lat"], stored.meta["lon"]) == (
            "25.876543",
            "109.987654",
        )
    assert f"工单号：{ticket.number}" in reply


@pytest.mark.parametrize(
    "label", ["", "广西壮族自治区桂林市龙胜各族自治县龙胜镇桂龙路"], ids=["coordinates", "label"]
)
def test_a_location_with_nothing_pending_registers_no_matter(account, label):
    account.send("location", Location_X="25.790123", Location_Y="110.012345", Scale=15, Label=label)
    assert count(account.hotline, Ticket) == 0


@pytest.mark.parametrize(
    "msg_type, fields",
    [
        ("image", {"PicUrl": "http://mmbiz.qpic.cn/x.jpg", "MediaId": "m1"}),
        ("video", {"MediaId": "m1", "ThumbMediaId": "t1"}),
        ("shortvideo", {"MediaId": "m1", "ThumbMediaId": "t1"}),
        ("link", {"Title": "标题", "Description": "描述", "Url": "https://example.com/"}),
        ("file", {"Title": "材料.pdf"}),
    ],
)
def test_other_message_types_get_a_polite_text_and_store_nothing(account, msg_type, fields):
    assert account.send(msg_type, **fields) == wechat.UNSUPPORTED
    assert count(account.hotline, InboundMessage) == 0


# ------------------------------------------------------------------ events


@BOTH
@pytest.mark.parametrize("key", [None, "qrscene_123"], ids=["search", "qr-code"])
def test_a_new_follower_is_told_what_we_do_and_whom_to_call_in_an_emergency(account, key):
    fields = {"Event": "subscribe"} | ({"EventKey": key} if key else {})
    reply = account.send("event", **fields)
    assert account.hotline.policy.title in reply and "查询" in reply
    for line in ("110", "119", "120", "122"):
        assert line in reply
    assert count(account.hotline, InboundMessage) == 0 and count(account.hotline, Ticket) == 0


@pytest.mark.parametrize(
    "key, expected",
    [
        (wechat.MENU_LOOKUP, wechat.LOOKUP),
        (wechat.MENU_FAQ, wechat.FAQ + "\n也可以在这里查找常见问题的答案：https://12345.example.gov.cn/kb"),
    ],
)
def test_menu_buttons_get_their_guidance(account, key, expected):
    assert account.send("event", Event="CLICK", EventKey=key) == expected
    assert count(account.hotline, InboundMessage) == 0


def test_an_unknown_menu_key_gets_the_welcome(account):
    assert account.send("event", Event="CLICK", EventKey="OLD_BUTTON") == wechat.welcome(account.hotline)


def test_the_faq_button_links_the_public_knowledge_look_up_when_online(make_account):
    account = make_account(HOTLINE_PUBLIC_URL="https://12345.example.gov.cn")
    reply = account.send("event", Event="CLICK", EventKey=wechat.MENU_FAQ)
    assert reply.endswith("https://12345.example.gov.cn/kb")


@pytest.mark.parametrize(
    "fields",
    [
        {"Event": "unsubscribe"},
        {"Event": "VIEW", "EventKey": "https://example.com/"},
        {"Event": "SCAN", "EventKey": "123", "Ticket": "t"},
        {"Event": "LOCATION", "Latitude": "25.8", "Longitude": "110.0", "Precision": "30.0"},
        {"Event": "TEMPLATESENDJOBFINISH", "Status": "success"},
        {"Event": "something_new"},
    ],
    ids=lambda f: f["Event"],
)
def test_other_events_get_no_reply_and_store_nothing(account, fields):
    assert account.send("event", **fields) is None
    assert count(account.hotline, InboundMessage) == 0


# ------------------------------------------------------------------ retries and the 5-second limit


@BOTH
def test_a_retried_message_gets_the_same_reply_and_creates_nothing_twice(account, wechat_api):
    xml = account.xml("text", Content=EXAMPLES["ticket"], msg_id=7_001)
    first = account.reply(account.post(xml))
    again = account.reply(account.post(xml))
    assert first == again and only_ticket(account.hotline).number in first
    assert count(account.hotline, InboundMessage) == 1
    assert wechat_api.requests == []


def slow_pipeline(monkeypatch, hotline: Hotline, seconds: float) -> None:
    real = hotline.handle

    def slow(message):
        time.sleep(seconds)
        return real(message)

    monkeypatch.setattr(hotline, "handle", slow)


@pytest.mark.timed_wait
@BOTH
def test_an_answer_that_misses_the_budget_comes_as_a_customer_service_message(
    account, wechat_api, monkeypatch
):
    account.app.config["WECHAT_REPLY_BUDGET"] = 0.05
    slow_pipeline(monkeypatch, account.hotline, 1.0)
    xml = account.xml("text", Content=EXAMPLES["ticket"], msg_id=8_001)
    assert account.reply(account.post(xml)) is None  # "success" at once
    assert account.reply(account.post(xml)) is None  # WeChat's retry joins the work under way

    def sent() -> OutboxMessage | None:
        with account.hotline.db.session() as session:
            return session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent")).one_or_none()

    wait_until(sent)
    assert (sent().key, sent().channel, sent().recipient) == ("wechat-late:8001", "wechat", OPENID)
    (request,) = wechat_api.sent("/message/custom/send")
    number = only_ticket(account.hotline).number
    assert request.json["touser"] == OPENID and f"工单号：{number}" in request.json["text"]["content"]
    # a retry after the answer went out neither replies again nor sends again
    assert account.reply(account.post(xml)) is None
    assert len(wechat_api.sent("/message/custom/send")) == 1
    assert count(account.hotline, InboundMessage) == 1 and count(account.hotline, Ticket) == 1


@pytest.mark.timed_wait
def test_a_late_answer_wechat_refuses_stays_in_the_outbox_for_the_worker(account, wechat_api, monkeypatch):
    account.app.config["WECHAT_REPLY_BUDGET"] = 0.05
    slow_pipeline(monkeypatch, account.hotline, 0.3)
    wechat_api.fail_next = 5
    assert account.say(EXAMPLES["answer"]) is None

    def tried() -> OutboxMessage | None:
        with account.hotline.db.session() as session:
            row = session.scalars(select(OutboxMessage)).first()
            return row if row is not None and row.attempts else None

    wait_until(tried)
    row = tried()
    assert row.status == "pending" and row.body == account.hotline.decide(EXAMPLES["answer"]).reply


def test_a_retry_while_another_worker_handles_the_message_leaves_the_answer_to_it(account, wechat_api):
    with account.hotline.db.session() as session:  # what the other worker stored when it took the message
        session.add(InboundMessage(channel="wechat", channel_msg_id="6001", sender=OPENID,
                                   text=EXAMPLES["ticket"], received_at=account.hotline.clock()))  # fmt: skip
        session.commit()
    assert account.say(EXAMPLES["ticket"], msg_id=6_001) is None  # "success": the other one answers
    assert count(account.hotline, Ticket) == 0 and count(account.hotline, OutboxMessage) == 0
    assert wechat_api.requests == []


def test_a_retry_on_another_worker_after_the_late_answer_went_out_gets_no_second_answer(account, wechat_api):
    # worker A missed the budget and sent the answer as a customer-service message (claimed "late")
    assert account.hotline.claim_reply("wechat", "9001", "late")
    # WeChat's retry lands on worker B, which has never seen the message: it works it out, says nothing
    assert account.say(EXAMPLES["answer"], msg_id=9_001) is None
    assert count(account.hotline, InboundMessage) == 1


def test_once_a_message_was_answered_passively_no_late_answer_follows_but_a_retry_is_answered_again(
    account,
):
    first = account.say(EXAMPLES["answer"], msg_id=9_002)
    assert first  # answered passively (claimed "passive")
    assert not account.hotline.claim_reply("wechat", "9002", "late")  # another worker's late path
    assert account.say(EXAMPLES["answer"], msg_id=9_002) == first  # WeChat lost the first: again


def test_a_pipeline_failure_gets_an_apology_not_an_error(account, monkeypatch):
    def broken(message):
        raise RuntimeError("database went away")

    monkeypatch.setattr(account.hotline, "handle", broken)
    assert account.say(EXAMPLES["answer"]) == wechat.FAILED


def test_a_sender_over_the_rate_limit_is_asked_to_slow_down(make_account):
    account = make_account(HOTLINE_RATE_LIMIT="2/minute")
    replies = [account.say(text) for text in ("社保卡丢了咋办", "公积金怎么提取", "你好")]
    assert replies[2] == wechat.BUSY and wechat.BUSY not in replies[:2]
    assert count(account.hotline, InboundMessage) == 2


# ------------------------------------------------------------------ refused requests


@BOTH
def test_a_forged_signature_is_refused_and_nothing_stored(account):
    response = account.post(account.xml("text", Content=EXAMPLES["ticket"]), token="guessed-token")
    assert response.status_code == 403
    assert count(account.hotline, InboundMessage) == 0 and count(account.hotline, Ticket) == 0


@pytest.mark.parametrize("mode", ["safe"])
@pytest.mark.parametrize(
    "forgery",
    [{"msg_signature": sign(TOKEN, "1", "2", "3")}, {"msg_signature": ""}],
    ids=["wrong", "missing"],
)
def test_in_safe_mode_a_forged_msg_signature_is_refused(account, forgery):
    response = account.post(account.xml("text", Content=EXAMPLES["ticket"]), **forgery)
    assert response.status_code == 403
    assert count(account.hotline, InboundMessage) == 0


@pytest.mark.parametrize("mode", ["safe"])
def test_in_safe_mode_a_message_for_another_account_is_refused(account):
    response = account.post(account.xml("text", Content=EXAMPLES["ticket"]), app_id="wx0000000000000000")
    assert response.status_code == 403
    assert count(account.hotline, InboundMessage) == 0


@pytest.mark.parametrize("mode", ["safe"])
def test_in_safe_mode_a_plaintext_message_is_refused(account):
    timestamp, nonce = str(account.now()), "n1"
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    xml = account.xml("text", Content=EXAMPLES["ticket"])
    assert account.client.post("/wechat", query_string=query, data=xml).status_code == 403


def test_in_plaintext_mode_an_encrypted_message_is_refused(account):
    assert account.post(account.xml("text", Content="你好"), encrypt_type="aes").status_code == 403


@BOTH
@pytest.mark.parametrize("skew, status", [(-3600, 403), (-301, 403), (-120, 200), (120, 200), (3600, 403)])
def test_a_stale_or_future_timestamp_is_refused(account, skew, status):
    response = account.post(account.xml("text", Content="你好"), skew=skew)
    assert response.status_code == status
    assert count(account.hotline, InboundMessage) == (status == 200)


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "哈哈哈哈哈哈哈哈"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&d;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>"
)


@BOTH
@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh</ToUserName><Content>没有结束",
        BOMB,
        EXTERNAL,
        "not xml at all",
        "<xml><Content>没有类型</Content></xml>",
        "<other><MsgType>text</MsgType></other>",
        "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><MsgId>abc</MsgId></xml>",
        "<xml><MsgType>text</MsgType><Content>没有发送者</Content><MsgId>1</MsgId></xml>",
    ],
    ids=[
        "malformed",
        "entity-bomb",
        "external-entity",
        "garbage",
        "no-type",
        "other-root",
        "bad-id",
        "no-sender",
    ],
)
def test_unreadable_or_unsafe_xml_is_refused_with_400_and_nothing_stored(account, body):
    response = account.post(body)  # in safe mode it arrives inside a well-formed, well-signed envelope
    assert response.status_code == 400
    assert count(account.hotline, InboundMessage) == 0


@pytest.mark.parametrize("mode", ["safe"])
def test_in_safe_mode_an_unsafe_envelope_is_refused_before_decryption(account):
    timestamp, nonce = str(account.now()), "n1"
    query = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
             "encrypt_type": "aes", "msg_signature": "x"}  # fmt: skip
    assert account.client.post("/wechat", query_string=query, data=BOMB).status_code == 400


def test_an_oversized_body_is_refused_with_413(account):
    xml = account.xml("text", Content="长" * (100 * 1024))
    assert account.post(xml).status_code == 413
    assert count(account.hotline, InboundMessage) == 0


# ------------------------------------------------------------------ rendering


@pytest.mark.parametrize(
    "outcome, expected",
    [
        (Outcome(action="answer", reply="办理社保卡请到政务服务中心。"), "办理社保卡请到政务服务中心。"),
        (
            Outcome(
                action="clarify",
                reply="（列表）",
                candidates=[Candidate("a", "公积金提取", 0.6), Candidate("b", "公积金贷款", 0.5)],
            ),
            "您想咨询的是以下哪一项？\n回复1：公积金提取\n回复2：公积金贷款\n如果都不是，请再详细描述一下您的问题。",
        ),
        (
            Outcome(action="ask", reply="请问这件事发生在什么地方？"),
            "请问这件事发生在什么地方？\n" + wechat.SEND_PLACE,
        ),
    ],
    ids=["answer", "clarify", "ask"],
)
def test_outcomes_render_as_wechat_text(outcome, expected):
    assert wechat.render(outcome) == expected


@pytest.mark.parametrize("text", ["长" * 682, "长" * 683, "长" * 2000, "a" * 3000, "工单" + "😀" * 600])
def test_a_long_reply_is_cut_to_2048_bytes_at_a_character(text):
    cut = wechat.cap(text)
    size = len(cut.encode("utf-8"))
    assert size <= wechat.MAX_REPLY_BYTES
    if len(text.encode("utf-8")) <= wechat.MAX_REPLY_BYTES:
        assert cut == text
    else:
        assert cut.endswith(wechat.CUT) and text.startswith(cut.removesuffix(wechat.CUT))
        assert size > wechat.MAX_REPLY_BYTES - 8


def test_safe_mode_without_an_app_id_stops_start_up_rather_than_guess(tmp_path):
    from intake.core.config import ConfigError, Settings

    env = {"HOTLINE_INSTANCE_PATH": str(tmp_path), "WECHAT_TOKEN": "t", "WECHAT_ENCODING_AES_KEY": "k" * 43}
    with pytest.raises(ConfigError, match="safe mode needs WECHAT_APP_ID"):
        Settings.from_env(env)


# ------------------------------------------------------------------ conversation moves (issue 16)


def test_a_wechat_closer_after_an_answer_makes_no_ticket(account):
    account.say(EXAMPLES["answer"])
    assert account.say("谢谢，没有了") == "不客气，感谢您的来信，再见。"
    assert only_ticket(account.hotline).disposition == "answered"


def test_a_wechat_greeting_then_the_list_said_again(account):
    assert account.say("在吗") == "您好，这里是12345热线，请问有什么可以帮您？"
    listed = account.say("公积金")
    assert account.say("重复一遍") == listed
    assert count(account.hotline, Ticket) == 1  # the list's matter, still waiting for a choice


def test_wechat_garbage_then_a_complaint_are_two_matters_each_with_its_own_text(account):
    account.say("asdkjh qwe 啊啊啊 ;;;; zzz")
    reply = account.say(EXAMPLES["ticket"])
    assert "工单号" in reply
    with account.hotline.db.session() as session:
        texts = [(t.text, t.disposition) for t in session.scalars(select(Ticket).order_by(Ticket.id))]
    assert texts == [("asdkjh qwe 啊啊啊 ;;;; zzz", "declined"), (EXAMPLES["ticket"], "dispatched")]
