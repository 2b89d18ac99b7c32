"""Things a platform told us once, and replies given once, recorded so every worker agrees.

``channel_events`` has one row per ``(channel, ref, kind)``: inserting it is how any number of workers
on any number of machines agree that something happened exactly once: a call's status recorded, a
WeChat message answered (passively or later by the outbox, never both).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from intake.core.db import Database
from intake.core.models import ChannelEvent


def record_once(
    db: Database,
    now: datetime,
    channel: str,
    ref: str,
    kind: str,
    data: dict[str, Any] | None = None,
) -> bool:
    """Record ``kind`` for ``ref``; ``False`` when it was recorded already (a retry, another worker)."""
    with db.session() as session:
        session.add(ChannelEvent(channel=channel, ref=ref[:128], kind=kind[:64], data=data or {}, at=now))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
        return True


def claim_reply(db: Database, clock: Callable[[], datetime], channel: str, message_id: str, how: str) -> bool:
    """Whether this worker may answer ``message_id`` ``how`` (``passive`` or ``late``).

    The first answer wins, on any machine. A passive answer may be given again (the platform retried
    because the first was lost on the way, and it shows only one); a late answer never follows a
    passive one, nor a passive one a late one. When the database cannot say, the answer is yes: a
    second answer is better than none.
    """
    try:
        if record_once(db, clock(), channel, message_id, "answered", {"how": how}):
            return True
        with db.session() as session:
            first = session.scalar(
                select(ChannelEvent.data).where(
                    ChannelEvent.channel == channel,
                    ChannelEvent.ref == message_id[:128],
                    ChannelEvent.kind == "answered",
                )
            )
        return how == "passive" and (first or {}).get("how") == "passive"
    except Exception:  # noqa: BLE001  the database is down: answer rather than stay silent
        return True
