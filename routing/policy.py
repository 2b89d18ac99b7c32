"""Policy packs: one YAML file per jurisdiction holding every rule its regulation sets.

A pack may name a ``base`` pack whose content it extends (mappings merge key by key, the pack's own
values win; lists are replaced), so the language patterns shared by all jurisdictions live once in
``common.yaml``. Loading validates the merged pack and reports problems as ``file:line: field: problem``.

Besides what triage needs (categories and deadlines, emergency lines, redirects, declines), a pack
carries the rest of its regulation's per-jurisdiction rules: ``handling`` (signing, returning and
extending tickets), ``survey`` (ratings, silence, re-handling), ``hours``, ``supervision`` (cards) and
``knowledge`` (how fast a unit answers a knowledge question).
Each is optional: where a regulation is silent the section, or the field, is left empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml

from intake.core.vocabulary import CATEGORIES, DECLINE_CODES, REDIRECT_CODES

POLICY_DIR = Path(__file__).with_name("policies")

LIMIT_UNITS = ("working_days", "working_hours", "hours", "minutes")
CARD_COLOURS = ("green", "yellow", "red")
OFF_HOURS = ("voicemail",)
LINE_KINDS = ("emergency", "utility")  # 110/119/120/122/96333, or water/power/gas/heating (004 第十条(一))
DEFAULT_RATINGS = ("满意", "基本满意", "不满意")  # what the hotline does outside staffed hours


class PolicyError(ValueError):
    """A pack that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------- YAML with line numbers


