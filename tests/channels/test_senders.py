"""Outbound providers driven through the real client libraries against local fakes of their APIs."""

from __future__ import annotations

import pytest

from channels.senders import TwilioSms, WeChatCustomerService, build_senders
from intake.core.config import Settings
from intake.core.outbox import DeliveryError
from tests.fakes import fake_twilio, fake_wechat


@pytest.fixture
def twilio_api():
    server = fake_twilio()
    yield server
    server.close()


@pytest.fixture
def wechat_api():
    server = fake_wechat()
    yield server
    server.close()


def channel_settings(tmp_path, **env: str) -> Settings:
    base = {"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_PUBLIC_URL": "https://12345.example.gov.cn"}
    return Settings.from_env(base | env)


def test_twilio_sms_posts_to_the_messages_api_with_our_number(tmp_path, twilio_api):
    settings = channel_settings(
        tmp_path, TWILIO_ACCOUNT_SID="AC123", TWILIO_AUTH_TOKEN="secret", TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_API_BASE_URL=twilio_api.url,
    )  # fmt: skip
    ref = build_senders(settings)["sms"].send("+8613912345678", "您的工单号是2611230001。")
    (request,) = twilio_api.sent("/Messages.json")
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    body = "您的工单号是2611230001。"
    assert request.form == {"To": "+8613912345678", "From": "+15005550006", "Body": body}
    assert ref.startswith("SM")


def test_a_twilio_error_for_a_bad_number_is_permanent(tmp_path, twilio_api):
    settings = channel_settings(
        tmp_path,
        TWILIO_ACCOUNT_SID="AC123",
        TWILIO_AUTH_TOKEN="secret",
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_API_BASE_URL=twilio_api.url,
    )
    twilio_api.fail_next = 1
    twilio_api.failure = (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
    with pytest.raises(DeliveryError) as caught:
        TwilioSms(settings).send("+860", "x")
    assert caught.value.permanent


def test_a_twilio_server_error_is_temporary(tmp_path, twilio_api):
    settings = channel_settings(
        tmp_path,
        TWILIO_ACCOUNT_SID="AC123",
        TWILIO_AUTH_TOKEN="secret",
        TWILIO_FROM_NUMBER="+15005550006",
        TWILIO_API_BASE_URL=twilio_api.url,
    )
    twilio_api.fail_next = 1
    with pytest.raises(DeliveryError) as caught:
        TwilioSms(settings).send("+8613912345678", "x")
    assert not caught.value.permanent


def test_wechat_customer_service_message_fetches_a_token_then_sends(tmp_path, wechat_api):
    settings = channel_settings(
        tmp_path, WECHAT_APP_ID="wx123", WECHAT_APP_SECRET="s", WECHAT_API_BASE_URL=wechat_api.url
    )
    WeChatCustomerService(settings).send("openid-1", "您的诉求已登记。")
    token, sent = wechat_api.requests
    assert token.path == "/cgi-bin/token" and token.query["appid"] == ["wx123"]
    assert sent.path == "/cgi-bin/message/custom/send" and sent.query["access_token"] == ["TOKEN"]
    assert sent.json == {"touser": "openid-1", "msgtype": "text", "text": {"content": "您的诉求已登记。"}}


def test_no_provider_configured_means_no_sender(tmp_path):
    assert build_senders(channel_settings(tmp_path)) == {}
