"""A unit's reply to a ticket: the fields the packs require (002 第十五条, 003 第十二条(四)), read and
checked from what the unit sends (the API or, later, the units' pages)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from intake.core.models import Ticket
from routing.policy import DeemedReplied

FUTURE_SLACK = timedelta(minutes=5)  # a unit's clock may run a little ahead of ours


class InvalidInput(ValueError):
    """A request that lacks a field or gives a bad value; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


REPLY_LABELS = {
    "handled_at": "办理时间",
    "unit": "办理单位",
    "handler": "经办人",
    "result": "办理结果",
    "legal_basis": "法律法规政策依据",
    "case_number": "立案编号",
    "case_date": "立案日期",
    "no_case_reason": "不予立案的理由和法律依据",
    "citizen_informed": "回复诉求人的情况",
    "follow_up_plan": "后续处理计划",
    "contact_attempts": "联系诉求人的时间",
    "deemed_replied": "视为已答复的依据",
}
MAX_ATTEMPTS = 50
REQUIRED_REPLY = ("handled_at", "unit", "handler", "result", "legal_basis")
CASE_CATEGORIES = ("complaint", "report")  # 002 第十五条(三), 003 第十二条(四)3: 投诉举报类
MAX_FIELD = {"result": 5000, "legal_basis": 2000, "no_case_reason": 2000, "follow_up_plan": 2000}


def missing(field_name: str) -> InvalidInput:
    return InvalidInput(field_name, f"缺少“{REPLY_LABELS.get(field_name, field_name)}”（{field_name}）")


