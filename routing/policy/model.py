"""The pack as code reads it: the ``Policy`` and its sections (deadlines, lines, rules, handling, survey,
hours, supervision, knowledge, key items), frozen dataclasses built once by ``routing.policy.loading``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

LIMIT_UNITS = ("working_days", "working_hours", "hours", "minutes")
CARD_COLOURS = ("green", "yellow", "red")
OFF_HOURS = ("voicemail",)  # what the hotline does outside staffed hours
LINE_KINDS = ("emergency", "utility")  # 110/119/120/122/96333, or water/power/gas/heating (004 第十条(一))
DEFAULT_RATINGS = ("满意", "基本满意", "不满意")  # the rating scale where a pack names none


class PolicyError(ValueError):
    """A pack that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------- the pack


@dataclass(frozen=True)
class Deadline:
    working_days: int | None = None
    hours: int | None = None
    basis: str | None = None
    # "deployment": the regulation leaves the number to others (004 第十五条: 按照法律法规和省有关规定的
    # 时限), so a deployment sets it in its own pack; until then a ticket has no due rather than a made-up one
    set_by: str | None = None

    @property
    def unset(self) -> bool:
        return self.working_days is None and self.hours is None


@dataclass(frozen=True)
class PatternRule:
    """A named rule: regular expressions, the article it rests on, and what the citizen is told."""

    code: str
    patterns: tuple[re.Pattern[str], ...]
    basis: str | None = None
    reply: str | None = None
    unless: tuple[re.Pattern[str], ...] = ()
    topics: tuple[str, ...] = ()  # for the urgent rule: the urgent kinds (urgent_topics) the pack lists
    # a decline that applies only to a message saying nothing else: once its matches and these filler
    # words are taken out, what is left must not describe a matter (a citizen who swears while
    # reporting a broken street light is still heard)
    alone: tuple[re.Pattern[str], ...] | None = None

    def matches(self, text: str) -> bool:
        if any(p.search(text) for p in self.unless):
            return False
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class EmergencyLine:
    """A line a matter is put through to: an emergency line (110…) or a public-utility line (004 第十条(一)).

    ``number`` is the line's key: the number itself for emergency lines, a name (``water``, ``power``,
    ``gas``, ``heating``) for utility lines, whose numbers differ by city and company. ``dial`` is empty
    when the pack knows no number; ``guidance`` then tells the citizen how to reach the line.
    """

    number: str
    name: str
    dial: str
    rule: PatternRule
    matched: str = ""  # the line whose patterns these are, when the pack sends them to ``number`` instead
    guidance: str | None = None
    utility: bool = False


@dataclass(frozen=True)
class Limit:
    """A time limit in exactly one unit (working days, working hours, hours or minutes) and its article."""

    working_days: int | None = None
    working_hours: int | None = None
    hours: int | None = None
    minutes: int | None = None
    basis: str | None = None

    @property
    def unit(self) -> str:
        return next(u for u in LIMIT_UNITS if getattr(self, u) is not None)

    @property
    def amount(self) -> int:
        return getattr(self, self.unit)

    def describe(self) -> str:
        """The limit in words: ``1 working day``, ``8 working hours``, ``30 minutes``."""
        word = self.unit.replace("_", " ")
        return f"{self.amount} {word[:-1] if self.amount == 1 else word}"


@dataclass(frozen=True)
class Extension:
    """How a unit that cannot finish in time may ask for more (延期)."""

    max_count: int | None = None  # None: the regulation sets no number of extensions
    max_multiple: int | None = None  # an extension is at most this many times the original limit
    max_working_days: int | None = None  # ... or at most this many working days
    ask_working_days_before_expiry: int = 0  # 0: any time before the limit runs out
    excludes_urgent: bool = False  # urgent (突发) tickets cannot be extended
    basis: str | None = None
    tell_citizen: str | None = None  # the article that has the citizen told of an approved extension

    def longest(self, original: Deadline) -> Deadline:
        """The longest single extension of a ticket whose limit is ``original``."""
        if self.max_working_days is not None:
            return Deadline(working_days=self.max_working_days, basis=self.basis)
        multiple = self.max_multiple or 1
        return Deadline(
            working_days=original.working_days * multiple if original.working_days else None,
            hours=original.hours * multiple if original.hours else None,
            basis=self.basis,
        )


@dataclass(frozen=True)
class DeemedReplied:
    """A unit that called the citizen on ``days`` consecutive days without reaching them has replied
    (000 第十七条: 连续2天拨打诉求人联系电话均未果的，视为已答复); each contact time is kept."""

    days: int
    basis: str | None = None


