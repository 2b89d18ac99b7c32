"""The phone channel (Twilio Voice): a Mandarin IVR under ``/voice/``.

``POST /voice/incoming`` is the number's voice URL and ``POST /voice/status`` its call-status
callback; every other step is an ``action`` URL this module writes into its own TwiML. Each step
verifies Twilio's signature, turns what the caller said (``SpeechResult``) or pressed (``Digits``)
into one ``Message``, calls the pipeline and renders the ``Outcome`` as TwiML
(https://www.twilio.com/docs/voice/twiml, parameters: https://www.twilio.com/docs/voice/twiml/gather).
No rule lives here.

Workers stay stateless: where the call stands travels in the action URL's query string, which Twilio
signs with the rest: ``t`` the turn, ``m`` the misses at this question, ``p`` the question (``w``
welcome, ``s`` free speech, ``c`` a list to choose from), ``a`` the turn that 1 repeats, ``n`` the
ticket number being looked up. Every message is stored as ``{CallSid}:{turn}``, so a webhook that
Twilio retries gets the stored outcome back, renders the same TwiML and does nothing twice; pressing 1
asks the pipeline for that turn once more, which returns it the same way.

The caller's number is the sender. A withheld caller ID (``anonymous``, ``unknown``…) still gets
through, as ``anonymous:{CallSid}`` so that two withheld callers never share a conversation, but gets
no SMS and cannot prove a ticket by caller ID. Anything unexpected inside a step still answers valid
TwiML: an apology and voicemail.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, request
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from channels.security import hotline, sender_allowed, twilio_signed
from channels.twiml import as_response, digits_aloud, gather, say, sayable, spell_numbers
from intake.core.messages import Message, Outcome
from intake.core.privacy import mask_phone
from intake.spool import Spooled
from intake.status import parse_status_query
from kb.answer_forms import spoken

log = logging.getLogger(__name__)

bp = Blueprint("voice", __name__, url_prefix="/voice")

LOW_CONFIDENCE = 0.4  # below this Twilio's transcript is more likely noise than what was said
MAX_MISSES = 2  # silence or nothing usable this often at one question: a person or voicemail
MAX_RECORDING = 180  # seconds of voicemail
DIAL_TIMEOUT = 30  # seconds a transfer rings
# How Twilio spells a withheld caller ID on the keypad: ANONYMOUS, RESTRICTED, UNAVAILABLE, UNKNOWN.
KEYPAD_WITHHELD = {"266696687", "7378742833", "86282452253", "8656696"}
_PHONE = re.compile(r"^\+?\d{5,15}$")

HOTLINE = "幺二三四五政务服务便民热线"
WELCOME = f"您好，这里是{HOTLINE}。请直接说出您要咨询或反映的问题；查询工单办理进度请按9，{{zero}}请按0。"
QUESTIONS = {  # asked again after a miss, by question
    "w": "请直接说出您要咨询或反映的问题；查询工单请按9，{zero}请按0。",
    "s": "请再说一遍，{zero}请按0。",
    "c": "请按序号键选择，或者直接说出您的问题；{zero}请按0。",
}
CHOOSE = "您想咨询的是以下哪一项？{choices}。请按序号键选择；如果都不是，请直接说出您的问题。"
NO_INPUT = "没有听到您的声音。"
NOT_UNDERSTOOD = "抱歉，没有听清。"
SPEAK = "请说出您的问题，包括发生了什么事、在什么地方。"
MENU = "重听请按1，反映其他问题请按2，{zero}请按0；没有其他问题，请直接挂机。"
GOODBYE = "感谢您的来电，再见。"
SMS_SENT = "工单号稍后会通过短信发到您的手机。"
NUMBER_AGAIN = "再说一遍，您的工单号是：{digits}。"
YOUR_NUMBER = "您的工单号是：{digits}。"
LOOKUP = "请输入工单号，输入完毕请按井号键。"
WRONG_NUMBER = "工单号有误。"
CHECK = "请输入登记这张工单的电话号码的后四位。"
WRONG_CHECK = "请输入四位数字。"
NOT_FOUND = "没有查到工单{digits}，或者验证信息不符。请核对工单号后再查询。"
TO_AGENT = "正在为您转接人工服务，请稍候。"
AGENT_BUSY = "人工座席暂时忙。"
VOICEMAIL = "请在提示音后留言，说明您反映的事项、地点和联系方式，说完请按井号键。"
OFF_HOURS = f"您好，这里是{HOTLINE}。现在是非工作时间，您的留言我们会在工作时间尽快处理。"
EMERGENCY_NOTE = "如遇紧急情况，请立即挂机拨打{lines}。"
NO_RECORDING = "没有收到您的留言。" + GOODBYE
RECORDED = "您的留言已经登记。"
PLACE_IN_RECORDING = "地点等详情见录音"
TRANSFER_FAILED = "转接没有成功，请挂机后直接拨打{line}。"
TOO_MANY = "您的来电过于频繁，请稍后再拨。感谢您的理解，再见。"
KEPT_FOR_LATER = (
    "您说的内容已经记录。系统暂时繁忙，恢复后会自动处理。紧急情况请直接拨打{lines}。感谢您的来电，再见。"
)
SORRY = "抱歉，系统出现故障。"
SORRY_LOST = "抱歉，系统出现故障，您的留言没有保存成功，请稍后再拨。"


# ---------------------------------------------------------------- the call and where it stands


@dataclass(frozen=True)
class Call:
    """Who is calling and where the call stands, from Twilio's parameters and our query string."""

    sid: str
    sender: str
    phone: str | None  # None when the caller ID is withheld
    turn: int = 0
    misses: int = 0
    question: str = "w"
    replay: int | None = None
    number: str | None = None

    def url(self, step: str, **query: object) -> str:
        """The address of ``step`` with ``query``, as Twilio will call (and sign) it."""
        base = hotline().settings.public_url or request.root_path
        params = urlencode({k: v for k, v in query.items() if v is not None})
        return f"{base}/voice/{step}" + (f"?{params}" if params else "")

    def message(self, text: str, *, key: str, kind: str = "text", **meta: Any) -> Message:
        """One thing the caller said or keyed in, stored as ``{CallSid}:{key}``."""
        return Message(
            channel="voice", sender=self.sender, text=text, channel_msg_id=f"{self.sid}:{key}", kind=kind,
            meta=meta,
        )  # fmt: skip


