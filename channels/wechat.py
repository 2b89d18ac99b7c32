"""The WeChat official-account channel (公众号): ``GET|POST /wechat``.

WeChat's documentation for the fields read here: 接入指南 (URL verification), 接收普通消息,
接收事件推送, 被动回复用户消息 and 消息加解密说明 (developers.weixin.qq.com/doc/offiaccount/).

- ``GET`` is WeChat checking the server URL: a good ``signature`` (sha1 of the sorted token, timestamp
  and nonce) gets ``echostr`` back unchanged, anything else 403.
- ``POST`` carries one message or event as XML. It must carry a good ``signature`` and a fresh
  ``timestamp``; in safe mode (安全模式, ``WECHAT_ENCODING_AES_KEY`` set, ``encrypt_type=aes``) the XML
  is encrypted, ``msg_signature`` also covers the ciphertext, and the reply goes back encrypted. Every
  body, and the decrypted one too, is read with ``security.parse_xml`` (no DTD, no entities) before
  wechatpy sees it. A request that fails any check gets 403 or 400 and nothing is stored.
- Text, voice with WeChat's recognition (``Recognition``) and location messages become one
  ``Message`` for the pipeline; ``MsgId`` is its ``channel_msg_id``, so a message WeChat sends again
  gets the stored reply and creates nothing twice. Subscribing and the menu get fixed texts and store
  nothing; other events get ``success`` (no reply); other message types a polite text.
- WeChat waits 5 seconds, then retries (3 tries in all). The pipeline runs in a small thread pool; if
  it has not finished within ``WECHAT_REPLY_BUDGET`` seconds the request answers ``success`` and the
  reply, once ready, is queued in the outbox as a customer-service message (客服消息) and sent at
  once. A lock per message makes sure exactly one of the two ways answers. A retry that reaches
  another worker while the first is still at work gets ``InProgress`` from intake and answers
  ``success``: the first one answers.

Menu (自定义菜单) buttons of type ``click`` use the keys ``MENU_LOOKUP`` and ``MENU_FAQ``; the README
shows the menu JSON to create with WeChat's menu API.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element
from xml.parsers.expat import ExpatError

from flask import Blueprint, Response, current_app, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from channels.security import UnsafeXml, hotline, parse_xml, sender_allowed
from channels.senders import build_senders
from intake.conversations import InProgress
from intake.core.messages import Message, Outcome
from intake.core.outbox import Sender
from intake.core.privacy import mask_phone
from intake.hotline import Hotline
from intake.spool import Spooled

log = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)

REPLY_BUDGET = 4.0  # seconds; WeChat gives up at 5, and the request needs some of them to travel
POOL_SIZE = 8  # messages handled at once per worker process; more wait in the pool's queue
# WeChat retries within about 15 seconds; a retry arriving this long after the first attempt finished
# still finds it here and does not answer a second time.
RETRY_WINDOW = 60.0
# WeChat does not ask us to check the timestamp, but the plaintext signature does not cover the body:
# without a limit, one captured signature could carry any forged message for ever.
MAX_CLOCK_SKEW = 300  # seconds
MAX_REPLY_BYTES = 2048  # WeChat's documented limit for a text message's content
CUT = "……"

MENU_LOOKUP = "LOOKUP"  # 查询工单
MENU_FAQ = "FAQ"  # 常见问题

BUSY = "您发送消息过于频繁，请稍后再试。"
UNHEARD = "抱歉，这条语音没能识别出文字。请直接发送文字，说明您要咨询、求助或反映的事项。"
UNSUPPORTED = "抱歉，暂时只能处理文字、语音和位置消息。请用文字说明您要咨询、求助或反映的事项。"
FAILED = "抱歉，系统暂时没能处理您的消息，请稍后再发送一次。"
SPOOLED = "系统暂时繁忙，您的消息已收到并保存，系统恢复后会自动处理。"
SEND_PLACE = "您也可以点击输入框旁的“+”，选择“位置”发送地点。"
LOOKUP = (
    "查询办理进度，请发送“查询”加工单号，例如：查询 2611230001。\n"
    "在电话、短信等其他渠道登记的工单，请在后面加上登记电话号码的后四位，例如：查询 2611230001 1234。"
)
FAQ = (
    "您可以直接发送想咨询的问题，我们会从政务知识库中为您解答，例如：\n"
    "· 社保卡丢了怎么补办\n· 公积金怎么提取\n· 孩子上学需要准备哪些材料\n"
    "如果有多个相近的问题，会列出选项，回复序号即可。"
)


# ------------------------------------------------------------------ verifying


def _signed(signature: str, *parts: str) -> bool:
    """WeChat's signature (sha1 of the sorted parts), compared in constant time."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    # wechatpy's own checks compare with ``!=``; this one runs first, so a timing probe learns nothing
    return hmac.compare_digest(signer.signature, signature or "")