def _compose(path: Path) -> tuple[Any, dict[tuple[str, ...], str]]:
    """Load ``path`` as plain Python data plus a map from each field path to its line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError([f"{path}: not UTF-8 (byte {exc.start}); save the pack as UTF-8"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise PolicyError([f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    lines: dict[tuple[str, ...], str] = {}
    scalars = yaml.SafeLoader("")

    def walk(n: yaml.Node, at: tuple[str, ...]) -> Any:
        lines[at] = f"{path}:{n.start_mark.line + 1}"
        if isinstance(n, yaml.MappingNode):
            out = {}
            for key_node, value_node in n.value:
                key = str(key_node.value)
                out[key] = walk(value_node, (*at, key))
                lines[(*at, key)] = f"{path}:{key_node.start_mark.line + 1}"
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, (*at, str(i))) for i, item in enumerate(n.value)]
        try:
            return scalars.construct_object(n, deep=True)
        except ValueError:  # an impossible unquoted date such as 2027-02-30
            return n.value

    return (walk(node, ()) if node is not None else {}), lines


def _merge(base: Any, own: Any) -> Any:
    if isinstance(base, dict) and isinstance(own, dict):
        merged = dict(base)
        for key, value in own.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return own


# ---------------------------------------------------------------- the pack


@dataclass(frozen=True)
class Deadline:
    working_days: int | None = None
    hours: int | None = None
    basis: str | None = None


@dataclass(frozen=True)
class PatternRule:
    """A named rule: regular expressions, the article it rests on, and what the citizen is told."""

    code: str
    patterns: tuple[re.Pattern[str], ...]
    basis: str | None = None
    reply: str | None = None
    unless: tuple[re.Pattern[str], ...] = ()

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
class Handling:
    """How fast a handling unit (承办单位) must act on a ticket; ``None`` where the regulation is silent."""

    sign_within: Limit | None = None  # sign for (签收 / 接收) a dispatched ticket
    urgent_sign_within: Limit | None = None  # sign for and start on an urgent (突发) ticket
    return_within: Limit | None = None  # send back a ticket that is not the unit's (退单)
    urgent_return_within: Limit | None = None
    extension: Extension | None = None


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
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def deadline_for(self, category: str) -> Deadline | None:
        return self.categories.get(category)


class _Reader:
    """Validates the merged mapping, collecting every problem with the line it comes from."""

    def __init__(self, data: dict[str, Any], lines: dict[tuple[str, ...], str], path: Path) -> None:
        self.data, self.lines, self.path = data, lines, path
        self.problems: list[str] = []

    def problem(self, at: tuple[str, ...], message: str) -> None:
        where = next((self.lines[at[:i]] for i in range(len(at), -1, -1) if at[:i] in self.lines), self.path)
        self.problems.append(f"{where}: {'.'.join(at) or '(top)'}: {message}")

    def get(self, at: tuple[str, ...], kind: type | tuple[type, ...], required: bool = True) -> Any:
        value: Any = self.data
        for key in at:
            if not isinstance(value, dict) or key not in value:
                if required:
                    self.problem(at, "missing")
                return None
            value = value[key]
        if value is not None and not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problem(at, f"expected {names}, got {type(value).__name__}")
            return None
        if value is None and required:
            self.problem(at, "missing")
        return value

    # ---- helpers for the sections that are optional where a regulation is silent

    def section(self, at: tuple[str, ...], keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The mapping at ``at`` if the pack has one, with every key not in ``keys`` reported."""
        spec = self.get(at, dict, required=False)
        if spec is None:
            return None
        for key in spec:
            if key not in keys:
                self.problem((*at, key), f"unknown field; use one of {', '.join(keys)}")
        return spec

    def basis(self, at: tuple[str, ...], spec: dict[str, Any]) -> str | None:
        value = spec.get("basis")
        if not isinstance(value, str) or not value.strip():
            self.problem((*at, "basis"), "missing: name the article this rule rests on")
            return None
        return value

    def whole(self, at: tuple[str, ...], value: Any, minimum: int = 1) -> int | None:
        """``value`` if it is a whole number of at least ``minimum`` (YAML yes/no is not), else a problem."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "positive" if minimum > 0 else "non-negative"
            self.problem(at, f"expected a {kind} whole number, got {value!r}")
            return None
        return value

    def flag(self, at: tuple[str, ...], value: Any, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(at, f"expected true or false, got {value!r}")
            return default
        return value

    def limit(
        self,
        at: tuple[str, ...],
        *,
        basis: str | None = None,
        units: tuple[str, ...] = LIMIT_UNITS,
    ) -> Limit | None:
        """A time limit at ``at``; it names its own article unless ``basis`` (the parent's) is given."""
        spec = self.section(at, (*units, "basis") if basis is None else units)
        if spec is None:
            return None
        given = [u for u in units if spec.get(u) is not None]
        if len(given) != 1:
            self.problem(at, f"give exactly one of {', '.join(units)}")
            return None
        amount = self.whole((*at, given[0]), spec[given[0]])
        own = self.basis(at, spec) if basis is None else basis
        if amount is None:
            return None
        return Limit(**{given[0]: amount}, basis=own)

    def _compile(self, items: Any, at: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
        if items is None:
            return ()
        if not isinstance(items, list):
            self.problem(at, f"expected a list of regular expressions, got {type(items).__name__}")
            return ()
        compiled = []
        for i, raw in enumerate(items):
            try:
                compiled.append(re.compile(str(raw)))
            except re.error as exc:
                self.problem((*at, str(i)), f"bad regular expression {raw!r}: {exc}")
        return tuple(compiled)

    def patterns(self, at: tuple[str, ...], required: bool = True) -> tuple[re.Pattern[str], ...]:
        return self._compile(self.get(at, list, required), at)

    def rule_from(self, spec: dict[str, Any], at: tuple[str, ...], code: str) -> PatternRule:
        return PatternRule(
            code=code,
            patterns=self._compile(spec.get("patterns"), (*at, "patterns")),
            basis=spec.get("basis"),
            reply=spec.get("reply"),
            unless=self._compile(spec.get("unless"), (*at, "unless")),
        )

    def rule(self, at: tuple[str, ...], code: str) -> PatternRule:
        return self.rule_from(self.get(at, dict) or {}, at, code)

    def deadline(self, at: tuple[str, ...]) -> Deadline:
        spec = self.get(at, dict) or {}
        days, hours = spec.get("working_days"), spec.get("hours")
        if (days is None) == (hours is None):
            self.problem(at, "give exactly one of working_days or hours")
        for key, value in (("working_days", days), ("hours", hours)):
            # bool is an int in Python: YAML's yes/no must not become a one-day limit
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                self.problem((*at, key), f"expected a positive whole number, got {value!r}")
        return Deadline(working_days=days, hours=hours, basis=spec.get("basis"))


# ---------------------------------------------------------------- handling, survey, hours, supervision

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _handling(r: _Reader) -> Handling:
    at = ("handling",)
    keys = ("sign_within", "urgent_sign_within", "return_within", "urgent_return_within", "extension")
    if r.section(at, keys) is None:
        return Handling()
    extension = None
    ext_at = (*at, "extension")
    spec = r.section(
        ext_at,
        (
            "max_count",
            "max_multiple",
            "max_working_days",
            "ask_working_days_before_expiry",
            "excludes_urgent",
            "basis",
        ),
    )
    if spec is not None:
        if (spec.get("max_multiple") is None) == (spec.get("max_working_days") is None):
            r.problem(ext_at, "give exactly one of max_multiple or max_working_days")
        ask = spec.get("ask_working_days_before_expiry")
        extension = Extension(
            max_count=r.whole((*ext_at, "max_count"), spec.get("max_count")),
            max_multiple=r.whole((*ext_at, "max_multiple"), spec.get("max_multiple")),
            max_working_days=r.whole((*ext_at, "max_working_days"), spec.get("max_working_days")),
            ask_working_days_before_expiry=r.whole((*ext_at, "ask_working_days_before_expiry"), ask, 0) or 0,
            excludes_urgent=r.flag((*ext_at, "excludes_urgent"), spec.get("excludes_urgent")),
            basis=r.basis(ext_at, spec),
        )
    return Handling(
        sign_within=r.limit((*at, "sign_within")),
        urgent_sign_within=r.limit((*at, "urgent_sign_within")),
        return_within=r.limit((*at, "return_within")),
        urgent_return_within=r.limit((*at, "urgent_return_within")),
        extension=extension,
    )


def _survey(r: _Reader) -> Survey:
    at = ("survey",)
    keys = ("ratings", "callback_within", "no_reply", "rehandle", "person_follow_up", "calls")
    if r.section(at, keys) is None:
        return Survey()

    ratings = None
    ratings_at = (*at, "ratings")
    spec = r.section(ratings_at, ("values", "basis"))
    if spec is not None:
        values = spec.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            r.problem((*ratings_at, "values"), "expected a list of ratings such as [满意, 基本满意, 不满意]")
            values = []
        elif len(set(values)) != len(values):
            r.problem((*ratings_at, "values"), "a rating is listed twice")
        ratings = Ratings(values=tuple(values), basis=r.basis(ratings_at, spec))

    no_reply = None
    no_reply_at = (*at, "no_reply")
    spec = r.section(no_reply_at, ("rating", "after", "basis"))
    if spec is not None:
        own = r.basis(no_reply_at, spec)
        rating = spec.get("rating")
        if not isinstance(rating, str) or not rating:
            r.problem((*no_reply_at, "rating"), "missing: the rating a silent citizen is counted as")
        elif ratings is not None and ratings.values and rating not in ratings.values:
            r.problem((*no_reply_at, "rating"), f"{rating!r} is not one of survey.ratings.values")
        after = r.limit((*no_reply_at, "after"), basis=own or "")
        if spec.get("after") is None:
            r.problem((*no_reply_at, "after"), "missing: how long the survey waits for an answer")
        if isinstance(rating, str) and rating and after is not None:
            no_reply = NoReply(rating=rating, after=after, basis=own)

    rehandle = None
    rehandle_at = (*at, "rehandle")
    spec = r.section(rehandle_at, ("max_count", "within", "basis"))
    if spec is not None:
        own = r.basis(rehandle_at, spec)
        rehandle = Rehandle(
            max_count=r.whole((*rehandle_at, "max_count"), spec.get("max_count")),
            within=r.limit((*rehandle_at, "within"), basis=own or ""),
            basis=own,
        )

    follow_up = None
    follow_at = (*at, "person_follow_up")
    spec = r.section(follow_at, ("after_unsatisfied", "basis"))
    if spec is not None:
        own = r.basis(follow_at, spec)
        count = r.whole((*follow_at, "after_unsatisfied"), spec.get("after_unsatisfied"))
        if spec.get("after_unsatisfied") is None:
            r.problem((*follow_at, "after_unsatisfied"), "missing: after which 不满意 a person calls (1, 2…)")
        if count is not None:
            follow_up = FollowUp(after_unsatisfied=count, basis=own)

    return Survey(
        ratings=ratings,
        callback_within=r.limit((*at, "callback_within")),
        no_reply=no_reply,
        rehandle=rehandle,
        person_follow_up=follow_up,
        calls=_calls(r, ratings),
    )


CALLS_KEYS = ("hours", "retry_after", "attempts", "per_day", "after_sms", "unreachable", "basis")


def _own_units_win(r: _Reader, parent: dict[str, Any], at: tuple[str, ...], units: tuple[str, ...]) -> None:
    """A limit the pack sets replaces the base's whole: merged key by key, ``{minutes: 90}`` over
    common's ``{hours: 2}`` would read as both, so the units the base alone gave are dropped."""
    spec = parent.get(at[-1])
    if not isinstance(spec, dict):
        return
    own = [u for u in units if u in spec and r.lines.get((*at, u), "").startswith(f"{r.path}:")]
    if own:
        parent[at[-1]] = {k: v for k, v in spec.items() if k not in units or k in own}


def _calls(r: _Reader, ratings: Ratings | None) -> Calls:
    """``survey.calls``: when and how often call-backs are placed; unset fields keep ``Calls()``'s."""
    at = ("survey", "calls")
    spec = r.section(at, CALLS_KEYS)
    if spec is None:
        return Calls()
    default = Calls()
    hours = default.hours
    if spec.get("hours") is not None:
        hours = tuple(_windows(r, (*at, "hours"), spec["hours"])) or default.hours
        if not spec["hours"]:
            r.problem((*at, "hours"), "no window: give at least one, or leave hours out")
    basis = spec.get("basis")
    if basis is not None and (not isinstance(basis, str) or not basis.strip()):
        r.problem((*at, "basis"), "expected the article, or leave basis out for a deployment default")
        basis = None
    spans = ("hours", "minutes")
    for name in ("retry_after", "after_sms"):
        _own_units_win(r, spec, (*at, name), spans)
    retry = r.limit((*at, "retry_after"), basis=basis or "", units=spans) or default.retry_after
    after_sms = r.limit((*at, "after_sms"), basis=basis or "", units=spans) or default.after_sms
    attempts = r.whole((*at, "attempts"), spec.get("attempts")) or default.attempts
    per_day = r.whole((*at, "per_day"), spec.get("per_day"))
    if per_day is not None and per_day > attempts:
        r.problem((*at, "per_day"), f"more than attempts ({attempts}): the daily cap would never apply")
    unreachable = None
    gone_at = (*at, "unreachable")
    gone = r.section(gone_at, ("days", "counts_as", "basis"))
    if gone is not None:
        own = r.basis(gone_at, gone)
        days = r.whole((*gone_at, "days"), gone.get("days"))
        if gone.get("days") is None:
            r.problem((*gone_at, "days"), "missing: on how many consecutive days the calls went unanswered")
        counts_as = gone.get("counts_as", "replied")
        allowed = ("replied", *(ratings.values if ratings else DEFAULT_RATINGS))
        if counts_as not in allowed:
            r.problem((*gone_at, "counts_as"), f"expected one of {', '.join(allowed)}, got {counts_as!r}")
        elif days is not None:
            if per_day is None or days * per_day > attempts:
                r.problem(gone_at, f"{days} days of calls need per_day set and attempts ≥ days × per_day")
            unreachable = Unreachable(days=days, counts_as=counts_as, basis=own)
    # Limits read without an own basis carry the section's (or none): compare like for like
    return Calls(
        hours=hours,
        retry_after=Limit(**{retry.unit: retry.amount}, basis=basis),
        attempts=attempts,
        per_day=per_day,
        after_sms=Limit(**{after_sms.unit: after_sms.amount}, basis=basis),
        unreachable=unreachable,
        basis=basis,
    )


def _windows(r: _Reader, at: tuple[str, ...], raw: Any) -> list[tuple[time, time]]:
    """Daily windows written ``HH:MM-HH:MM`` (``24:00`` ends the day), each a problem when malformed."""
    windows: list[tuple[time, time]] = []
    if raw is not None and not isinstance(raw, list):
        r.problem(at, 'expected a list of windows such as ["08:00-12:00", "14:30-17:30"]')
        raw = []
    for i, window in enumerate(raw or []):
        found = _WINDOW.match(str(window))
        start = end = None
        if found:
            h1, m1, h2, m2 = (int(g) for g in found.groups())
            start = time(h1, m1)
            if h2 < 24:
                end = time(h2, m2)
            elif m2 == 0:
                end = time.max  # "24:00": to the end of the day
        if start is None or end is None or start >= end:
            r.problem((*at, str(i)), f"expected HH:MM-HH:MM with the start first, got {window!r}")
            continue
        windows.append((start, end))
    return windows


def _hours(r: _Reader) -> Hours:
    at = ("hours",)
    spec = r.section(at, ("always_staffed", "staffed", "off_hours", "basis"))
    if spec is None:
        return Hours()
    always = spec.get("always_staffed")
    if not isinstance(always, bool):
        r.problem((*at, "always_staffed"), f"expected true or false, got {always!r}")
        always = None
    windows = _windows(r, (*at, "staffed"), spec.get("staffed"))
    off_hours = spec.get("off_hours")
    if always is False and off_hours is None:
        r.problem((*at, "off_hours"), f"missing: what happens outside staffed hours ({', '.join(OFF_HOURS)})")
    elif off_hours is not None and off_hours not in OFF_HOURS:
        r.problem((*at, "off_hours"), f"expected one of {', '.join(OFF_HOURS)}, got {off_hours!r}")
        off_hours = None
    if always and (windows or off_hours is not None):
        r.problem(at, "always_staffed: true leaves no room for staffed windows or off_hours")
    return Hours(always_staffed=always, staffed=tuple(windows), off_hours=off_hours, basis=r.basis(at, spec))


def _file_as(r: _Reader, categories: dict[str, Deadline]) -> dict[str, FiledAs]:
    out: dict[str, FiledAs] = {}
    for kind, spec in (r.get(("file_as",), dict, required=False) or {}).items():
        at = ("file_as", kind)
        if kind not in CATEGORIES or kind in categories:
            r.problem(at, "expected a category the pack does not accept itself (e.g. praise)")
            continue
        if r.section(at, ("category", "basis", "reply")) is None:
            r.problem(at, "expected category: and basis:")
            continue
        target = spec.get("category")
        if target not in categories:
            r.problem((*at, "category"), f"expected one of the pack's categories, got {target!r}")
            continue
        out[kind] = FiledAs(category=target, basis=r.basis(at, spec), reply=spec.get("reply"))
    return out


def _key_items(r: _Reader) -> KeyItems:
    at = ("key_items",)
    spec = r.section(at, ("same_day_reporters", "basis"))
    if spec is None:
        return KeyItems()
    count = r.whole((*at, "same_day_reporters"), spec.get("same_day_reporters"), minimum=2)
    if spec.get("same_day_reporters") is None:
        r.problem((*at, "same_day_reporters"), "missing: how many different people make a key item (2, 3…)")
    return KeyItems(reporters=count, basis=r.basis(at, spec))


def _knowledge(r: _Reader) -> Knowledge:
    at = ("knowledge",)
    spec = r.section(at, ("question_within", "basis"))
    if spec is None:
        return Knowledge()
    own = r.basis(at, spec)
    return Knowledge(
        question_within=r.limit((*at, "question_within"), basis=own or "", units=("working_days", "hours")),
        basis=own,
    )


def _supervision(r: _Reader) -> Supervision:
    at = ("supervision",)
    if r.section(at, ("cards",)) is None:
        return Supervision()
    cards = []
    cards_at = (*at, "cards")
    for colour in r.section(cards_at, CARD_COLOURS) or {}:
        if colour not in CARD_COLOURS:
            continue  # reported by section()
        card_at = (*cards_at, colour)
        spec = r.section(card_at, ("unsigned_after", "unreplied_after", "basis"))
        if spec is None:
            r.problem(card_at, "expected a mapping with at least basis")
            continue
        own = r.basis(card_at, spec)
        days = ("working_days",)
        cards.append(
            Card(
                colour=colour,
                unsigned_after=r.limit((*card_at, "unsigned_after"), basis=own or "", units=days),
                unreplied_after=r.limit((*card_at, "unreplied_after"), basis=own or "", units=days),
                basis=own,
            )
        )
    return Supervision(cards=tuple(cards))


def available() -> list[str]:
    """Names of the packs shipped with the product (``common`` is a base, not a pack)."""
    return sorted(p.stem for p in POLICY_DIR.glob("*.yaml") if p.stem != "common")


def resolve(name_or_path: str) -> Path:
    """Find a pack by preset name or file path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path:
        if not candidate.is_file():
            raise PolicyError([f"{name_or_path}: no such policy file"])
        return candidate
    preset = POLICY_DIR / f"{name_or_path}.yaml"
    if not preset.is_file() or name_or_path == "common":
        raise PolicyError([f"unknown policy {name_or_path!r}; presets: {', '.join(available())}"])
    return preset


def _load_merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict, Path]:
    if path.resolve() in seen:
        raise PolicyError([f"{path}: base packs form a loop"])
    data, lines = _compose(path)
    if not isinstance(data, dict):
        raise PolicyError([f"{path}:1: a pack is a mapping of fields"])
    base_name = data.pop("base", None)
    if base_name is None:
        return data, lines, path
    base_path = resolve(str(base_name)) if "/" in str(base_name) else POLICY_DIR / f"{base_name}.yaml"
    if not base_path.is_file():
        raise PolicyError([f"{lines.get(('base',), path)}: base: no pack named {base_name!r}"])
    base_data, base_lines, _ = _load_merged(base_path, (*seen, path.resolve()))
    # Line numbers point at the pack's own file where it sets the field, else at the base.
    merged_lines = {k: v for k, v in base_lines.items()}
    merged_lines.update(lines)
    return _merge(base_data, data), merged_lines, path


def load(name_or_path: str) -> Policy:
    """Load and validate a pack; raise ``PolicyError`` listing every problem."""
    path = resolve(name_or_path)
    data, lines, _ = _load_merged(path)
    r = _Reader(data, lines, path)

    categories: dict[str, Deadline] = {}
    for cat in r.get(("categories",), dict) or {}:
        if cat not in CATEGORIES:
            r.problem(("categories", cat), f"unknown category; use one of {', '.join(CATEGORIES)}")
            continue
        categories[cat] = r.deadline(("categories", cat))

    lines_spec = r.get(("emergency", "lines"), dict) or {}
    enabled = [str(n) for n in (r.get(("emergency", "enabled"), list) or [])]
    for i, number in enumerate(enabled):
        if number not in lines_spec:
            r.problem(("emergency", "enabled", str(i)), f"no line {number!r} under emergency.lines")
    emergency_lines = []
    for number in lines_spec:
        at = ("emergency", "lines", str(number))
        fallback = r.get((*at, "fallback"), (str, int), required=False)
        target = str(number) if str(number) in enabled else (str(fallback) if fallback else None)
        if target is None or target not in enabled:
            continue  # the regulation does not transfer to this line
        target_spec = lines_spec.get(target) or {}
        target_at = ("emergency", "lines", target)
        kind = target_spec.get("kind", "emergency")
        if kind not in LINE_KINDS:
            r.problem((*target_at, "kind"), f"expected one of {', '.join(LINE_KINDS)}, got {kind!r}")
        # a line named by digits is its own number; a utility line is dialled only when the pack says how
        dial = str(target_spec.get("dial") or (target if target.isdigit() else ""))
        guidance = target_spec.get("guidance")
        if not dial and not guidance and str(number) == target:
            r.problem(target_at, "a line without a dial number needs guidance: how the citizen reaches it")
        emergency_lines.append(
            EmergencyLine(
                number=target,
                name=str(target_spec.get("name", "")),
                dial=dial,
                rule=r.rule(at, target),
                matched=str(number),
                guidance=str(guidance) if guidance else None,
                utility=kind == "utility",
            )
        )

    def rule_table(section: str, rules: str, codes: tuple[str, ...]) -> tuple[PatternRule, ...]:
        """Rules the pack turns on under ``section``, with patterns and replies from ``rules``."""
        library = r.get((rules,), dict, required=False) or {}
        out = []
        for code, own in (r.get((section,), dict, required=False) or {}).items():
            at = (section, code)
            if code not in codes:
                r.problem(at, f"unknown code; use one of {', '.join(codes)}")
                continue
            if own is not None and not isinstance(own, dict):
                r.problem(at, "expected a mapping with at least basis")
                continue
            if not (own or {}).get("basis"):
                r.problem((*at, "basis"), "missing: name the article this rule rests on")
            if code not in library and not (own or {}).get("patterns"):
                r.problem(at, f"no patterns here and no {rules}.{code} to take them from")
            rule = r.rule_from(_merge(library.get(code, {}), own or {}), at, code)
            if not rule.reply:
                r.problem((*at, "reply"), "missing: the citizen must be told why and where to go")
            out.append(rule)
        return tuple(out)

    classify = []
    for i, item in enumerate(r.get(("classify",), list) or []):
        at = ("classify", str(i))
        category = item.get("category") if isinstance(item, dict) else None
        if category not in CATEGORIES:
            r.problem((*at, "category"), f"expected one of {', '.join(CATEGORIES)}, got {category!r}")
            continue
        classify.append(r.rule_from(item, at, category))

    counting = r.get(("deadlines", "counting"), str) or "same_day"
    if counting not in {"same_day", "next_working_day"}:
        r.problem(("deadlines", "counting"), "expected same_day or next_working_day")

    holidays: dict[int, dict[str, tuple[str, ...]]] = {}
    for year, spec in (r.get(("holidays",), dict, required=False) or {}).items():
        at = ("holidays", str(year))
        if not str(year).isdigit():
            r.problem(at, f"expected a year such as 2027, got {year!r}")
            continue
        if not isinstance(spec, dict):
            r.problem(at, "expected off: [...] and work: [...]")
            continue
        days: dict[str, tuple[str, ...]] = {}
        for kind in ("off", "work"):
            items = spec.get(kind) or []
            if not isinstance(items, list):
                r.problem((*at, kind), "expected a list of dates like 2027-01-01")
                continue
            good = []
            for i, item in enumerate(items):
                try:
                    good.append(date.fromisoformat(str(item)).isoformat())
                except ValueError:
                    r.problem((*at, kind, str(i)), f"not a date: {item!r}")
            days[kind] = tuple(good)
        holidays[int(year)] = days

    policy = Policy(
        name=r.get(("name",), str) or path.stem,
        title=r.get(("title",), str) or "",
        regulation=str(r.get(("regulation",), (str, int)) or ""),
        jurisdiction=r.get(("jurisdiction", "name"), str) or "",
        towns=tuple(r.get(("jurisdiction", "towns"), list) or ()),
        categories=categories,
        counting=counting,
        urgent_deadline=r.deadline(("urgent", "deadline")),
        urgent_topics=r.rule(("urgent",), "urgent"),
        emergency_lines=tuple(emergency_lines),
        emergency_guard=r.patterns(("emergency", "routine_guard"), required=False),
        emergency_cues=r.patterns(("emergency", "urgency_cues"), required=False),
        emergency_basis=r.get(("emergency", "basis"), str, required=False),
        redirects=rule_table("redirects", "redirect_rules", REDIRECT_CODES),
        declines=rule_table("declines", "decline_rules", DECLINE_CODES),
        classify=tuple(classify),
        question_cues=r.patterns(("question_cues",)),
        location_cues=r.patterns(("location_cues",)),
        ticket_request_cues=r.patterns(("ticket_request_cues",), required=False),
        answer_basis=r.get(("answer_basis",), str, required=False),
        ticket_reply=r.get(("ticket_reply",), str) or "",
        holidays=holidays,
        handling=_handling(r),
        survey=_survey(r),
        hours=_hours(r),
        supervision=_supervision(r),
        knowledge=_knowledge(r),
        key_items=_key_items(r),
        file_as=_file_as(r, categories),
        source=path,
        raw=data,
    )
    if r.problems:
        raise PolicyError(r.problems)
    return policy
