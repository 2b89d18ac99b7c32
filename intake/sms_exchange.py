"""The SMS exchange's own rules, for every worker: a retried webhook gets the reply already sent, "1"
(更多) reads the next page of the last answer, and 退订 / 订阅 (or Twilio's STOP / START) change the
sender's preference; everything else goes through the pipeline. ``channels.sms`` only renders.

The replies sent are ``channel_events`` rows (kind ``reply``, one per ``MessageSid``), so every worker
sees them: the first one recorded wins when the same message is handled twice at once.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.core.messages import Message
from intake.core.models import ChannelEvent, InboundMessage, OutboxMessage
from intake.core.preferences import CONFIRMATIONS, Command, apply_command, preference_command
from intake.core.text import normalize
from intake.hotline import Hotline
from kb.answer_forms import SmsPage, sms_page

CHANNEL = "sms"
MORE_VALID = timedelta(hours=24)  # a citizen may ask for the rest of an answer later the same day
LAST_PAGE = "已经是最后一页了。如还有其他问题，请直接发送您的问题。"
_MORE = re.compile(r"^(?:1|更多|查看更多)[\s.。!！]*$")
OPT_OUT_TYPES: dict[str, Command] = {"STOP": "opt_out", "START": "opt_in"}


class SmsReplies:
    """The replies sent by SMS, one ``channel_events`` row per ``MessageSid``, shared by all workers."""

    def __init__(self, hotline: Hotline) -> None:
        self.db = hotline.db
        self.clock = hotline.clock

    def reply_for(self, sid: str) -> str | None:
        """The body already sent for ``sid`` (a retried webhook), if any."""
        with self.db.session() as session:
            data = session.scalar(select(ChannelEvent.data).where(*self._event(sid)))
        return None if data is None else data.get("body", "")

    def pages_left(self, sender: str, sid: str, now: datetime) -> str | None:
        """The text not yet sent of the sender's previous reply, while "1" still refers to it: ``""``
        when that reply was the last page of an answer being read (nothing is left), ``None`` when "1"
        refers to nothing here."""
        with self.db.session() as session:
            previous = session.execute(
                select(InboundMessage.received_at, ChannelEvent.data)
                .outerjoin(
                    ChannelEvent,
                    and_(
                        ChannelEvent.channel == CHANNEL,
                        ChannelEvent.kind == "reply",
                        ChannelEvent.ref == InboundMessage.channel_msg_id,
                    ),
                )
                .where(
                    InboundMessage.channel == CHANNEL,
                    InboundMessage.sender == sender,
                    InboundMessage.channel_msg_id != sid,
                )
                .order_by(InboundMessage.id.desc())
                .limit(1)
            ).first()
            data = (previous.data or {}) if previous is not None else {}
            if previous is None or not (data.get("rest") or data.get("action") == "more"):
                return None
            if now - previous.received_at > MORE_VALID:
                return None
            # something we sent since (a survey, a notice) is what "1" answers now
            sent_since = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.channel == CHANNEL,
                    OutboxMessage.recipient == sender,
                    OutboxMessage.status == "sent",
                    OutboxMessage.sent_at > previous.received_at,
                )
            )
            return None if sent_since else data.get("rest") or ""

    def record(self, sid: str, page: SmsPage, action: str | None = None) -> str:
        """Remember the reply sent for ``sid``; the first one recorded wins, and is returned."""
        with self.db.session() as session:
            session.add(self._row(sid, page, action))
            self._commit_once(session)
        return self._first(sid, page)

    def handled_here(
        self, message: Message, page: SmsPage, action: str, command: Command | None = None
    ) -> str:
        """Store a message the channel answered itself, its reply, and the preference it changed."""
        sid = message.channel_msg_id or ""
        now = message.received_at or self.clock()
        with self.db.session() as session:
            stored = session.scalar(
                select(InboundMessage).where(
                    InboundMessage.channel == CHANNEL, InboundMessage.channel_msg_id == sid
                )
            )
            if stored is None:
                session.add(
                    InboundMessage(
                        channel=CHANNEL, channel_msg_id=sid, sender=message.sender, text=message.text,
                        received_at=now, status="processed",
                    )
                )  # fmt: skip
            else:  # an earlier attempt failed in the pipeline: this one answers it
                stored.status, stored.error = "processed", None
            session.add(self._row(sid, page, action))
            if command is not None:
                apply_command(session, command, CHANNEL, message.sender, now)
            self._commit_once(session)
        return self._first(sid, page)

    def answer_here(self, message: Message, opt_out_type: str = "") -> str | None:
        """The reply to a message about the SMS exchange itself, or ``None`` for one the pipeline takes."""
        command = OPT_OUT_TYPES.get(opt_out_type) or preference_command(message.text)
        if command is not None:
            # with OptOutType set, Twilio's Advanced Opt-Out has sent its confirmation already
            confirmation = "" if opt_out_type in OPT_OUT_TYPES else CONFIRMATIONS[command]
            return self.handled_here(message, SmsPage(confirmation, ""), command, command)
        now = self.clock()
        if _MORE.match(normalize(message.text, 20).match):
            rest = self.pages_left(message.sender, message.channel_msg_id or "", now)
            if rest:
                return self.handled_here(message, sms_page(rest), "more")
            if rest == "":  # the citizen read the last page and asks for more (issue 16)
                return self.handled_here(message, SmsPage(LAST_PAGE, ""), "last_page")
        return None

    def _commit_once(self, session: Session) -> None:
        try:
            session.commit()
        except IntegrityError:  # the same message handled twice at once: the other one did it
            session.rollback()

    def _first(self, sid: str, page: SmsPage) -> str:
        recorded = self.reply_for(sid)
        return page.body if recorded is None else recorded

    def _event(self, sid: str) -> tuple:
        return (ChannelEvent.channel == CHANNEL, ChannelEvent.ref == sid, ChannelEvent.kind == "reply")

    def _row(self, sid: str, page: SmsPage, action: str | None) -> ChannelEvent:
        data = {"body": page.body, "rest": page.rest, "action": action}
        return ChannelEvent(channel=CHANNEL, ref=sid, kind="reply", data=data, at=self.clock())
