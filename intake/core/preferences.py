"""What a citizen asked of us about being contacted: no satisfaction surveys (退订), and back again (订阅);
call me rather than text me (电话回访), and back to texts (短信回访).

One row per (channel, sender) in ``contact_preferences``. The channel is the one a survey would be
delivered on: a phone number that texted 退订 has ``("sms", "+86…")`` and gets no survey SMS, whether
the matter was registered by SMS or by a call from that phone. The survey code asks ``wants_surveys``
before it queues one; the call-backs (``routing.callbacks``) ask ``prefers_calls``, which makes a
survey of a texted matter go by phone at once. The latest wish wins: 电话回访 after 退订 means "call me",
and 退订 clears an earlier 电话回访 ("leave me alone").

The keywords are the ones Chinese carriers and SMS gateways use (退订, TD) plus the English ones
Twilio and carriers abroad know (STOP, START); a message is a command only when it is the keyword and
nothing else, so "取消我昨天的投诉" is still a matter for the pipeline.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.models import ContactPreference
from intake.core.text import normalize

Command = Literal["opt_out", "opt_in", "prefer_calls", "prefer_sms"]

OPT_OUT_WORDS = ("退订", "td", "stop", "取消")
OPT_IN_WORDS = ("订阅", "start")
# "电话回访", "请电话回访", "要电话", "打电话给我" …, said on their own
PREFER_CALLS_WORDS = ("(请|要)?(打)?电话回访", "(我)?要电话", "(请)?(给我)?打电话(给我)?")
PREFER_SMS_WORDS = ("(请|要)?短信回访", "不要电话", "别打电话")
_END = r"[\s.!。！]*$"
# the whole message, matched on the normalised form (NFKC, lower case): "ＴＤ", "退订。" and "Stop" count
_COMMANDS: tuple[tuple[re.Pattern[str], Command], ...] = tuple(
    (re.compile(rf"^(?:{'|'.join(words)}){_END}"), command)
    for words, command in (
        (OPT_OUT_WORDS, "opt_out"),
        (OPT_IN_WORDS, "opt_in"),
        (PREFER_CALLS_WORDS, "prefer_calls"),
        (PREFER_SMS_WORDS, "prefer_sms"),
    )
)

OPT_OUT_REPLY = "您已退订12345热线的满意度回访短信，今后不再发送。如需恢复，请回复“订阅”。有事仍可随时来信。"
OPT_IN_REPLY = "您已恢复接收12345热线的满意度回访短信。如需退订，请回复“退订”。"
PREFER_CALLS_REPLY = (
    "好的，今后12345热线将通过电话对您进行满意度回访（白天拨打）。如需改回短信，请回复“短信回访”。"
)
PREFER_SMS_REPLY = "好的，今后12345热线将通过短信请您评价，不再专门电话回访。如需电话回访，请回复“电话回访”。"
CONFIRMATIONS: dict[Command, str] = {
    "opt_out": OPT_OUT_REPLY,
    "opt_in": OPT_IN_REPLY,
    "prefer_calls": PREFER_CALLS_REPLY,
    "prefer_sms": PREFER_SMS_REPLY,
}


def preference_command(text: str) -> Command | None:
    """``opt_out`` for 退订/TD/STOP/取消, ``opt_in`` for 订阅/START, ``prefer_calls`` for 电话回访/要电话,
    ``prefer_sms`` for 短信回访/不要电话, else ``None``."""
    match = normalize(text, 40).match
    return next((command for pattern, command in _COMMANDS if pattern.match(match)), None)


def _preference(session: Session, channel: str, sender: str, now: datetime) -> ContactPreference:
    """The sender's row, created when missing (two workers creating it at once end with one row)."""
    query = select(ContactPreference).where(
        ContactPreference.channel == channel, ContactPreference.sender == sender
    )
    row = session.scalar(query)
    if row is not None:
        return row
    row = ContactPreference(
        channel=channel, sender=sender, no_surveys=False, prefers_calls=False, updated_at=now
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return session.scalars(query).one()
    return row


def opt_out(session: Session, channel: str, sender: str, now: datetime) -> ContactPreference:
    """Send ``sender`` no more surveys on ``channel``, nor call them about one; the caller commits."""
    row = _preference(session, channel, sender, now)
    row.no_surveys = True
    row.prefers_calls = False
    row.updated_at = now
    return row


def opt_in(session: Session, channel: str, sender: str, now: datetime) -> ContactPreference:
    """Send ``sender`` surveys on ``channel`` again; the caller commits."""
    row = _preference(session, channel, sender, now)
    row.no_surveys = False
    row.updated_at = now
    return row


def prefer_calls(session: Session, channel: str, sender: str, now: datetime) -> ContactPreference:
    """Ask ``sender`` for ratings by phone (电话回访) rather than by text; the caller commits."""
    row = _preference(session, channel, sender, now)
    row.prefers_calls = True
    row.updated_at = now
    return row


def prefer_sms(session: Session, channel: str, sender: str, now: datetime) -> ContactPreference:
    """Back to the usual: a survey by text, a call only where the rules call anyway; the caller commits."""
    row = _preference(session, channel, sender, now)
    row.prefers_calls = False
    row.updated_at = now
    return row


def prefers_calls(session: Session, channel: str, sender: str) -> bool:
    """Whether ``sender`` asked to be called for surveys (电话回访)."""
    return bool(
        session.scalar(
            select(ContactPreference.prefers_calls).where(
                ContactPreference.channel == channel, ContactPreference.sender == sender
            )
        )
    )


def wants_surveys(session: Session, channel: str, sender: str) -> bool:
    """Whether a survey may be sent to ``sender`` on ``channel`` (yes unless they opted out)."""
    no_surveys = session.scalar(
        select(ContactPreference.no_surveys).where(
            ContactPreference.channel == channel, ContactPreference.sender == sender
        )
    )
    return not no_surveys


def apply_command(session: Session, command: Command, channel: str, sender: str, now: datetime) -> str:
    """Carry out ``command`` for ``sender`` and return the confirmation to send; the caller commits."""
    APPLY[command](session, channel, sender, now)
    return CONFIRMATIONS[command]


APPLY = {"opt_out": opt_out, "opt_in": opt_in, "prefer_calls": prefer_calls, "prefer_sms": prefer_sms}
