"""Satisfaction call-backs by phone (Twilio Voice, outbound): placing the calls and the calls' TwiML.

``place_due_calls`` (a worker job) asks ``routing.callbacks`` which surveys are due a call and places
each with twilio's REST client (``calls.create``). The call fetches its TwiML from
``POST /voice/callback/call?s=<survey>``: who is calling (the hotline's title), about which matter
(the ticket number digit by digit and its first words; nothing for a confidential ticket), the unit's
reply in short, then a ``<Gather>`` for the pack's ratings by key or speech. 不满意 asks for the reason
by speech, which joins the ticket; when nothing usable is heard (a dialect the recogniser misses, a
silence) the citizen may leave it as a short recording instead (``<Record>``, at most
``MAX_REASON_SECONDS``). The recording's address joins the ticket once, brought by the record's action
(``/recorded``) or its ``recordingStatusCallback`` (``/recording``), whichever comes first.
``POST /voice/callback/status?s=<survey>`` is the call's status callback.

Every step is verified with Twilio's signature; the survey travels in the signed query string, and the
CallSid must be one we placed for that survey. The rules (who, when, how often, what follows) are in
``routing.callbacks``; this module only renders and records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, request
from sqlalchemy.orm import Session
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from channels.security import hotline, twilio_signed
from channels.senders import TWILIO_TIMEOUT
from channels.twiml import GATHER_LANGUAGE, as_response, digits_aloud, gather, say, spell_numbers
from intake.core.config import Settings
from intake.core.models import Ticket
from intake.core.privacy import mask_phone
from intake.hotline import Hotline
from routing.callbacks import CallBacks, Due, Duplicate, reply_in_short, summary
from routing.surveys import UNSATISFIED, SurveyRequest, ratings

log = logging.getLogger(__name__)

bp = Blueprint("callbacks", __name__, url_prefix="/voice/callback")

RING_SECONDS = 30  # how long a call-back rings before it counts as no answer
STATUS_EVENTS = ["answered", "completed"]
MAX_MISSES = 1  # a rating not heard is asked once more, then the call ends

INTRO = "您好，这里是{title}，现在对您反映的事项进行回访。"
MATTER = "您的工单号是{digits}，反映的是：{summary}。"
MATTER_NUMBER_ONLY = "您的工单号是{digits}。"
REPLIED = "承办单位的答复是：{reply}。"
ASK = "请您对办理结果进行评价：{options}。可以按键，也可以直接说出。"
NOT_HEARD = "抱歉，没有听清。"
NO_RATING = "没有收到您的评价。我们会再与您联系，再见。"
ASK_REASON = "请简要说出您不满意的原因，说完请稍候。"
ASK_RECORDING = "没有听清。请在提示音后留言说明原因，说完请按井号键。"
NO_RECORDING = "没有收到留言。"
REASON_KEPT = "您的意见已记录。"
MAX_REASON_SECONDS = 60  # a reason, not a new matter: a minute is plenty
ALREADY = "您的评价已经记录，感谢您的配合，再见。"
GOODBYE = "再见。"
SORRY = "抱歉，系统出现故障，我们会再与您联系，再见。"


def callbacks_of(line: Hotline) -> CallBacks:
    return CallBacks(line.surveys, line.settings.timezone)


# ---------------------------------------------------------------- placing calls (worker job)


def twilio_client(settings: Settings) -> Client:
    """twilio's REST client, pointed at ``TWILIO_API_BASE_URL`` when set (tests: a local fake)."""
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT),
    )
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url
    return client


def place_due_calls(line: Hotline, client_factory: Callable[[Settings], Client] = twilio_client) -> int:
    """Place the call-backs due now (none outside calling hours); returns how many were placed."""
    settings = line.settings
    callbacks = callbacks_of(line)
    now = line.clock()
    if not callbacks.may_call(now):
        return 0
    with line.db.session() as session:
        due = [(d.request.id, d.attempt) for d in callbacks.due(session, now)]
    if due and not (settings.public_url and settings.twilio_from_number and settings.twilio_account_sid):
        # said only when a call is owed, so an idle worker without Twilio does not fill the log
        log.warning("call-backs need HOTLINE_PUBLIC_URL, TWILIO_ACCOUNT_SID and TWILIO_FROM_NUMBER")
        return 0
    client: Client | None = None
    placed = 0
    for survey_id, attempt in due:
        with line.db.session() as session:
            request_ = session.get(SurveyRequest, survey_id)
            item = Due(request_, session.get(Ticket, request_.ticket_id), attempt)
            try:
                callbacks.claim(session, item, now)
                session.commit()  # claimed before dialling: another worker now skips this attempt
            except Duplicate:
                continue
            client = client or client_factory(settings)
            query = urlencode({"s": survey_id})
            try:
                call = client.calls.create(
                    to=request_.recipient, from_=settings.twilio_from_number, method="POST",
                    url=f"{settings.public_url}/voice/callback/call?{query}", timeout=RING_SECONDS,
                    status_callback=f"{settings.public_url}/voice/callback/status?{query}",
                    status_callback_method="POST", status_callback_event=STATUS_EVENTS,
                )  # fmt: skip
            except Exception as exc:  # counts as a failed attempt: retried later like an unanswered one
                log.warning("call-back to %s not placed: %s", mask_phone(request_.recipient), exc)
                callbacks.placed(session, item, now, call_sid=None, error=str(exc)[:300])
            else:
                callbacks.placed(session, item, now, call_sid=call.sid)
                placed += 1
            session.commit()
    return placed