class Refused(Exception):
    """A request we will not read: ``status`` 403 (not from WeChat) or 400 (not a message)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@bp.errorhandler(Refused)
def _refused(exc: Refused) -> Response:
    log.warning("wechat request refused (%s): %s", exc.status, exc.reason)
    text = "forbidden" if exc.status == 403 else "无法读取的消息格式"
    return Response(text, status=exc.status, mimetype="text/plain")


def _check_signature(hl: Hotline) -> None:
    token = hl.settings.wechat_token
    if not token:
        raise Refused(403, "WECHAT_TOKEN is not set")
    args = request.args
    if not _signed(args.get("signature", ""), token, args.get("timestamp", ""), args.get("nonce", "")):
        raise Refused(403, "bad signature")


def _check_fresh(hl: Hotline) -> None:
    raw = request.args.get("timestamp", "")
    if not raw.isdigit() or abs(int(raw) - hl.clock().timestamp()) > MAX_CLOCK_SKEW:
        raise Refused(403, f"timestamp {raw[:20]!r} is not within {MAX_CLOCK_SKEW} s of our clock")


def _safe_xml(body: bytes) -> Element:
    """``body`` parsed with defusedxml, or refused with 400."""
    try:
        return parse_xml(body)
    except UnsafeXml as exc:
        raise Refused(400, f"unsafe or malformed XML: {exc}") from None


def _read_xml(body: bytes) -> tuple[str, Element]:
    """``body`` as text for wechatpy once defusedxml has found it harmless, and as parsed."""
    root = _safe_xml(body)
    try:
        return body.decode("utf-8"), root
    except UnicodeDecodeError:  # WeChat always sends UTF-8
        raise Refused(400, "body is not UTF-8") from None


def _inbound_xml(hl: Hotline) -> tuple[str, Element, WeChatCrypto | None]:
    """The message's XML (decrypted in safe mode), parsed, and the crypto to encrypt the reply with."""
    body = request.get_data()
    aes_key = hl.settings.wechat_aes_key
    encrypted = request.args.get("encrypt_type", "raw").lower() == "aes"
    if encrypted != bool(aes_key):
        # the account's message mode (明文/兼容/安全) and WECHAT_ENCODING_AES_KEY disagree
        raise Refused(
            403, f"encrypt_type={request.args.get('encrypt_type')!r} but safe mode is {bool(aes_key)}"
        )
    if not encrypted:
        return *_read_xml(body), None
    if not hl.settings.wechat_app_id:
        raise Refused(403, "safe mode needs WECHAT_APP_ID: the decrypted message must name our account")
    outer = _safe_xml(body)
    encrypt = outer.findtext("Encrypt")
    if not encrypt:
        raise Refused(400, "safe mode body without <Encrypt>")
    args = request.args
    token, timestamp, nonce = hl.settings.wechat_token or "", args.get("timestamp", ""), args.get("nonce", "")
    msg_signature = args.get("msg_signature", "")
    if not _signed(msg_signature, token, timestamp, nonce, encrypt):
        raise Refused(403, "bad msg_signature")
    crypto = WeChatCrypto(token, aes_key, hl.settings.wechat_app_id)
    try:
        inner = crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise Refused(403, f"{type(exc).__name__}: not for this account") from None
    except Exception as exc:  # garbage ciphertext: base64, padding, length or encoding errors
        raise Refused(400, f"cannot decrypt: {type(exc).__name__}") from None
    return *_read_xml(inner.encode("utf-8")), crypto


def _parse(xml: str) -> BaseMessage:
    try:
        msg = parse_message(xml)
        source, _, _ = msg.source, msg.id, msg.time  # read lazily: a bad MsgId fails here, not later
    except (KeyError, AttributeError, TypeError, ValueError, ExpatError) as exc:
        raise Refused(400, f"not a WeChat message: {type(exc).__name__}") from None
    if not source or len(source) > 128:
        raise Refused(400, "no FromUserName")
    return msg


# ------------------------------------------------------------------ the routes


