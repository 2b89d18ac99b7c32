"""What a citizen asked of us about being contacted: no satisfaction surveys (退订), and back again (订阅).

One row per (channel, sender) in ``contact_preferences``. The channel is the one a survey would be
delivered on: a phone number that texted 退订 has ``("sms", "+86…")`` and gets no survey SMS, whether
the matter was registered by SMS or by a call from that phone. The survey code (issue 6) asks
``wants_surveys`` before it queues one.

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

from intake.models import ContactPreference
from intake.text import normalize

Command = Literal["opt_out", "opt_in"]

OPT_OUT_WORDS = ("退订", "td", "stop", "取消")
OPT_IN_WORDS = ("订阅", "start")
# the whole message, matched on the normalised form (NFKC, lower case): "ＴＤ", "退订。" and "Stop" count
_OPT_OUT = re.compile(rf"^(?:{'|'.join(OPT_OUT_WORDS)})[\s.!。！]*$")
_OPT_IN = re.compile(rf"^(?:{'|'.join(OPT_IN_WORDS)})[\s.!。！]*$")

OPT_OUT_REPLY = "您已退订12345热线的满意度回访短信，今后不再发送。如需恢复，请回复“订阅”。有事仍可随时来信。"
OPT_IN_REPLY = "您已恢复接收12345热线的满意度回访短信。如需退订，请回复“退订”。"
CONFIRMATIONS: dict[Command, str] = {"opt_out": OPT_OUT_REPLY, "opt_in": OPT_IN_REPLY}


def preference_command(text: str) -> Command | None:
    """``opt_out`` for 退订/TD/STOP/取消, ``opt_in`` for 订阅/START, else ``None``."""
    match = normalize(text, 40).match
    if _OPT_OUT.match(match):
        return "opt_out"
    if _OPT_IN.match(match):
        return "opt_in"
    return None


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
    """Send ``sender`` no more surveys on ``channel``; the caller commits."""
    row = _preference(session, channel, sender, now)
    row.no_surveys = True
    row.updated_at = now
    return row


def opt_in(session: Session, channel: str, sender: str, now: datetime) -> ContactPreference:
    """Send ``sender`` surveys on ``channel`` again; the caller commits."""
    row = _preference(session, channel, sender, now)
    row.no_surveys = False
    row.updated_at = now
    return row


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
    (opt_out if command == "opt_out" else opt_in)(session, channel, sender, now)
    return CONFIRMATIONS[command]
