"""Outbound providers: SMS through Twilio (or another gateway), WeChat customer-service messages.

Outbound SMS goes through the small ``Sender`` protocol of ``intake.core.outbox`` so that a mainland
deployment can plug in a domestic gateway (two-way SMS through Twilio is not offered in China):
write a class built from ``Settings`` with ``send(recipient, body) -> reference`` that raises
``DeliveryError`` (``permanent=True`` when no retry can help), and add it to ``SMS_PROVIDERS`` below
and its name to ``intake.core.config.SMS_PROVIDERS`` (which validates ``HOTLINE_SMS_PROVIDER`` at start).

Both clients can be pointed elsewhere (``TWILIO_API_BASE_URL``, ``WECHAT_API_BASE_URL``): tests aim
them at a local fake server, so nothing ever calls the real services from a test.
"""

from __future__ import annotations

from collections.abc import Callable

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from intake.core.config import Settings
from intake.core.outbox import DeliveryError, Sender

# Twilio error codes that no retry will fix: invalid or unreachable number, opted out, blocked, body
# over 1,600 characters (21617).
TWILIO_PERMANENT = {21211, 21408, 21610, 21612, 21614, 21617, 30003, 30004, 30005, 30006, 30007}
# seconds: twilio's HTTP client waits forever by default, which would hold an outbox lease and a worker
TWILIO_TIMEOUT = 10.0
# WeChat: 43004 not following, 40003 bad OpenID, 45015 outside the 48 h window (retrying won't reopen it)
WECHAT_PERMANENT = {40003, 43004, 45015, 45047}


class TwilioSms:
    """SMS through Twilio's Messages API."""

    def __init__(self, settings: Settings) -> None:
        self.client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT),
        )
        if settings.twilio_api_base_url:
            self.client.api.base_url = settings.twilio_api_base_url
        self.from_number = settings.twilio_from_number

    def send(self, recipient: str, body: str) -> str:
        try:
            message = self.client.messages.create(to=recipient, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            permanent = exc.code in TWILIO_PERMANENT
            raise DeliveryError(f"twilio {exc.code}: {exc.msg}", permanent=permanent) from exc
        return message.sid


class _Client(WeChatClient):
    """wechatpy's client with the API address configurable, including the token endpoint it hard-codes."""

    def __init__(self, settings: Settings, session: object) -> None:
        super().__init__(settings.wechat_app_id, settings.wechat_app_secret, session=session, timeout=4)
        self.API_BASE_URL = f"{settings.wechat_api_base_url or 'https://api.weixin.qq.com'}/cgi-bin/"

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


class WeChatCustomerService:
    """WeChat customer-service text messages (客服消息), with the access token shared through Redis."""

    def __init__(self, settings: Settings) -> None:
        if settings.redis_url:
            import redis

            # several workers share one token: fetching a new one elsewhere would expire ours
            session = RedisStorage(redis.Redis.from_url(settings.redis_url), prefix="hotline-wechat")
        else:
            session = MemoryStorage()
        self.client = _Client(settings, session)

    def send(self, recipient: str, body: str) -> str:
        try:
            result = self.client.message.send_text(recipient, body)
        except WeChatClientException as exc:
            code = int(exc.errcode) if exc.errcode is not None else None
            raise DeliveryError(f"wechat {code}: {exc.errmsg}", permanent=code in WECHAT_PERMANENT) from exc
        return str(result.get("msgid", "")) if isinstance(result, dict) else ""


SMS_PROVIDERS: dict[str, Callable[[Settings], Sender]] = {"twilio": TwilioSms}


def build_senders(settings: Settings) -> dict[str, Sender]:
    """The senders this deployment is configured for; a channel without one keeps its messages queued."""
    senders: dict[str, Sender] = {}
    if settings.sms_provider in SMS_PROVIDERS:
        senders["sms"] = SMS_PROVIDERS[settings.sms_provider](settings)
    if settings.wechat_app_id and settings.wechat_app_secret:
        senders["wechat"] = WeChatCustomerService(settings)
    return senders