@bp.get("/wechat")
def verify() -> Response:
    """URL verification: return ``echostr`` unchanged when WeChat signed the request."""
    _check_signature(hotline())
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@bp.post("/wechat")
def incoming() -> Response:
    """One message or event from WeChat; the passive reply, or ``success`` when there is none (yet)."""
    hl = hotline()
    _check_signature(hl)
    _check_fresh(hl)
    xml, root, crypto = _inbound_xml(hl)
    msg = _parse(xml)
    # wechatpy turns an event type it does not know into an ``UnknownMessage``: ask the XML itself
    if (root.findtext("MsgType") or "").strip().lower() == "event":
        text = _event_reply(hl, msg)
    else:
        text = _reply(hl, msg)
    if not text:
        return Response("success", mimetype="text/plain")
    reply = TextReply(content=text, message=msg).render()
    if crypto is not None:
        reply = crypto.encrypt_message(reply, request.args.get("nonce", ""), request.args.get("timestamp"))
    return Response(reply, mimetype="application/xml")


def _reply(hl: Hotline, msg: BaseMessage) -> str | None:
    """The text to answer a message with; ``None`` for no reply now (``success``)."""
    message = to_message(msg)
    if message is None:
        return UNHEARD if msg.type == "voice" else UNSUPPORTED
    if not sender_allowed("wechat", message.sender):
        return BUSY
    budget = float(current_app.config.get("WECHAT_REPLY_BUDGET", REPLY_BUDGET))
    return _replies().answer(message, budget)


def to_message(msg: BaseMessage) -> Message | None:
    """The pipeline's ``Message`` for a text, recognised voice or location; ``None`` for anything else."""
    common = {
        "channel": "wechat",
        "sender": msg.source,
        "channel_msg_id": str(msg.id or f"{msg.source}:{msg.time}"),
    }
    if msg.type == "text":
        return Message(text=msg.content or "", kind="text", **common)
    if msg.type == "voice" and (msg.recognition or "").strip():
        return Message(text=msg.recognition.strip(), kind="voice", meta={"media_id": msg.media_id}, **common)
    if msg.type == "location":
        lat, lon, label = msg.location_x, msg.location_y, (msg.label or "").strip()
        meta = {"lat": lat, "lon": lon, "scale": msg.scale, "label": label or None}
        return Message(text=label or f"{lat},{lon}", kind="location", meta=meta, **common)
    return None


def _event_reply(hl: Hotline, msg: BaseMessage) -> str | None:
    event = getattr(msg, "event", None)
    if event in ("subscribe", "subscribe_scan"):
        return welcome(hl)
    if event == "click":
        return {MENU_LOOKUP: LOOKUP, MENU_FAQ: faq(hl)}.get(msg.key or "", welcome(hl))
    # unsubscribe, scan, view, location reports (where the phone is, not where a matter is), …
    return None


def welcome(hl: Hotline) -> str:
    """What a new follower reads: what we do, how to look a ticket up, and whom to call in an emergency."""
    lines: dict[str, str] = {}
    for line in hl.policy.emergency_lines:
        lines.setdefault(line.number, line.name)
    emergencies = "、".join(f"{number}（{name}）" for number, name in lines.items())
    return (
        f"您好，欢迎关注{hl.policy.title}！\n"
        "在这里可以咨询政策、办事流程，反映问题、提出求助、投诉和建议：直接发送文字或语音即可。"
        "能马上答复的我们当场答复，需要承办单位办理的会登记工单并告诉您工单号和办理时限。\n"
        "查询办理进度：发送“查询”加工单号，例如：查询 2611230001。\n"
        f"遇到火灾、伤病、治安、交通事故等紧急情况，请直接拨打{emergencies}，不要在这里留言等待。"
    )


def faq(hl: Hotline) -> str:
    """Guidance for the common-questions button, with the public knowledge look-up when it is online."""
    base = hl.settings.public_url
    return FAQ + (f"\n也可以在这里查找常见问题的答案：{base}/kb" if base else "")


def render(outcome: Outcome) -> str:
    """The WeChat text for an outcome, at most ``MAX_REPLY_BYTES`` bytes."""
    if outcome.action in ("clarify", "move") and outcome.candidates:  # a list, or the list again
        lines = "\n".join(f"回复{i}：{c.question}" for i, c in enumerate(outcome.candidates, 1))
        text = f"您想咨询的是以下哪一项？\n{lines}\n如果都不是，请再详细描述一下您的问题。"
    elif outcome.action == "ask":
        text = f"{outcome.reply}\n{SEND_PLACE}"
    else:
        text = outcome.reply
    return cap(text)