def text_field(data: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    """A non-empty string field of a unit's request, trimmed; ``InvalidInput`` naming it otherwise."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, f"“{REPLY_LABELS.get(name, name)}”（{name}）应为文字")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(name, f"“{REPLY_LABELS.get(name, name)}”（{name}）过长：最多 {limit} 个字符")
    return value


def parse_moment(value: str, name: str, tz: ZoneInfo) -> tuple[datetime, bool]:
    """An ISO date or date-time in the hotline's zone; returns the moment and whether a time was given."""
    try:
        if "T" in value or " " in value.strip():
            moment = datetime.fromisoformat(value.strip())
            return (moment if moment.tzinfo else moment.replace(tzinfo=tz)), True
        return datetime.combine(date.fromisoformat(value.strip()), time(0, 0), tzinfo=tz), False
    except ValueError:
        raise InvalidInput(
            name, f"{name} 应为日期（2026-11-24）或日期时间（2026-11-24T15:30+08:00）"
        ) from None


@dataclass(frozen=True)
class Reply:
    """What a unit's reply must carry (002 第十五条, 003 第十二条(四)), validated for one ticket."""

    handled_at: str
    unit: str
    handler: str
    result: str
    legal_basis: str
    case_number: str | None = None
    case_date: str | None = None
    no_case_reason: str | None = None
    citizen_informed: str | None = None
    follow_up_plan: str | None = None
    contact_attempts: tuple[str, ...] | None = None  # when the unit called the citizen in vain
    deemed_replied: str | None = None  # the article under which those calls count as the reply

    @classmethod
    def parse(
        cls,
        data: Mapping[str, Any],
        ticket: Ticket,
        tz: ZoneInfo,
        now: datetime,
        unreachable: DeemedReplied | None = None,
    ) -> Reply:
        """Validate a unit's reply for ``ticket``; ``InvalidInput`` names the first missing or bad field.

        ``unreachable`` (the pack's ``handling.unreachable``, 000 第十七条): a reply may list the times
        the unit called the citizen in vain (``contact_attempts``); on that many consecutive days they
        count as the reply to the citizen.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput("reply", "答复应为 JSON 对象")
        for name in REQUIRED_REPLY:
            text_field(data, name, limit=MAX_FIELD.get(name, 200))
        handled_raw = text_field(data, "handled_at")
        handled, has_time = parse_moment(handled_raw, "handled_at", tz)
        if ticket.urgent and not has_time:
            # 003 第十二条(四)1: 一般事项具体到日，突发类事项具体到时
            raise InvalidInput("handled_at", "突发类工单的办理时间应具体到时，例如 2026-11-24T15:30+08:00")
        if handled > now + FUTURE_SLACK:
            raise InvalidInput("handled_at", "办理时间（handled_at）不能晚于现在")
        if handled.astimezone(tz).date() < ticket.created_at.astimezone(tz).date():
            raise InvalidInput("handled_at", "办理时间（handled_at）不能早于工单登记日期")
        case_number = text_field(data, "case_number", required=False)
        case_date = text_field(data, "case_date", required=False)
        no_case = text_field(data, "no_case_reason", required=False, limit=MAX_FIELD["no_case_reason"])
        if ticket.category in CASE_CATEGORIES and case_number is None and no_case is None:
            raise InvalidInput(
                "case_number",
                "投诉举报类事项的答复应注明立案编号和立案日期（case_number、case_date），"
                "或说明不予立案的理由和法律依据（no_case_reason）",
            )
        if case_number is not None and case_date is None:
            raise missing("case_date")
        if case_date is not None:
            parse_moment(case_date, "case_date", tz)
        attempts = _contact_attempts(data, ticket, tz, now)
        deemed = None
        if attempts is not None and unreachable is not None:
            if _consecutive_days(attempts, tz) < unreachable.days:
                raise InvalidInput(
                    "contact_attempts",
                    f"依据{unreachable.basis}，连续{unreachable.days}天拨打诉求人电话均未果的才视为已答复："
                    f"所列联系时间不足连续{unreachable.days}天",
                )
            deemed = unreachable.basis
        return cls(
            handled_at=handled.astimezone(tz).isoformat() if has_time else handled.date().isoformat(),
            unit=text_field(data, "unit") or "",
            handler=text_field(data, "handler") or "",
            result=text_field(data, "result", limit=MAX_FIELD["result"]) or "",
            legal_basis=text_field(data, "legal_basis", limit=MAX_FIELD["legal_basis"]) or "",
            case_number=case_number,
            case_date=case_date,
            no_case_reason=no_case,
            citizen_informed=text_field(data, "citizen_informed", required=False, limit=1000),
            follow_up_plan=text_field(
                data, "follow_up_plan", required=False, limit=MAX_FIELD["follow_up_plan"]
            ),
            contact_attempts=tuple(a.isoformat() for a in attempts) if attempts else None,
            deemed_replied=deemed,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items() if v is not None}


def _contact_attempts(
    data: Mapping[str, Any], ticket: Ticket, tz: ZoneInfo, now: datetime
) -> list[datetime] | None:
    """The times the unit called the citizen, each to the minute, between registration and now."""
    raw = data.get("contact_attempts")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ATTEMPTS:
        raise InvalidInput(
            "contact_attempts", f"联系诉求人的时间（contact_attempts）应为 1 到 {MAX_ATTEMPTS} 个时间的列表"
        )
    moments = []
    for value in raw:
        if not isinstance(value, str):
            raise InvalidInput("contact_attempts", "联系诉求人的时间应写成 2026-11-24T09:30+08:00")
        moment, has_time = parse_moment(value, "contact_attempts", tz)
        if not has_time:
            raise InvalidInput("contact_attempts", f"联系诉求人的时间应具体到分钟：{value}")
        if moment > now + FUTURE_SLACK or moment < ticket.created_at.astimezone(tz) - FUTURE_SLACK:
            raise InvalidInput("contact_attempts", f"联系诉求人的时间应在工单登记之后、现在之前：{value}")
        moments.append(moment)
    return sorted(moments)


def _consecutive_days(moments: list[datetime], tz: ZoneInfo) -> int:
    """The longest run of consecutive local days holding at least one of ``moments``."""
    days = sorted({m.astimezone(tz).date() for m in moments})
    best = run = 1
    for before, day in zip(days, days[1:], strict=False):
        run = run + 1 if (day - before).days == 1 else 1
        best = max(best, run)
    return best