def withheld(caller_id: str) -> bool:
    """Whether ``From`` is no number we could text or check (a withheld or unknown caller ID)."""
    caller_id = caller_id.strip()
    return not _PHONE.match(caller_id) or caller_id.lstrip("+") in KEYPAD_WITHHELD


def _small_int(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) <= 4 else None


def current_call() -> Call:
    """The call this request belongs to; 400 without a ``CallSid`` (not a voice webhook)."""
    sid = request.form.get("CallSid", "").strip()
    if not sid or len(sid) > 64:
        abort(400)
    caller_id = request.form.get("From", "")
    phone = None if withheld(caller_id) else caller_id.strip()
    number = request.args.get("n", "")
    question = request.args.get("p", "w")
    return Call(
        sid=sid,
        sender=phone or f"anonymous:{sid}",
        phone=phone,
        turn=_small_int("t") or 0,
        misses=_small_int("m") or 0,
        question=question if question in QUESTIONS else "w",
        replay=_small_int("a"),
        number=number if number.isdigit() and len(number) <= 20 else None,
    )


def _zero() -> str:
    """What 0 gets: a person when the deployment has an agent number, else voicemail."""
    return "人工服务" if hotline().settings.agent_number else "留言"


# ---------------------------------------------------------------- questions and menus


def _ask(
    call: Call, response: VoiceResponse, step: str, text: str, *, speech: bool, **gather_options: Any
) -> None:
    """Ask ``text`` at ``step`` for the next turn; silence comes back to the same step as a miss.

    The ``<Redirect>`` after the ``<Gather>`` is where Twilio goes when nothing was said or pressed; it
    carries the same query, and the step counts the empty request as a miss.
    """
    query = {"t": call.turn + 1, "m": call.misses or None, "a": call.replay, "n": call.number}
    if step == "listen":
        query["p"] = call.question
    url = call.url(step, **query)
    say(gather(response, url, speech=speech, **gather_options), text)
    response.redirect(url)