# ---------------------------------------------------------------- the call's webhooks


@dataclass(frozen=True)
class Step:
    """The survey this webhook is about, and the call it comes from."""

    survey_id: int
    call_sid: str

    def url(self, step: str, **query: object) -> str:
        base = hotline().settings.public_url or request.root_path
        params = urlencode({"s": self.survey_id, **{k: v for k, v in query.items() if v is not None}})
        return f"{base}/voice/callback/{step}?{params}"


def current_step() -> Step:
    raw = request.args.get("s", "")
    sid = request.form.get("CallSid", "").strip()
    if not raw.isdigit() or len(raw) > 12 or not sid or len(sid) > 64:
        abort(400)
    return Step(int(raw), sid)


def _ours(session: Session, step: Step) -> tuple[SurveyRequest, Ticket] | None:
    """The survey and ticket, if this CallSid is a call we placed for this survey."""
    survey = session.get(SurveyRequest, step.survey_id)
    ticket = session.get(Ticket, survey.ticket_id) if survey else None
    if (
        survey is None
        or ticket is None
        or callbacks_of(hotline()).attempt_of(ticket, survey.id, step.call_sid) is None
    ):
        log.warning("call-back webhook for survey %s from an unknown call refused", step.survey_id)
        return None
    return survey, ticket


def _goodbye(text: str) -> Response:
    response = VoiceResponse()
    say(response, text)
    response.hangup()
    return as_response(response)


def _ask(response: VoiceResponse, step: Step, misses: int) -> None:
    options = "，".join(f"{value}请按{i}" for i, value in enumerate(ratings(hotline().policy), 1))
    prompt = gather(response, step.url("rate", m=misses or None), speech=True)
    say(prompt, ASK.format(options=options))
    if misses < MAX_MISSES:
        response.redirect(step.url("call", m=misses + 1), method="POST")
    else:
        say(response, NO_RATING)
        response.hangup()


@bp.post("/call")
@twilio_signed
def call() -> Response:
    """The TwiML an outbound call-back starts with (``m``: the rating was not heard this often)."""
    step = current_step()
    misses = request.args.get("m", "")
    with hotline().db.session() as session:
        found = _ours(session, step)
        if found is None:
            return _goodbye(SORRY)
        survey, ticket = found
        if survey.status != "asked":
            return _goodbye(ALREADY)
        response = VoiceResponse()
        if not misses:
            title = hotline().policy.title.replace("12345", "幺二三四五")
            say(response, INTRO.format(title=title))
            about = summary(ticket)
            digits = digits_aloud(ticket.number)
            matter = MATTER.format(digits=digits, summary=spell_numbers(about)) if about else None
            say(response, matter or MATTER_NUMBER_ONLY.format(digits=digits))
            reply = reply_in_short(ticket)
            if reply:
                say(response, REPLIED.format(reply=spell_numbers(reply)))
        else:
            say(response, NOT_HEARD)
        _ask(response, step, int(misses) if misses.isdigit() and len(misses) < 3 else 0)
        return as_response(response)


