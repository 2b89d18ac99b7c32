"""What the pipeline's rule steps decide on one message under one pack, shared by the per-pack tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from intake.core.text import normalize
from routing import rules
from routing.deadlines import Deadlines
from routing.policy import Policy
from routing.workdays import WorkdayCalendar


def decide_under(pack: Policy, text: str) -> tuple[str, str, str | None]:
    """The rule steps in the pipeline's order; else the category the matter is accepted under."""
    match = normalize(text).match
    if found := rules.detect_emergency(match, pack):
        return "transfer", found.primary, found.basis
    if found := rules.detect_redirect(match, pack):
        return "redirect", found.code, found.basis
    if found := rules.detect_decline(match, pack):
        return "decline", found.code, found.basis
    return "accept", rules.classify(match, pack), None


def due_under(pack: Policy, text: str, now: datetime) -> tuple[bool, str | None]:
    """Whether ``text`` is urgent under ``pack``, and the due triage stores for it at ``now``."""
    match = normalize(text).match
    urgent = rules.is_urgent(match, pack)
    tz = now.tzinfo
    assert isinstance(tz, ZoneInfo)
    deadlines = Deadlines(pack, WorkdayCalendar(pack.holidays), tz)
    return urgent, deadlines.for_matter(rules.classify(match, pack), urgent, now)[0]


def urgent_cases(rows: list[tuple[str, str, bool, str | None]]) -> list:
    """Table rows (article, message, urgent, due) as test parameters named by article and outcome."""
    return [
        pytest.param(*row, id=f"{row[0]} {'urgent' if row[2] else 'not urgent'} {row[1][:8]}") for row in rows
    ]


def check_urgent(pack: Policy, now: datetime, article: str, text: str, urgent: bool, due: str | None) -> None:
    """One row of a pack's urgent table: the outcome and due date, and the article the pack cites."""
    assert due_under(pack, text, now) == (urgent, due)
    assert article in (pack.urgent_topics.basis or "")
