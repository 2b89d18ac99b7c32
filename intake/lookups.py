"""Status look-ups that cannot be guessed (issue 17): wrong proofs are counted per ticket number, per
asker (the sender on a chat channel, the client address on the web) and shared by every worker through
the rate-limit storage (Redis when ``HOTLINE_REDIS_URL`` is set).

The proof is four digits (the last four of the contact phone), so without a limit a stranger finds it in
a few thousand tries. Once any count is used up, the four digits are not even compared: the answer is
exactly the one an unknown number gets, so a guesser learns nothing, not even that it was stopped. A
citizen asking from the channel and sender that registered the ticket proves it without digits and is
never stopped. Every look-up is recorded as a ``channel_events`` row (``channel="lookup"``): the
number, the outcome, the channel and the asker masked.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy.orm import Session

from intake.core.models import ChannelEvent
from intake.core.privacy import mask_phone
from intake.core.ratelimits import limit_storage

log = logging.getLogger(__name__)

# Wrong proofs allowed in a moving hour. Per number: 5 of 10,000 possible checks, so a guesser needs on
# average a thousand hours for one ticket; per asker: enough for a citizen who mistypes a few numbers.
PER_TICKET = "5/hour"
PER_ASKER = "20/hour"


class LookupGuard:
    """Counts wrong proofs and says when the digits may no longer be tried."""

    def __init__(self, redis_url: str | None, namespace: str) -> None:
        self.strategy = MovingWindowRateLimiter(limit_storage(redis_url))
        self.per_ticket = parse(PER_TICKET)
        self.per_asker = parse(PER_ASKER)
        self.namespace = namespace  # one deployment's (or one test's) keys apart from another's

    def _keys(self, number: str, askers: tuple[str, ...]):
        yield self.per_ticket, ("ticket", number)
        for asker in askers:
            yield self.per_asker, ("asker", asker)

    def may_try(self, number: str, askers: tuple[str, ...]) -> bool:
        """Whether the four digits may still be compared for ``number`` asked by ``askers``."""
        return all(
            self.strategy.test(limit, self.namespace, *key) for limit, key in self._keys(number, askers)
        )

    def failed(self, number: str, askers: tuple[str, ...]) -> None:
        for limit, key in self._keys(number, askers):
            self.strategy.hit(limit, self.namespace, *key)


def askers(channel: str | None, sender: str | None, address: str | None) -> tuple[str, ...]:
    """Who is asking, as counted: the sender on its channel, and the client address where there is one."""
    found = []
    if channel and sender:
        found.append(f"{channel}:{sender}")
    if address:
        found.append(f"ip:{address}")
    return tuple(found)


def guarded(
    guard: LookupGuard,
    session: Session,
    now: datetime,
    number: str,
    *,
    channel: str | None,
    sender: str | None,
    address: str | None,  # already cut to its network by the channel
    check: str | None,
    look: Callable[[str | None], object | None],
) -> object | None:
    """Run ``look(check)`` under the guard and record the look-up; ``None`` reads as an unknown number.

    ``look`` is the look-up itself (``intake.status.look_up`` with the rest of its arguments): called with
    the digits while they may be tried, else with ``None`` (only the sender's own proof can then work).
    """
    who = askers(channel, sender, address)
    allowed = check is not None and guard.may_try(number, who)
    found = look(check if allowed else None)
    if found is None and check is not None and allowed:
        guard.failed(number, who)
    outcome = (
        "found" if found is not None else ("limited" if check is not None and not allowed else "refused")
    )
    if outcome == "limited":
        log.warning("status look-up of %s limited: too many wrong checks", number)
    session.add(
        ChannelEvent(
            channel="lookup",
            ref=uuid.uuid4().hex,
            kind=outcome,
            data={
                "number": number[:20],
                "channel": channel,
                "asker": mask_phone(sender) if sender else None,
                "address": address,  # a network, never a full address (intake.core.privacy)
                "with_check": check is not None,
            },
            at=now,
        )
    )
    return found