def cap(text: str, limit: int = MAX_REPLY_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes at a character boundary, marked as cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    room = limit - len(CUT.encode("utf-8"))
    return text.encode("utf-8")[:room].decode("utf-8", errors="ignore") + CUT


# ------------------------------------------------------------------ within 5 seconds, or later

_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="wechat")


@dataclass
class _Work:
    """One message being handled, shared by the request that started it and any retry of it."""

    future: Future
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: int = 0  # requests still waiting for the outcome
    replied: bool = False  # a passive reply was rendered
    handed_off: bool = False  # the outbox answers instead
    finished: float | None = None


class Replies:
    """Runs messages in the pool and makes sure each is answered exactly once: passively or later."""

    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline
        self.lock = threading.Lock()
        self.work: dict[str, _Work] = {}
        self._senders: Mapping[str, Sender] | None = None

    def answer(self, message: Message, budget: float) -> str | None:
        """The reply if the pipeline finishes within ``budget`` seconds, else ``None`` (sent later)."""
        key = message.channel_msg_id or ""
        with self.lock:
            self._forget_old()
            work = self.work.get(key)
            if work is None:  # not a retry of a message this process is (or just was) handling
                work = _Work(_pool.submit(self.hotline.handle, message), waiting=1)
                self.work[key] = work
                work.future.add_done_callback(lambda _: self._finished(work, message))
            else:
                with work.lock:
                    work.waiting += 1
        wait([work.future], timeout=budget)
        with work.lock:
            work.waiting -= 1
            if not work.future.done() or work.handed_off:
                return None  # the callback hands it to the outbox once no request waits for it
            work.replied = True
        text = self._text(work.future)
        # a retry on another worker after that worker's late answer went out: say nothing more
        if text is not None and not self.hotline.claim_reply("wechat", key, "passive"):
            return None
        return text

    def _finished(self, work: _Work, message: Message) -> None:
        with work.lock:
            work.finished = time.monotonic()
            if work.replied or work.waiting:
                return  # a waiting request renders it
            work.handed_off = True
        text = self._text(work.future)
        if text is None:
            return
        try:
            # a retry on another worker may have been answered passively meanwhile
            if not self.hotline.claim_reply("wechat", message.channel_msg_id or "", "late"):
                return
            self._send_late(message, text)
        except Exception:  # a pool thread has nobody to report to
            log.exception("wechat: late answer to %s could not be queued", mask_phone(message.sender))

    def _text(self, future: Future) -> str | None:
        """The reply for a finished piece of work; ``None`` when another request owns the answer."""
        error = future.exception()
        if isinstance(error, InProgress):  # another worker has this message: it, or its outbox, answers
            return None
        if isinstance(error, Spooled):  # the database is down; the worker answers once it is back
            return SPOOLED
        if error is not None:  # the message is stored as failed; intake logged why
            return FAILED
        return render(future.result())

    def _send_late(self, message: Message, body: str) -> None:
        """Queue the answer as a customer-service message and try to send it now."""
        hl = self.hotline
        with hl.db.session() as session:
            row = hl.outbox.enqueue(
                session,
                key=f"wechat-late:{message.channel_msg_id}",
                channel="wechat",
                recipient=message.sender,
                body=body,
            )
            session.commit()
            row_id = row.id
        senders = self.senders()
        if "wechat" not in senders:
            log.warning("wechat: WECHAT_APP_ID/WECHAT_APP_SECRET unset, late answer %s stays queued", row_id)
            return
        report = hl.outbox.deliver(row_id, senders)
        log.info("wechat: late answer %s to %s: sent=%s", row_id, mask_phone(message.sender), report.sent)

    def senders(self) -> Mapping[str, Sender]:
        # built once: a new WeChat client would fetch a new access token (a daily quota) for each message
        with self.lock:
            if self._senders is None:
                self._senders = build_senders(self.hotline.settings)
            return self._senders

    def _forget_old(self) -> None:
        horizon = time.monotonic() - RETRY_WINDOW
        for key in [k for k, w in self.work.items() if w.finished is not None and w.finished < horizon]:
            del self.work[key]


def _replies() -> Replies:
    """This app's ``Replies``, made on first use (tests build an app per hotline)."""
    replies = current_app.extensions.get("wechat_replies")
    if replies is None:
        replies = current_app.extensions.setdefault("wechat_replies", Replies(hotline()))
    return replies