@dataclass(frozen=True)
class Handling:
    """How fast a handling unit (承办单位) must act on a ticket; ``None`` where the regulation is silent."""

    sign_within: Limit | None = None  # sign for (签收 / 接收) a dispatched ticket
    urgent_sign_within: Limit | None = None  # sign for and start on an urgent (突发) ticket
    return_within: Limit | None = None  # send back a ticket that is not the unit's (退单)
    urgent_return_within: Limit | None = None
    # when the return window opens: "signing" (签收后, 接收到, 收到: the unit has the ticket when it signs
    # for it; an unsigned ticket counts from the dispatch) or "dispatch" (分转至本单位起, signed or not)
    return_from: str = "signing"
    extension: Extension | None = None
    unreachable: DeemedReplied | None = None  # when a citizen the unit cannot reach counts as replied to


@dataclass(frozen=True)
class Ratings:
    values: tuple[str, ...]
    basis: str | None = None


@dataclass(frozen=True)
class NoReply:
    """A citizen who does not answer the survey within ``after`` is counted as ``rating``."""

    rating: str
    after: Limit
    basis: str | None = None


@dataclass(frozen=True)
class Rehandle:
    """An unsatisfied ticket goes back to its unit (重办) up to ``max_count`` times, each in ``within``."""

    max_count: int | None = None  # None: the regulation sets no number
    within: Limit | None = None
    basis: str | None = None


@dataclass(frozen=True)
class FollowUp:
    """A person calls the citizen back to ask why after the ``after_unsatisfied``-th 不满意."""

    after_unsatisfied: int
    basis: str | None = None


@dataclass(frozen=True)
class Unreachable:
    """A citizen the call-backs could not reach on ``days`` consecutive days counts as ``counts_as``:
    ``replied`` (视为已答复: the survey is settled without a rating and the ticket closes) or a rating."""

    days: int
    counts_as: str = "replied"
    basis: str | None = None


CALL_WINDOWS_DEFAULT = ((time(9), time(12)), (time(14), time(20)))


@dataclass(frozen=True)
class Calls:
    """How satisfaction call-backs by phone (电话回访) are placed. The defaults are the deployment's
    (``common.yaml`` states them), not a regulation's: no shipped regulation sets calling hours."""

    hours: tuple[tuple[time, time], ...] = CALL_WINDOWS_DEFAULT  # local time, any day
    retry_after: Limit = Limit(hours=2)  # an unanswered attempt is tried again this much later
    attempts: int = 3  # at most this many attempts per survey round
    per_day: int | None = None  # at most this many on one local day (None: no daily cap)
    after_sms: Limit = Limit(hours=24)  # an SMS survey's wait before a pack with callback_within calls
    unreachable: Unreachable | None = None
    basis: str | None = None  # None: the deployment's choice


@dataclass(frozen=True)
class Survey:
    """How the citizen rates the result (满意度评价) and what follows an unsatisfied rating."""

    ratings: Ratings | None = None
    callback_within: Limit | None = None  # the office calls back to check, counted from closure
    no_reply: NoReply | None = None
    rehandle: Rehandle | None = None
    person_follow_up: FollowUp | None = None
    calls: Calls = field(default_factory=Calls)

    @property
    def rating_values(self) -> tuple[str, ...]:
        """The pack's ratings, or the usual three where the regulation names none (001)."""
        return self.ratings.values if self.ratings else DEFAULT_RATINGS


@dataclass(frozen=True)
class Hours:
    """When people answer the hotline and what happens otherwise."""

    always_staffed: bool | None = None  # None: the pack does not say
    staffed: tuple[tuple[time, time], ...] = ()  # windows in the hotline's time zone, when known
    off_hours: str | None = None  # one of OFF_HOURS
    basis: str | None = None

    def is_staffed(self, moment: time) -> bool | None:
        """Whether people answer at ``moment``; ``None`` when the pack does not know the hours."""
        if self.always_staffed:
            return True
        if not self.staffed:
            return None
        return any(start <= moment < end for start, end in self.staffed)


@dataclass(frozen=True)
class Card:
    """A supervision card (红黄牌) given when a ticket stays unsigned or unanswered this long."""

    colour: str
    unsigned_after: Limit | None = None
    unreplied_after: Limit | None = None
    basis: str | None = None


@dataclass(frozen=True)
class Supervision:
    cards: tuple[Card, ...] = ()

    def card(self, unsigned_working_days: int, unreplied_working_days: int) -> str | None:
        """The worst card for a ticket left unsigned / unanswered for these many whole working days.

        A card applies once a threshold has run out (``>=``); ``None`` when the pack has no card rules.
        """
        if not self.cards:
            return None
        worst = "green" if any(c.colour == "green" for c in self.cards) else None
        for colour in CARD_COLOURS:
            for c in self.cards:
                if c.colour != colour:
                    continue
                late_sign = c.unsigned_after is not None and unsigned_working_days >= c.unsigned_after.amount
                late_reply = (
                    c.unreplied_after is not None and unreplied_working_days >= c.unreplied_after.amount
                )
                if late_sign or late_reply:
                    worst = colour
        return worst


@dataclass(frozen=True)
class FiledAs:
    """Where a matter of a kind the regulation does not name is filed (praise → suggestion), and why."""

    category: str
    basis: str | None = None
    reply: str | None = None  # said before the ticket's reply, e.g. thanks for the praise