def _listen(call: Call, response: VoiceResponse, text: str, question: str) -> None:
    """A question the caller answers by speaking (a key works too), posted to ``/voice/listen``."""
    _ask(replace(call, misses=0, question=question, replay=None, number=None), response, "listen", text,
         speech=True)  # fmt: skip


def _menu(call: Call, response: VoiceResponse, text: str) -> None:
    """Say ``text``, then offer: 1 hear it again, 2 another matter, 0 a person (or voicemail)."""
    menu_call = replace(call, misses=0, replay=call.turn)
    _ask(menu_call, response, "menu", f"{text}{MENU.format(zero=_zero())}", speech=False)


def _voicemail(call: Call, response: VoiceResponse, lead: str = "") -> None:
    say(response, lead + VOICEMAIL)
    response.record(
        action=call.url("voicemail", t=call.turn + 1), method="POST", max_length=MAX_RECORDING, timeout=5,
        finish_on_key="#", play_beep=True,
    )  # fmt: skip
    say(response, NO_RECORDING)  # Twilio skips the action of an empty recording and comes here
    response.hangup()


def _operator(call: Call, response: VoiceResponse, lead: str = "") -> None:
    """A person at the configured agent number; without one, voicemail."""
    agent = hotline().settings.agent_number
    if not agent:
        _voicemail(call, response, lead)
        return
    say(response, lead + TO_AGENT)
    url = call.url("dialed", t=call.turn + 1, to="agent")
    response.dial(action=url, method="POST", timeout=DIAL_TIMEOUT).number(agent)


def _miss(
    call: Call, step: str, lead: str, question: str, *, speech: bool, **gather_options: Any
) -> Response:
    """Ask again once; the second miss goes to a person or voicemail, never round in a loop."""
    response = VoiceResponse()
    missed = replace(call, misses=call.misses + 1)
    if missed.misses >= MAX_MISSES:
        _operator(missed, response, lead)
    else:
        _ask(missed, response, step, lead + question, speech=speech, **gather_options)
    return as_response(response)


# ---------------------------------------------------------------- rendering an outcome


def _dial_number(line: str) -> str:
    """The number dialled for an emergency line: the deployment's, else the pack's, else the line."""
    settings = hotline().settings
    if line in settings.dial_numbers:
        return settings.dial_number(line)
    pack = next((e.dial for e in hotline().policy.emergency_lines if e.number == line and e.dial), None)
    return pack or settings.dial_number(line)


def _spoken_answer(outcome: Outcome) -> str:
    """The answer's version for the phone, also for an outcome the pipeline returns from storage.

    Conversations stores an outcome's public fields only, so the one it returns for a retried webhook or a
    repeat has lost ``spoken_reply``: it is taken from the entry again, so the caller hears the same.
    """
    if outcome.spoken_reply:
        return outcome.spoken_reply
    with hotline().db.session() as session:
        entries = hotline().kb.refresh(session).entries
    entry = next((e for e in entries if e.public_id == outcome.kb_id and e.answer == outcome.reply), None)
    return spoken(outcome.reply, entry.spoken_answer if entry else None)


def _said(outcome: Outcome) -> str:
    """The reply as read aloud: an answer's spoken version (a repeated one too), any other made sayable."""
    if outcome.action == "answer" or (outcome.move == "repeat" and outcome.kb_id):
        return spell_numbers(_spoken_answer(outcome))
    return sayable(outcome.reply)


def _choices(outcome: Outcome) -> str:
    return "；".join(
        f"第{i}项，{c.question.rstrip('？?。')}" for i, c in enumerate(outcome.candidates or [], 1)
    )


