"""The optional sections of a pack (handling, survey and its calls, hours, supervision, knowledge, key items,
filing rules, a matter's required facts), each validated by the reader and built into its dataclass."""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from intake.core.vocabulary import CATEGORIES
from routing.policy.model import (
    CARD_COLOURS,
    DEFAULT_RATINGS,
    FACT_NAMES,
    OFF_HOURS,
    Calls,
    Card,
    Deadline,
    DeemedReplied,
    Extension,
    FactRules,
    FiledAs,
    FollowUp,
    Handling,
    Hours,
    KeyItems,
    Knowledge,
    Limit,
    NoReply,
    Ratings,
    Rehandle,
    Supervision,
    Survey,
    Unreachable,
)
from routing.policy.reader import _Reader

# ---------------------------------------------------------------- handling, survey, hours, supervision

_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _article(r: _Reader, at: tuple[str, ...], value: Any) -> str | None:
    """An optional setting whose value is the article that imposes it (``tell_citizen: 002 第十四条``)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        r.problem(at, "expected the article that requires it, such as 002 第十四条")
        return None
    return value.strip()


def _deemed_replied(r: _Reader, at: tuple[str, ...]) -> DeemedReplied | None:
    spec = r.section(at, ("days", "basis"))
    if spec is None:
        return None
    days = r.whole((*at, "days"), spec.get("days"))
    if days is None:
        r.problem((*at, "days"), "missing: on how many consecutive days the unit must have called")
    return DeemedReplied(days=days or 1, basis=r.basis(at, spec))


RETURN_FROM = ("signing", "dispatch")


def _return_from(r: _Reader, at: tuple[str, ...]) -> str:
    value = r.get(at, str, required=False)
    if value is None:
        return "signing"
    if value not in RETURN_FROM:
        r.problem(at, f"expected one of {', '.join(RETURN_FROM)}, not {value!r}")
        return "signing"
    return value


def _handling(r: _Reader) -> Handling:
    at = ("handling",)
    keys = ("sign_within", "urgent_sign_within", "return_within", "urgent_return_within", "return_from")
    keys += ("extension", "unreachable")
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
            "tell_citizen",
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
            tell_citizen=_article(r, (*ext_at, "tell_citizen"), spec.get("tell_citizen")),
        )
    return Handling(
        sign_within=r.limit((*at, "sign_within")),
        urgent_sign_within=r.limit((*at, "urgent_sign_within")),
        return_within=r.limit((*at, "return_within")),
        urgent_return_within=r.limit((*at, "urgent_return_within")),
        return_from=_return_from(r, (*at, "return_from")),
        extension=extension,
        unreachable=_deemed_replied(r, (*at, "unreachable")),
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


def _facts(r: _Reader, categories: dict[str, Deadline], declines: tuple[str, ...]) -> FactRules:
    """``facts``: the facts asked for by category, and the decline for a citizen who refuses them."""
    at = ("facts",)
    spec = r.section(
        at, ("required", "decline", "decline_for", "reply", "basis", "contact_to_unit", "contact_basis")
    )
    if spec is None:
        return FactRules()
    required: dict[str, tuple[str, ...]] = {}
    for category, names in (r.get((*at, "required"), dict, required=False) or {}).items():
        where = (*at, "required", str(category))
        if category not in CATEGORIES:
            r.problem(where, f"expected a category ({', '.join(CATEGORIES)}), got {category!r}")
            continue
        if category not in categories:
            continue  # a base pack's rule for a category this pack does not accept
        if not isinstance(names, list) or any(n not in FACT_NAMES for n in names):
            r.problem(where, f"expected a list of {', '.join(FACT_NAMES)}")
            continue
        required[category] = tuple(names)
    decline = spec.get("decline")
    decline_for = spec.get("decline_for") or []
    if decline is not None and decline not in declines:
        r.problem((*at, "decline"), f"expected a decline code this pack enables, got {decline!r}")
        decline = None
    if not isinstance(decline_for, list) or any(n not in FACT_NAMES for n in decline_for):
        r.problem((*at, "decline_for"), f"expected a list of {', '.join(FACT_NAMES)}")
        decline_for = []
    if decline_for and not (spec.get("decline") and spec.get("reply")):
        r.problem(at, "decline_for needs decline: (the code) and reply: (what the citizen is told)")
    # a decline rests on an article; asking alone may be the deployment's practice (basis optional)
    basis = r.basis(at, spec) if decline or spec.get("basis") is not None else None
    contact = spec.get("contact_to_unit") or "on_request"
    if contact not in ("ask", "on_request"):
        r.problem((*at, "contact_to_unit"), f"expected ask or on_request, got {contact!r}")
        contact = "on_request"
    contact_basis = spec.get("contact_basis")
    if contact == "ask" and not contact_basis:
        r.problem((*at, "contact_basis"), "missing: the article that asks for permission")
    return FactRules(
        required=required,
        decline=decline,
        decline_for=tuple(decline_for),
        reply=spec.get("reply"),
        basis=basis,
        contact_to_unit=contact,
        contact_basis=contact_basis,
    )
