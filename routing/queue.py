"""The office's ticket queue (issue 18, item 1): which tickets a filter or a saved view holds, in pages.

A filter (``Filters.parse``) comes from a page's query string and is checked here, so a bad value is a
message, never a 500: stage, unit, category, channel, urgent, card, overdue, a date range (local days
of registration) and words in the text. The saved views are the office's daily lists, each a filter
with a name; every view's count is shown beside it.

Deadlines are stored as the pipeline stores them (``routing.deadlines``): an ISO date for working-day
limits, running to the end of that day, or an ISO date-time in the hotline's zone for hour limits.
Both compare as text against the moment asked, so "overdue" is a plain indexed comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from intake.core.models import Ticket, TicketEvent
from intake.core.vocabulary import CATEGORIES, STAGES
from routing.replies import InvalidInput

PAGE_SIZE = 50
WORDS_LIMIT = 50
OPEN = ("dispatched", "signed", "returned", "extension_requested", "extended", "replied", "rehandling")
CARDS = ("green", "yellow", "red")
CHANNELS = ("voice", "sms", "wechat", "web", "api")
SORTS = {
    "new": (Ticket.created_at.desc(), Ticket.id.desc()),
    "old": (Ticket.created_at.asc(), Ticket.id.asc()),
    "due": (Ticket.due.is_(None), Ticket.due.asc(), Ticket.id.asc()),
}


@dataclass(frozen=True)
class Filters:
    """What the office asked for; every field optional."""

    view: str | None = None
    stage: str | None = None
    unit: str | None = None
    category: str | None = None
    channel: str | None = None
    urgent: bool | None = None
    card: str | None = None
    overdue: bool | None = None
    since: date | None = None
    until: date | None = None
    words: str | None = None
    sort: str = "new"
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> Filters:
        """The filters in a query string; ``InvalidInput`` names the first value that is not one."""
        get = lambda name: (args.get(name) or "").strip() or None  # noqa: E731
        view = get("view")
        if view is not None and view not in VIEWS:
            raise InvalidInput("view", f"没有名为 {view} 的列表")
        stage = get("stage")
        if stage is not None and stage not in STAGES:
            raise InvalidInput("stage", "请选择一个办理阶段")
        category = get("category")
        if category is not None and category not in CATEGORIES:
            raise InvalidInput("category", "请选择一个类别")
        channel = get("channel")
        if channel is not None and channel not in CHANNELS:
            raise InvalidInput("channel", "请选择一个渠道")
        card = get("card")
        if card is not None and card not in CARDS:
            raise InvalidInput("card", "督办牌应为 green、yellow 或 red")
        sort = get("sort") or "new"
        if sort not in SORTS:
            raise InvalidInput("sort", "排序应为 new、old 或 due")
        since, until = _day(get("since"), "since"), _day(get("until"), "until")
        if since and until and until < since:
            raise InvalidInput("until", "结束日期早于开始日期")
        page = get("page") or "1"
        if not page.isdigit() or not 1 <= int(page) <= 100_000:
            raise InvalidInput("page", "页码应为正整数")
        return cls(
            view=view, stage=stage, unit=(get("unit") or "")[:64] or None, category=category, channel=channel,
            urgent=_flag(get("urgent"), "urgent"), card=card, overdue=_flag(get("overdue"), "overdue"),
            since=since, until=until, words=(get("words") or "")[:WORDS_LIMIT] or None, sort=sort,
            page=int(page),
        )  # fmt: skip


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(name, f"日期应写成 2026-11-23：{value[:20]}") from None


def _flag(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value in ("1", "yes", "true"):
        return True
    if value in ("0", "no", "false"):
        return False
    raise InvalidInput(name, "应为 1（是）或 0（否）")


@dataclass(frozen=True)
class Clock:
    """The moment asked, as the stored deadlines compare against it."""

    today: str  # local ISO date
    now: str  # local ISO date-time
    soon_day: str  # the end of "due soon" for date deadlines (tomorrow)
    soon: str  # ... and for hour deadlines (24 hours from now)

    @classmethod
    def at(cls, moment: datetime, tz: ZoneInfo) -> Clock:
        local = moment.astimezone(tz).replace(microsecond=0)
        tomorrow, in_a_day = local.date() + timedelta(days=1), local + timedelta(hours=24)
        return cls(
            today=local.date().isoformat(), now=local.isoformat(),
            soon_day=tomorrow.isoformat(), soon=in_a_day.isoformat(),
        )  # fmt: skip


def overdue(clock: Clock) -> ColumnElement[bool]:
    """Open, dispatched tickets whose due has run out."""
    by_day = and_(not_(Ticket.due.contains("T")), Ticket.due < clock.today)
    by_hour = and_(Ticket.due.contains("T"), Ticket.due < clock.now)
    return and_(_open(), or_(by_day, by_hour))


def due_soon(clock: Clock) -> ColumnElement[bool]:
    """Open tickets due by the end of tomorrow (date limits) or within 24 hours (hour limits)."""
    by_day = and_(not_(Ticket.due.contains("T")), Ticket.due >= clock.today, Ticket.due <= clock.soon_day)
    by_hour = and_(Ticket.due.contains("T"), Ticket.due >= clock.now, Ticket.due <= clock.soon)
    return and_(_open(), or_(by_day, by_hour))


def _open() -> ColumnElement[bool]:
    return and_(Ticket.disposition == "dispatched", Ticket.status.in_(OPEN), Ticket.due.is_not(None))


def _key_item() -> ColumnElement[bool]:
    return exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "key_item")


@dataclass(frozen=True)
class View:
    label: str
    where: Callable[[Clock], ColumnElement[bool]]


# The office's daily lists, in the order the page shows them
VIEWS: dict[str, View] = {
    "to_dispatch": View("待派单", lambda c: Ticket.status == "registered"),
    "to_review": View("待审核", lambda c: Ticket.status == "replied"),
    "returns": View("退单申请", lambda c: Ticket.status == "returned"),
    "extensions": View("延期申请", lambda c: Ticket.status == "extension_requested"),
    "due_soon": View("即将超期", due_soon),
    "overdue": View("已超期", overdue),
    "key_items": View("重点事项", lambda c: _key_item()),
    "to_survey": View("待回访", lambda c: Ticket.status == "reviewed"),
}


def conditions(filters: Filters, clock: Clock, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    """The filters as SQL conditions on ``tickets``."""
    where: list[ColumnElement[bool]] = [Ticket.disposition != "pending"]  # a matter still being asked about
    if filters.view:
        where.append(VIEWS[filters.view].where(clock))
    if filters.stage:
        where.append(Ticket.status == filters.stage)
    if filters.unit:
        where.append(Ticket.unit_code == filters.unit)
    if filters.category:
        where.append(Ticket.category == filters.category)
    if filters.channel:
        where.append(Ticket.channel == filters.channel)
    if filters.urgent is not None:
        where.append(Ticket.urgent.is_(filters.urgent))
    if filters.card:
        where.append(Ticket.card == filters.card)
    if filters.overdue is True:
        where.append(overdue(clock))
    elif filters.overdue is False:
        where.append(not_(overdue(clock)))
    if filters.since:
        where.append(Ticket.created_at >= _utc_start(filters.since, tz))
    if filters.until:
        where.append(Ticket.created_at < _utc_start(filters.until + timedelta(days=1), tz))
    if filters.words:
        for word in filters.words.split()[:5]:
            where.append(Ticket.text.contains(word, autoescape=True))
    return where


def _utc_start(day: date, tz: ZoneInfo) -> datetime:
    """The moment a local day starts."""
    return datetime.combine(day, datetime.min.time(), tz)


@dataclass
class Page:
    rows: list[Ticket]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)


def search(session: Session, filters: Filters, now: datetime, tz: ZoneInfo) -> Page:
    """One page of the tickets ``filters`` hold, the total, and every saved view's count."""
    clock = Clock.at(now, tz)
    where = conditions(filters, clock, tz)
    total = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    rows = session.scalars(
        select(Ticket)
        .where(*where)
        .order_by(*SORTS[filters.sort])
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    counts = {
        name: session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.disposition != "pending", view.where(clock))
        )
        or 0
        for name, view in VIEWS.items()
    }
    return Page(rows=list(rows), total=total, page=page, pages=pages, counts=counts)


def is_overdue(ticket: Ticket, now: datetime, tz: ZoneInfo) -> bool:
    """The row's own answer to :func:`overdue`, for marking it on the page."""
    if not ticket.due or ticket.disposition != "dispatched" or ticket.status not in OPEN:
        return False
    clock = Clock.at(now, tz)
    return ticket.due < (clock.now if "T" in ticket.due else clock.today)