@bp.post("/rate")
@twilio_signed
def rate() -> Response:
    """The rating, pressed (``Digits``) or said (``SpeechResult``)."""
    step = current_step()
    digits = request.form.get("Digits", "").strip()
    said = digits or request.form.get("SpeechResult", "").strip()
    how = "dtmf" if digits else "speech"
    line = hotline()
    for _ in range(2):  # a second pass reads the verdict a concurrent duplicate stored
        with line.db.session() as session:
            found = _ours(session, step)
            if found is None:
                return _goodbye(SORRY)
            survey, _ticket = found
            try:
                verdict = callbacks_of(line).rate(
                    session, survey, step.call_sid, said[:200], line.clock(), how
                )
                session.commit()
            except Duplicate:
                continue
            break
    else:
        return _goodbye(ALREADY)
    response = VoiceResponse()
    if verdict is None:
        misses = request.args.get("m", "")
        say(response, NOT_HEARD)
        _ask(response, step, (int(misses) if misses.isdigit() and len(misses) < 3 else 0) + 1)
        return as_response(response)
    if verdict.rating == UNSATISFIED:
        # on silence or nothing recognised Twilio still posts to the action, which offers a recording
        prompt = response.gather(
            input="speech", language=GATHER_LANGUAGE, speech_timeout="auto", timeout=8,
            action=step.url("reason"), method="POST", action_on_empty_result=True,
        )  # fmt: skip
        say(prompt, ASK_REASON)
    say(response, verdict.reply + GOODBYE)
    response.hangup()
    return as_response(response)


@bp.post("/reason")
@twilio_signed
def reason() -> Response:
    """Why the citizen is not satisfied, said after 不满意: joins the ticket once."""
    step = current_step()
    text = request.form.get("SpeechResult", "")
    line = hotline()
    if not text.strip():
        return _record_reason(step)
    with line.db.session() as session:
        found = _ours(session, step)
        if found is None:
            return _goodbye(SORRY)
        survey, _ticket = found
        try:
            callbacks_of(line).reason(session, survey, step.call_sid, text, line.clock())
            session.commit()
        except Duplicate:
            pass  # Twilio retried this webhook: kept the first time
    return _goodbye(REASON_KEPT + GOODBYE)


def _record_reason(step: Step) -> Response:
    """Ask for the reason as a short recording; an empty one falls through to the goodbye."""
    response = VoiceResponse()
    say(response, ASK_RECORDING)
    response.record(
        action=step.url("recorded"), method="POST", max_length=MAX_REASON_SECONDS, timeout=5,
        finish_on_key="#", play_beep=True, recording_status_callback=step.url("recording"),
        recording_status_callback_method="POST", recording_status_callback_event="completed",
    )  # fmt: skip
    say(response, NO_RECORDING + GOODBYE)  # Twilio skips the action of an empty recording and comes here
    response.hangup()
    return as_response(response)


def _keep_recording(step: Step) -> bool:
    """Store the recording this webhook names (once); whether it is on the ticket now."""
    form = request.form
    url = form.get("RecordingUrl", "").strip()[:500]
    recording_sid = form.get("RecordingSid", "").strip()[:64]
    seconds = form.get("RecordingDuration", "").strip()
    if not url or not recording_sid:
        return False
    line = hotline()
    with line.db.session() as session:
        found = _ours(session, step)
        if found is None:
            return False
        survey, _ticket = found
        try:
            kept = callbacks_of(line).recording(
                session, survey, step.call_sid, recording_sid=recording_sid, url=url,
                seconds=int(seconds) if seconds.isdigit() and len(seconds) < 6 else None,
                now=line.clock(),
            )  # fmt: skip
            session.commit()
        except Duplicate:
            return True  # the other webhook of the two (or a retry) kept it already
    return kept


@bp.post("/recorded")
@twilio_signed
def recorded() -> Response:
    """The ``<Record>``'s action: the recorded reason joins the ticket, then goodbye."""
    step = current_step()
    kept = _keep_recording(step)
    return _goodbye((REASON_KEPT if kept else NO_RECORDING) + GOODBYE)


@bp.post("/recording")
@twilio_signed
def recording() -> tuple[str, int]:
    """The recording's status callback: a completed recording joins the ticket, if the action has not."""
    step = current_step()
    if request.form.get("RecordingStatus", "") == "completed":
        _keep_recording(step)
    return "", 204


@bp.post("/status")
@twilio_signed
def status() -> tuple[str, int]:
    """The call's status callback: recorded once; an unanswered last attempt brings in the fallback."""
    step = current_step()
    call_status = request.form.get("CallStatus", "").strip()[:32] or "unknown"
    line = hotline()
    with line.db.session() as session:
        survey = session.get(SurveyRequest, step.survey_id)
        if survey is None:
            return "", 204
        try:
            result = callbacks_of(line).call_status(session, survey, step.call_sid, call_status, line.clock())
            session.commit()
        except Duplicate:
            return "", 204
    if result == "unknown":
        log.warning("status of an unknown call-back call %s for survey %s ignored", step.call_sid, survey.id)
    return "", 204