def _render_move(call: Call, response: VoiceResponse, outcome: Outcome) -> None:
    """A conversation move: a closer ends the call, "转人工" reaches a person, the others listen on."""
    if outcome.move == "closing":
        say(response, _said(outcome))
        response.hangup()
    elif outcome.move == "agent":
        policy, settings = hotline().policy, hotline().settings
        now = hotline().clock().astimezone(settings.timezone)
        if policy.hours.is_staffed(now.time()) is False:  # nobody answers now: the pack says so
            _voicemail(call, response)
        else:
            _operator(call, response)  # the agent number, or voicemail without one
    elif outcome.move == "repeat" and outcome.candidates:
        _listen(call, response, CHOOSE.format(choices=_choices(outcome)), "c")
    elif outcome.move == "repeat" and (outcome.kb_id or outcome.ticket):
        _menu(call, response, _said(outcome))  # an answer or a confirmation, heard again
    else:  # a greeting, thanks, an acknowledgement, "不是这个", a question heard again
        _listen(call, response, _said(outcome), "s")


def render(call: Call, outcome: Outcome) -> VoiceResponse:
    """The TwiML for the pipeline's decision on ``call.turn``."""
    response = VoiceResponse()
    number = _dial_number(outcome.transfer_to) if outcome.transfer_to else ""
    if outcome.action == "transfer" and any(c.isdigit() for c in number):
        line = outcome.transfer_to
        say(response, _said(outcome))
        url = call.url("dialed", t=call.turn + 1, to=line)
        response.dial(action=url, method="POST", timeout=DIAL_TIMEOUT).number(number)
    elif outcome.action == "ask":
        _listen(call, response, _said(outcome), "s")
    elif outcome.action == "clarify":
        _listen(call, response, CHOOSE.format(choices=_choices(outcome)), "c")
    elif outcome.action == "move":
        _render_move(call, response, outcome)
    elif outcome.action == "ticket" and outcome.ticket:
        again = NUMBER_AGAIN.format(digits=digits_aloud(outcome.ticket.number))
        _menu(call, response, _said(outcome) + (SMS_SENT if _texted(call) else "") + again)
    elif outcome.action == "status" and outcome.ticket is None:
        _menu(call, response, NOT_FOUND.format(digits=digits_aloud(call.number or "")))
    else:  # answer, redirect, decline, a status found; a utility line with no number: its guidance
        _menu(call, response, _said(outcome))
    return response


def _texted(call: Call) -> bool:
    """Whether the caller may be told the number follows by SMS: a caller ID, and an SMS gateway."""
    return call.phone is not None and hotline().settings.sms_provider != "none"


def _handle(call: Call, message: Message) -> Response:
    return as_response(render(call, hotline().handle(message)))


# ---------------------------------------------------------------- the steps