@dataclass(frozen=True)
class KeyItems:
    """Matters the office lists as key items (重点事项): one incident reported by many people in a day.

    ``reporters`` is how many different citizens make "many" (000 第十四条 says 一天内多人反映 and gives
    no number); ``None`` where the regulation names no such rule.
    """

    reporters: int | None = None
    basis: str | None = None


FACT_NAMES = ("name", "phone", "place", "time", "parties")


@dataclass(frozen=True)
class FactRules:
    """Which of a matter's facts the ticket must hold, by category, and what a refusal leads to.

    ``required`` maps a category to the facts asked for when the citizen's words do not give them
    (``name``, ``phone``, ``place``, ``time``, ``parties``). A citizen who refuses one of ``decline_for``
    is declined with ``decline`` (a code of ``declines``) and ``reply``; any other refusal, or "不知道",
    files the matter without it.
    """

    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    decline: str | None = None
    decline_for: tuple[str, ...] = ()
    reply: str | None = None
    basis: str | None = None
    # who the unit may know the citizen is: ``ask`` (001 第二十四条: only with the citizen's permission,
    # asked with the other questions) or ``on_request`` (shown unless the citizen asks for confidentiality)
    contact_to_unit: str = "on_request"
    contact_basis: str | None = None

    def needed(self, category: str | None) -> tuple[str, ...]:
        return self.required.get(category or "", ())


@dataclass(frozen=True)
class Knowledge:
    """Who keeps the knowledge base current: how fast a unit must answer a knowledge question (知识提问)."""

    question_within: Limit | None = None  # None: the regulation sets no limit
    basis: str | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    regulation: str
    jurisdiction: str
    towns: tuple[str, ...]
    categories: dict[str, Deadline]
    counting: str  # "next_working_day" | "same_day"
    urgent_deadline: Deadline
    urgent_topics: PatternRule
    emergency_lines: tuple[EmergencyLine, ...]
    emergency_guard: tuple[re.Pattern[str], ...]
    emergency_cues: tuple[re.Pattern[str], ...]
    emergency_basis: str | None
    redirects: tuple[PatternRule, ...]
    declines: tuple[PatternRule, ...]
    classify: tuple[PatternRule, ...]
    question_cues: tuple[re.Pattern[str], ...]
    location_cues: tuple[re.Pattern[str], ...]
    ticket_request_cues: tuple[re.Pattern[str], ...]
    answer_basis: str | None
    ticket_reply: str
    holidays: dict[int, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    handling: Handling = field(default_factory=Handling)
    survey: Survey = field(default_factory=Survey)
    hours: Hours = field(default_factory=Hours)
    supervision: Supervision = field(default_factory=Supervision)
    knowledge: Knowledge = field(default_factory=Knowledge)
    key_items: KeyItems = field(default_factory=KeyItems)
    file_as: dict[str, FiledAs] = field(default_factory=dict)
    facts: FactRules = field(default_factory=FactRules)
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def deadline_for(self, category: str) -> Deadline | None:
        return self.categories.get(category)

    def to_set(self) -> list[tuple[str, str, str | None]]:
        """What a deployment still has to set before going live: (setting, what it is, article).

        The regulation left these to others: a deadline marked ``set_by: deployment``, a public-utility
        line with no number to dial, staffed hours a pack says exist but does not give (000 第十三条), a
        supervision card with no threshold.
        """
        found: list[tuple[str, str, str | None]] = []
        for category, spec in (*self.categories.items(), ("urgent", self.urgent_deadline)):
            if spec.unset:
                at = "urgent.deadline" if category == "urgent" else f"categories.{category}"
                found.append(
                    (
                        at,
                        f"the handling limit of {category} matters (no due until set)",
                        spec.basis,
                    )
                )
        for line in self.emergency_lines:
            if line.utility and not line.dial:
                found.append(
                    (
                        f"emergency.lines.{line.number}.dial",
                        f"the {line.name} number citizens are told to call",
                        self.emergency_basis,
                    )
                )
        if self.hours.always_staffed is False and not self.hours.staffed:
            what = f"the staffed hours (outside them: {self.hours.off_hours or 'nothing set'})"
            found.append(("hours.staffed", what, self.hours.basis))
        for card in self.supervision.cards:
            if card.colour != "green" and not (card.unsigned_after or card.unreplied_after):
                found.append(
                    (
                        f"supervision.cards.{card.colour}",
                        f"when a ticket gets a {card.colour} card",
                        card.basis,
                    )
                )
        return found

    @property
    def emergency_numbers(self) -> tuple[str, ...]:
        """The numbers a citizen is told to call in an emergency, each once, in the pack's order.

        Utility lines are left out: their key is a name (``water``), not a number anyone can dial.
        """
        return tuple(dict.fromkeys(line.number for line in self.emergency_lines if not line.utility))
