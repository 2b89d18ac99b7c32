"""The SMS channel (Twilio Messaging): ``POST /sms/incoming``, answered with TwiML.

Twilio posts every text sent to our number as a form (fields:
https://www.twilio.com/docs/messaging/guides/webhook-request) and sends back the ``<Message>`` of our
TwiML reply. For each request the adapter

1. checks Twilio's signature (403, nothing stored) and the sender's rate limit (an empty reply,
   nothing stored: answering a flood would cost money and could loop with an auto-responder);
2. answers a retried webhook (same ``MessageSid``) with the reply it recorded the first time;
3. lets ``intake.sms_exchange`` take the two kinds of message that are about the SMS exchange itself,
   not a matter: 退订/TD/STOP/取消 and 订阅/START (``intake.core.preferences``, or Twilio's
   ``OptOutType``), and "1" right after a reply that ended "回复1查看更多" (the next page; after the
   last page, that it was the last);
4. makes one ``Message`` of everything else and calls the pipeline (which also ties a rating such
   as "1" or 满意 to the sender's pending survey);
5. renders the outcome in at most two UCS-2 segments (``kb.answer_forms.sms_page``); the rest waits
   for "1".

**What "1" means.** "1" is also a clarify choice and a survey rating. The rule is: it answers the
last thing we sent. It means "more" only when the sender's previous message got a page ending
"回复1查看更多", within ``MORE_VALID``, and no SMS went to them since (a survey sent later takes it).
A clarify list is never paged (``render`` shortens it to fit), so while a list is the last thing
the citizen read, "1" goes to the pipeline and picks the first entry, as in every other channel.

**Where the pages are kept.** Every reply is recorded as a ``channel_events`` row (channel ``sms``,
ref = ``MessageSid``, kind ``reply``) holding the body sent and the text left. The messages handled
here without the pipeline (opt-out, "more") are stored in ``inbound_messages`` like any other, so "the
sender's previous message and what it got" is one query any worker can run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from channels.errors import KEPT, NOT_KEPT, SPOOLED, apology
from channels.security import hotline, sender_allowed, twilio_signed
from intake.conversations import NotProcessed
from intake.core.db import database_unavailable
from intake.core.messages import Message, Outcome
from intake.core.privacy import mask_phone
from intake.sms_exchange import CHANNEL, SmsReplies
from intake.spool import Spooled
from kb.answer_forms import PER_SEGMENT, SmsPage, sms_page, sms_units

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__)

FIT = 2 * PER_SEGMENT  # UCS-2 units in two segments

MEDIA_REPLY = "本热线短信暂时无法查看图片、语音等彩信内容，请用文字说明您要反映的事项和发生地点。{emergency}"
CLARIFY_HEAD = "您想咨询哪一项？请回复序号："
CLARIFY_TAIL = "都不是请再详细描述。"


# ---------------------------------------------------------------- rendering


def _shorten(text: str, budget: int) -> str:
    if sms_units(text) <= budget:
        return text
    kept = ""
    for ch in text:
        if sms_units(kept + ch) > budget - 1:
            break
        kept += ch
    return kept + "…"


def _clarify_text(outcome: Outcome) -> str:
    """The clarify list in two segments, questions shortened if need be: it must never be paged."""
    if sms_units(outcome.reply) <= FIT or not outcome.candidates:
        return outcome.reply
    questions = [c.question for c in outcome.candidates]
    fixed = sms_units(CLARIFY_HEAD + CLARIFY_TAIL) + sum(len(f"\n{i}.") for i in range(1, len(questions) + 1))
    each = (FIT - fixed - 1) // len(questions)
    lines = "".join(f"\n{i}.{_shorten(q, each)}" for i, q in enumerate(questions, 1))
    return f"{CLARIFY_HEAD}{lines}\n{CLARIFY_TAIL}"


def render(outcome: Outcome, message: Message | None = None) -> SmsPage:
    """The first SMS page of ``outcome`` (at most two segments) and what is left for "1"."""
    text = outcome.reply
    if outcome.action == "clarify" or (outcome.action == "move" and outcome.candidates):
        text = _clarify_text(outcome)  # a list, or the list said again ("重复一遍")
    elif message is not None and message.kind == "unknown" and outcome.decline_reason == "no_content":
        text = apology(MEDIA_REPLY)  # a picture alone: say why we cannot use it rather than "please describe"
    return sms_page(text)


def _twiml(body: str | None) -> Response:
    reply = MessagingResponse()
    if body:
        reply.message(body)
    return Response(str(reply), mimetype="text/xml")


# ---------------------------------------------------------------- the webhook


def _clean(body: str) -> str:
    # PostgreSQL text cannot hold NUL; it carries no meaning in a text message either
    return body.replace("\x00", "")


def _message(form: Mapping[str, str], sid: str, sender: str) -> Message:
    get = form.get
    try:
        media = max(int(get("NumMedia") or 0), 0)
    except ValueError:
        media = 0
    text = _clean(get("Body", ""))
    unreadable = media > 0 and not text.strip()
    types = [get(f"MediaContentType{i}", "") for i in range(min(media, 10))]
    return Message(
        channel=CHANNEL,
        sender=sender,
        text=text,
        channel_msg_id=sid,
        kind="unknown" if unreadable else "text",
        meta={"num_media": media, "media_types": types} if media else {},
    )


@bp.post("/sms/incoming")
@twilio_signed
def incoming() -> Response | tuple[str, int]:
    """Take one text message from Twilio and answer it with TwiML."""
    form = request.form
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    sender = form.get("From", "").strip()
    if not sid or not sender or len(sid) > 128 or len(sender) > 128:
        return "MessageSid and From are required", 400
    if not sender_allowed(CHANNEL, sender):
        return _twiml(None)
    replies = SmsReplies(hotline())
    message = _message(form, sid, sender)
    try:
        earlier = replies.reply_for(sid)
        if earlier is not None:
            return _twiml(earlier)  # a retried webhook: the same reply, nothing done twice
        body = replies.answer_here(message, form.get("OptOutType", "").strip().upper())
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        body = None  # the database is down: the pipeline's spool keeps the message
    if body is None:
        try:
            outcome = hotline().handle(message)
        except NotProcessed:  # the message is kept, marked failed: the citizen may be told so
            log.exception("sms %s from %s failed", sid, mask_phone(sender))
            return _twiml(apology(KEPT))
        except Spooled:  # the database is down; the worker replays it and texts the reply
            log.warning("sms %s from %s kept in the spool", sid, mask_phone(sender))
            return _twiml(apology(SPOOLED))
        except Exception:  # not stored (the database is down): the reply must not say it was
            log.exception("sms %s from %s could not be stored", sid, mask_phone(sender))
            return _twiml(apology(NOT_KEPT))
        page = render(outcome, message)
        body = replies.record(sid, page, outcome.action)
        log.info("sms %s from %s: %s", sid, mask_phone(sender), outcome.action)
    return _twiml(body)
