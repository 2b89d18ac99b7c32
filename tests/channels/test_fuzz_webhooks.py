"""Fuzzing the platforms' webhooks (issue 17): Twilio's SMS and voice forms and WeChat's XML, each
correctly signed, so the generated body reaches the code behind the signature check.

Whatever the fields hold (lone surrogates, NUL, controls, 20,000 characters, missing or repeated
fields, numbers where text belongs) and whatever the XML is (well-formed with strange values, broken,
not UTF-8, an entity bomb), the answer is never a 500 and never a traceback, every message that got
in was processed, and the service is healthy afterwards. Same budget as ``test_fuzz``.
"""

from __future__ import annotations

import dataclasses
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app import create_app
from intake.core.models import InboundMessage
from tests.channels.test_fuzz import FUZZ, nasty_text, no_crash
from tests.channels.test_sms import TOKEN
from tests.channels.test_sms import sms_hotline as sms_hotline  # noqa: F401  (fixture)
from tests.channels.test_wechat import ACCOUNT, APP_ID, WeChat
from tests.channels.test_wechat import TOKEN as WECHAT_TOKEN

form_value = st.one_of(
    nasty_text,
    st.sampled_from(["", " ", "0", "-1", "99999999999999999999", "+8613912345678", "anonymous", "#", "*"]),
)
sids = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map(lambda h: "SM" + h),  # real-looking
    st.just(None),
    st.text(alphabet="SMCA0123456789abcdef", min_size=0, max_size=40),
    nasty_text,
)
phones = st.one_of(st.sampled_from(["+8613912345678", "+8613800001234", "+15005550006"]), form_value)


def forms(*fields: str):
    """Twilio-looking forms: a caller's number (mostly real), the fields a webhook reads, each any value
    or absent, plus stray keys."""
    return st.fixed_dictionaries({"From": phones}, optional={f: form_value for f in fields}).flatmap(
        lambda known: st.dictionaries(st.text(max_size=8), form_value, max_size=2).map(
            lambda extra: {**extra, **known}
        )
    )


def clean(form: dict[str, str | None]) -> dict[str, str]:
    # a form field cannot hold a lone surrogate on the wire: werkzeug would read its UTF-8 as U+FFFD
    return {
        k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
        for k, v in form.items()
        if v is not None
    }


def signed_post(client, path: str, form: dict[str, str]):
    signature = RequestValidator(TOKEN).compute_signature("http://localhost" + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def check_after(client, hotline) -> None:
    assert client.get("/healthz").status_code == 200
    with hotline.db.session() as session:  # nothing stored half: whatever got in was processed
        statuses = {m.status for m in session.scalars(select(InboundMessage))}
    assert statuses <= {"processed"}


def test_no_signed_sms_form_gets_a_500(sms_hotline):  # noqa: F811
    client = create_app({"hotline": sms_hotline, "TESTING": True}).test_client()

    @FUZZ
    @given(form=forms("Body", "To", "NumMedia", "OptOutType", "Latitude", "Longitude"), sid=sids)
    def run(form: dict[str, str], sid: str | None) -> None:
        body = clean(form | ({"MessageSid": sid} if sid is not None else {}))
        response = signed_post(client, "/sms/incoming", body)
        no_crash(response)
        assert response.status_code in (200, 400)

    run()
    check_after(client, sms_hotline)


VOICE_PATHS = ["/voice/incoming", "/voice/listen?t=1", "/voice/listen?t=99999999999&q=c", "/voice/menu",
               "/voice/lookup", "/voice/check?n=2611230001", "/voice/voicemail", "/voice/dialed",
               "/voice/status"]  # fmt: skip


def test_no_signed_voice_form_gets_a_500(sms_hotline):  # noqa: F811
    client = create_app({"hotline": sms_hotline, "TESTING": True}).test_client()

    @FUZZ
    @given(
        path=st.sampled_from(VOICE_PATHS),
        form=forms(
            "SpeechResult",
            "Confidence",
            "Digits",
            "CallStatus",
            "RecordingUrl",
            "TranscriptionText",
            "DialCallStatus",
        ),  # fmt: skip
        sid=sids,
    )
    def run(path: str, form: dict[str, str], sid: str | None) -> None:
        body = clean(form | ({"CallSid": sid} if sid is not None else {}))
        response = signed_post(client, path, body)
        no_crash(response)

    run()
    check_after(client, sms_hotline)


xml_value = st.one_of(nasty_text, st.integers(min_value=-(2**70), max_value=2**70).map(str))
msg_types = st.sampled_from(["text", "voice", "location", "image", "event", "link", "video", "", "文本"])


@st.composite
def wechat_bodies(draw) -> bytes:
    """Signed pushes: a well-formed message with strange values, or bytes that are not one at all."""
    kind = draw(st.sampled_from(["message", "message", "message", "broken", "bytes", "bomb"]))
    if kind == "bytes":
        return draw(st.binary(max_size=80))
    if kind == "bomb":
        return b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><xml>&a;&a;</xml>'
    openid = st.one_of(
        st.sampled_from(["oFUZZ0000000000000000000001", "oFUZZ0000000000000000000002"]), xml_value
    )
    fields = {"ToUserName": ACCOUNT, "FromUserName": draw(openid), "CreateTime": draw(xml_value),
              "MsgType": draw(msg_types), "Content": draw(xml_value),
              "MsgId": draw(st.one_of(st.integers(1, 2**63).map(str), xml_value))}  # fmt: skip
    for name in draw(st.lists(st.sampled_from(["Event", "EventKey", "Recognition",
                                               "Label", "Location_X", "Location_Y", "MediaId"]),
                              max_size=4, unique=True)):  # fmt: skip
        fields[name] = draw(xml_value)
    text = "<xml>" + "".join(f"<{k}>{escape(_xml_safe(v))}</{k}>" for k, v in fields.items()) + "</xml>"
    body = text.encode("utf-8", "replace")
    return body[: len(body) // 2] if kind == "broken" else body


def _xml_safe(value: str) -> str:
    # XML 1.0 cannot carry controls or surrogates; WeChat never sends them, a forger's parser refuses them
    return "".join(c for c in value if c in "\t\n\r" or (" " <= c < "\ud800") or ("\ue000" <= c <= "\ufffd"))


def test_no_signed_wechat_push_gets_a_500(sms_hotline):  # noqa: F811
    sms_hotline.settings = dataclasses.replace(
        sms_hotline.settings, wechat_token=WECHAT_TOKEN, wechat_app_id=APP_ID,
        public_url="https://12345.example.gov.cn",
    )  # fmt: skip
    app = create_app({"hotline": sms_hotline, "TESTING": True})
    app.config["WECHAT_REPLY_BUDGET"] = 10.0
    account = WeChat(app, sms_hotline, safe=False)

    @FUZZ
    @given(body=wechat_bodies())
    def run(body: bytes) -> None:
        response = account.post(body)
        no_crash(response)
        assert response.status_code in (200, 400)

    run()
    check_after(account.client, sms_hotline)