def step(fallback: Callable[[Call, VoiceResponse], None]) -> Callable[[Callable[[Call], Response]], Any]:
    """Run a step for the current call; an unexpected error still answers TwiML, from ``fallback``."""

    def wrap(view: Callable[[Call], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def run() -> Response:
            call = current_call()
            try:
                return view(call)
            except HTTPException:
                raise
            except Spooled:  # the database is down; what the caller said is kept for the worker
                log.warning("voice step %s of call %s kept in the spool", request.path, call.sid)
                response = VoiceResponse()
                lines = hotline().policy.emergency_numbers
                say(response, KEPT_FOR_LATER.format(lines="、".join(digits_aloud(n) for n in lines)))
                response.hangup()
                return as_response(response)
            except Exception:
                log.exception("voice step %s failed for call %s", request.path, call.sid)
                response = VoiceResponse()
                fallback(call, response)
                return as_response(response)

        return run

    return wrap


def _sorry_and_voicemail(call: Call, response: VoiceResponse) -> None:
    _voicemail(call, response, SORRY)


def _sorry_and_hang_up(call: Call, response: VoiceResponse) -> None:
    say(response, SORRY_LOST)
    response.hangup()


def _too_many(call: Call) -> Response | None:
    """The polite end of a call from a number over its rate limit (withheld numbers share one)."""
    if sender_allowed("voice", request.form.get("From", "").strip() or "anonymous"):
        return None
    response = VoiceResponse()
    say(response, TOO_MANY)
    response.hangup()
    return as_response(response)


@bp.post("/incoming")
@twilio_signed
@step(_sorry_and_voicemail)
def incoming(call: Call) -> Response:
    """A new call: the welcome and the first question, or voicemail outside staffed hours."""
    if refused := _too_many(call):
        return refused
    # an earlier call of this number whose hang-up we never heard of has ended all the same
    hotline().intake.abandon("voice", call.sender, reason="hung_up")
    response = VoiceResponse()
    policy, settings = hotline().policy, hotline().settings
    now = hotline().clock().astimezone(settings.timezone)
    if policy.hours.off_hours == "voicemail" and policy.hours.is_staffed(now.time()) is False:
        lines = "、".join(digits_aloud(n) for n in policy.emergency_numbers)
        _voicemail(call, response, OFF_HOURS + (EMERGENCY_NOTE.format(lines=lines) if lines else ""))
    else:
        _ask(call, response, "listen", WELCOME.format(zero=_zero()), speech=True)
    return as_response(response)


def _confidence() -> float:
    """Twilio's confidence in the transcript; 1.0 when it does not say (it is not always sent)."""
    try:
        return float(request.form.get("Confidence", "1"))
    except ValueError:
        return 1.0


@bp.post("/listen")
@twilio_signed
@step(_sorry_and_voicemail)
def listen(call: Call) -> Response:
    """What the caller said at a question, for the pipeline; or a key: 0 a person, 9 a look-up, a choice."""
    speech = request.form.get("SpeechResult", "").strip()
    digits = request.form.get("Digits", "").strip()
    question = QUESTIONS[call.question].format(zero=_zero())
    if not speech and not digits:
        return _miss(call, "listen", NO_INPUT, question, speech=True)
    if speech:
        if _confidence() < LOW_CONFIDENCE:
            return _miss(call, "listen", NOT_UNDERSTOOD, question, speech=True)
        message = call.message(speech, key=str(call.turn), kind="voice", confidence=_confidence())
    elif digits == "0":
        response = VoiceResponse()
        _operator(call, response)
        return as_response(response)
    elif digits == "9" and call.question == "w":
        return _ask_ticket_number(call)
    elif call.question == "c" and digits.isdigit():
        message = call.message(digits, key=str(call.turn))  # a choice from the list the pipeline offered
    else:
        return _miss(call, "listen", NOT_UNDERSTOOD, question, speech=True)
    if refused := _too_many(call):
        return refused
    return _handle(call, message)


@bp.post("/menu")
@twilio_signed
@step(_sorry_and_voicemail)
def menu(call: Call) -> Response:
    """The keys after a reply: 1 again, 2 another matter, 0 a person; silence twice ends the call."""
    digits = request.form.get("Digits", "").strip()
    response = VoiceResponse()
    if digits == "1" and call.replay is not None:
        # asked again, the pipeline returns the turn's stored outcome and does nothing twice
        outcome = hotline().handle(call.message("重听", key=str(call.replay)))
        return as_response(render(replace(call, turn=call.replay), outcome))
    if digits == "2":
        _listen(call, response, SPEAK, "s")
    elif digits == "0":
        _operator(call, response)
    elif not digits and call.misses + 1 >= MAX_MISSES:
        say(response, GOODBYE)  # the caller has heard the reply twice over and has nothing to ask
        response.hangup()
    else:
        lead = NOT_UNDERSTOOD if digits else NO_INPUT
        return _miss(call, "menu", lead, MENU.format(zero=_zero()), speech=False)
    return as_response(response)


def _ask_ticket_number(call: Call) -> Response:
    response = VoiceResponse()
    asking = replace(call, misses=0, replay=None, number=None)
    _ask(asking, response, "lookup", LOOKUP, speech=False, num_digits=None, timeout=10, finish_on_key="#")
    return as_response(response)


def _ask_check(call: Call, number: str) -> Response:
    response = VoiceResponse()
    _ask(replace(call, misses=0, replay=None, number=number), response, "check", CHECK, speech=False,
         num_digits=4, timeout=10)  # fmt: skip
    return as_response(response)


@bp.post("/lookup")
@twilio_signed
@step(_sorry_and_voicemail)
def lookup(call: Call) -> Response:
    """A ticket number keyed in: the caller ID proves it when it registered the ticket, else 4 digits."""
    digits = request.form.get("Digits", "").strip().rstrip("#")
    query = parse_status_query(digits) if digits.isdigit() else None
    if query is None or query.number != digits:
        return _miss(call, "lookup", WRONG_NUMBER if digits else NO_INPUT, LOOKUP, speech=False,
                     num_digits=None, timeout=10, finish_on_key="#")  # fmt: skip
    if call.phone is None:
        return _ask_check(call, digits)
    if refused := _too_many(call):
        return refused
    outcome = hotline().handle(call.message(f"查询 {digits}", key=str(call.turn)))
    if outcome.ticket is None:  # not registered from this phone, or no such ticket: ask for the proof
        return _ask_check(call, digits)
    return as_response(render(replace(call, number=digits), outcome))


@bp.post("/check")
@twilio_signed
@step(_sorry_and_voicemail)
def check(call: Call) -> Response:
    """The last four digits of the registering phone, for the ticket number ``n``."""
    digits = request.form.get("Digits", "").strip()
    if call.number is None:
        return _ask_ticket_number(call)
    if not (len(digits) == 4 and digits.isdigit()):
        return _miss(call, "check", WRONG_CHECK if digits else NO_INPUT, CHECK, speech=False, num_digits=4,
                     timeout=10)  # fmt: skip
    if refused := _too_many(call):
        return refused
    return _handle(call, call.message(f"查询 {call.number} {digits}", key=str(call.turn)))


@bp.post("/voicemail")
@twilio_signed
@step(_sorry_and_hang_up)
def voicemail(call: Call) -> Response:
    """A recorded message becomes a matter with the recording's address, for the office to listen to."""
    url = request.form.get("RecordingUrl", "").strip()
    response = VoiceResponse()
    if not url.startswith("https://"):
        say(response, NO_RECORDING)
        response.hangup()
        return as_response(response)
    log.info("voicemail of call %s: %s", call.sid, url)  # so that it can be found should storing fail
    seconds = request.form.get("RecordingDuration", "")
    length = f"（{seconds}秒）" if seconds.isdigit() else ""
    key = f"vm{call.turn}"
    message = call.message(f"电话留言{length}，请听录音：{url}", key=key, kind="voice", recording_url=url)
    outcome = hotline().handle(message)
    if outcome.action == "ask":  # the pipeline asks where; the caller has said it in the recording
        outcome = hotline().handle(call.message(PLACE_IN_RECORDING, key=f"{key}:place"))
    text = RECORDED
    if outcome.action == "ticket" and outcome.ticket:
        text += YOUR_NUMBER.format(digits=digits_aloud(outcome.ticket.number)) + (
            SMS_SENT if _texted(call) else ""
        )
    say(response, text + GOODBYE)
    response.hangup()
    return as_response(response)


@bp.post("/dialed")
@twilio_signed
@step(_sorry_and_hang_up)
def dialed(call: Call) -> Response:
    """A transfer ended: answered, the call is over; else voicemail for a person, the line to dial."""
    status = request.form.get("DialCallStatus", "")
    target = request.args.get("to", "")
    response = VoiceResponse()
    if status == "completed":
        response.hangup()
    elif target == "agent":
        _voicemail(call, response, AGENT_BUSY)
    else:
        line = digits_aloud(target) if target.isdigit() else "紧急求助电话"
        say(response, TRANSFER_FAILED.format(line=line) * 2)
        response.hangup()
    return as_response(response)


@bp.post("/status")
@twilio_signed
def status() -> tuple[str, int]:
    """Call status callback: recorded once per call and status; a hang-up abandons a pending matter."""
    call = current_call()
    call_status = request.form.get("CallStatus", "").strip()[:32] or "unknown"
    data = {k: request.form[k] for k in ("CallStatus", "CallDuration", "Direction") if k in request.form}
    if not hotline().record_once("voice", call.sid, f"status:{call_status}", data):
        return "", 204  # a callback Twilio retried: recorded already
    if call_status == "completed":
        # only this call's conversation: the report may come after the same number called again
        number = hotline().intake.abandon("voice", call.sender, reason="hung_up", session_ref=call.sid)
        if number:
            log.info(
                "call %s from %s hung up: matter %s abandoned", call.sid, mask_phone(call.sender), number
            )
    return "", 204
