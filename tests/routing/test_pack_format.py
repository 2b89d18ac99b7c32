"""The pack sections for handling, survey, hours and supervision: optional, and a mistake in them names
the file, the line and the field like every other pack error."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from routing import policy
from routing.policy import (
    Card,
    Extension,
    FollowUp,
    Handling,
    Hours,
    Limit,
    NoReply,
    PolicyError,
    Ratings,
    Rehandle,
    Supervision,
    Survey,
)

BASE = """\
base: common
name: formatpack
title: 格式县12345热线
regulation: "998"
jurisdiction:
  name: 格式县
  towns: [甲镇]
categories:
  consult: {working_days: 2, basis: 998 第一条}
deadlines:
  counting: same_day
urgent:
  deadline: {hours: 24}
emergency:
  enabled: ["110"]
ticket_reply: 已登记，{due}前答复。
"""

SECTIONS = """\
handling:
  sign_within: {hours: 24, basis: 998 第二条}
  urgent_sign_within: {minutes: 30, basis: 998 第二条}
  return_within: {working_hours: 8, basis: 998 第三条}
  extension:
    max_count: 2
    max_multiple: 1
    ask_working_days_before_expiry: 2
    excludes_urgent: true
    basis: 998 第四条
survey:
  ratings: {values: [满意, 基本满意, 不满意], basis: 998 第五条}
  callback_within: {working_days: 3, basis: 998 第五条}
  no_reply: {rating: 满意, after: {hours: 24}, basis: 998 第六条}
  rehandle:
    max_count: 1
    within: {working_days: 5}
    basis: 998 第七条
  person_follow_up: {after_unsatisfied: 2, basis: 998 第七条}
hours:
  always_staffed: false
  staffed: ["08:00-12:00", "14:30-17:30"]
  off_hours: voicemail
  basis: 998 第八条
supervision:
  cards:
    yellow:
      unsigned_after: {working_days: 1}
      unreplied_after: {working_days: 5}
      basis: 998 第九条
    red:
      unreplied_after: {working_days: 15}
      basis: 998 第九条
"""


def write_pack(tmp_path: Path, old: str = "", new: str = "", text: str = BASE + SECTIONS) -> Path:
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    """The first line that starts with ``marker`` once indented."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(marker))


def test_a_pack_without_the_sections_has_empty_ones(tmp_path):
    pack = policy.load(str(write_pack(tmp_path, text=BASE)))
    assert pack.handling == Handling() and pack.survey == Survey()
    assert pack.hours == Hours() and pack.supervision == Supervision()
    assert pack.hours.is_staffed(time(3)) is None and pack.supervision.card(9, 99) is None


def test_every_section_is_read(tmp_path):
    pack = policy.load(str(write_pack(tmp_path)))
    assert pack.handling == Handling(
        sign_within=Limit(hours=24, basis="998 第二条"),
        urgent_sign_within=Limit(minutes=30, basis="998 第二条"),
        return_within=Limit(working_hours=8, basis="998 第三条"),
        extension=Extension(
            max_count=2,
            max_multiple=1,
            ask_working_days_before_expiry=2,
            excludes_urgent=True,
            basis="998 第四条",
        ),
    )
    assert pack.survey == Survey(
        ratings=Ratings(values=("满意", "基本满意", "不满意"), basis="998 第五条"),
        callback_within=Limit(working_days=3, basis="998 第五条"),
        no_reply=NoReply(rating="满意", after=Limit(hours=24, basis="998 第六条"), basis="998 第六条"),
        rehandle=Rehandle(max_count=1, within=Limit(working_days=5, basis="998 第七条"), basis="998 第七条"),
        person_follow_up=FollowUp(after_unsatisfied=2, basis="998 第七条"),
    )
    assert pack.hours == Hours(
        always_staffed=False,
        staffed=((time(8), time(12)), (time(14, 30), time(17, 30))),
        off_hours="voicemail",
        basis="998 第八条",
    )
    assert pack.supervision.cards == (
        Card(
            "yellow",
            Limit(working_days=1, basis="998 第九条"),
            Limit(working_days=5, basis="998 第九条"),
            "998 第九条",
        ),
        Card("red", None, Limit(working_days=15, basis="998 第九条"), "998 第九条"),
    )


@pytest.mark.parametrize(
    "moment, staffed", [(time(7, 59), False), (time(8), True), (time(12), False), (time(17, 29), True)]
)
def test_staffed_windows(tmp_path, moment, staffed):
    assert policy.load(str(write_pack(tmp_path))).hours.is_staffed(moment) is staffed


@pytest.mark.parametrize(
    "unsigned, unreplied, card",
    [(0, 4, None), (1, 0, "yellow"), (0, 5, "yellow"), (9, 14, "yellow"), (0, 15, "red")],
)
def test_the_worst_card_applies(tmp_path, unsigned, unreplied, card):
    assert policy.load(str(write_pack(tmp_path))).supervision.card(unsigned, unreplied) == card


def test_the_longest_extension(tmp_path):
    pack = policy.load(str(write_pack(tmp_path)))
    assert pack.handling.extension.longest(pack.categories["consult"]).working_days == 2
    assert pack.handling.extension.longest(pack.urgent_deadline).hours == 24


def test_limit_in_words():
    assert Limit(working_days=1).describe() == "1 working day"
    assert Limit(working_hours=8).describe() == "8 working hours"
    assert Limit(minutes=30).describe() == "30 minutes"


# id, text replaced, replacement, field reported, text on the reported line, words of the problem
BROKEN = [
    (
        "limit-in-two-units",
        "sign_within: {hours: 24, basis: 998 第二条}",
        "sign_within: {hours: 24, working_days: 1, basis: 998 第二条}",
        "handling.sign_within",
        "sign_within:",
        "give exactly one of working_days, working_hours, hours, minutes",
    ),
    (
        "limit-a-boolean",
        "sign_within: {hours: 24, basis: 998 第二条}",
        "sign_within: {hours: yes, basis: 998 第二条}",
        "handling.sign_within.hours",
        "sign_within:",
        "expected a positive whole number, got True",
    ),
    (
        "limit-zero",
        "urgent_sign_within: {minutes: 30,",
        "urgent_sign_within: {minutes: 0,",
        "handling.urgent_sign_within.minutes",
        "urgent_sign_within:",
        "expected a positive whole number, got 0",
    ),
    (
        "limit-without-basis",
        "return_within: {working_hours: 8, basis: 998 第三条}",
        "return_within: {working_hours: 8}",
        "handling.return_within.basis",
        "return_within:",
        "missing: name the article",
    ),
    (
        "limit-unknown-unit",
        "return_within: {working_hours: 8, basis: 998 第三条}",
        "return_within: {days: 8, basis: 998 第三条}",
        "handling.return_within.days",
        "return_within:",
        "unknown field; use one of working_days",
    ),
    (
        "handling-misspelt-field",
        "  return_within:",
        "  retrun_within:",
        "handling.retrun_within",
        "retrun_within:",
        "unknown field; use one of sign_within",
    ),
    (
        "extension-length-twice",
        "    max_multiple: 1\n",
        "    max_multiple: 1\n    max_working_days: 15\n",
        "handling.extension",
        "extension:",
        "give exactly one of max_multiple or max_working_days",
    ),
    (
        "extension-count-zero",
        "    max_count: 2\n",
        "    max_count: 0\n",
        "handling.extension.max_count",
        "max_count: 0",
        "expected a positive whole number, got 0",
    ),
    (
        "extension-asked-after-expiry",
        "ask_working_days_before_expiry: 2",
        "ask_working_days_before_expiry: -1",
        "handling.extension.ask_working_days_before_expiry",
        "ask_working_days_before_expiry:",
        "expected a non-negative whole number, got -1",
    ),
    (
        "extension-flag-not-boolean",
        "excludes_urgent: true",
        "excludes_urgent: sometimes",
        "handling.extension.excludes_urgent",
        "excludes_urgent:",
        "expected true or false, got 'sometimes'",
    ),
    (
        "ratings-empty",
        "values: [满意, 基本满意, 不满意]",
        "values: []",
        "survey.ratings.values",
        "ratings:",
        "expected a list of ratings",
    ),
    (
        "ratings-repeated",
        "values: [满意, 基本满意, 不满意]",
        "values: [满意, 满意, 不满意]",
        "survey.ratings.values",
        "ratings:",
        "a rating is listed twice",
    ),
    (
        "no-reply-rating-unknown",
        "no_reply: {rating: 满意,",
        "no_reply: {rating: 非常满意,",
        "survey.no_reply.rating",
        "no_reply:",
        "'非常满意' is not one of survey.ratings.values",
    ),
    (
        "no-reply-without-wait",
        "no_reply: {rating: 满意, after: {hours: 24}, basis: 998 第六条}",
        "no_reply: {rating: 满意, basis: 998 第六条}",
        "survey.no_reply.after",
        "no_reply:",
        "missing: how long the survey waits",
    ),
    (
        "rehandle-limit-two-units",
        "    within: {working_days: 5}",
        "    within: {working_days: 5, hours: 2}",
        "survey.rehandle.within",
        "within:",
        "give exactly one of",
    ),
    (
        "follow-up-without-count",
        "person_follow_up: {after_unsatisfied: 2, basis: 998 第七条}",
        "person_follow_up: {basis: 998 第七条}",
        "survey.person_follow_up.after_unsatisfied",
        "person_follow_up:",
        "missing: after which 不满意",
    ),
    (
        "hours-staffed-not-boolean",
        "always_staffed: false",
        "always_staffed: 24h",
        "hours.always_staffed",
        "always_staffed:",
        "expected true or false, got '24h'",
    ),
    (
        "hours-no-off-hours",
        "  off_hours: voicemail\n",
        "",
        "hours.off_hours",
        "hours:",
        "missing: what happens outside staffed hours (voicemail)",
    ),
    (
        "hours-unknown-off-hours",
        "off_hours: voicemail",
        "off_hours: hang_up",
        "hours.off_hours",
        "off_hours:",
        "expected one of voicemail, got 'hang_up'",
    ),
    (
        "hours-window-backwards",
        '"14:30-17:30"',
        '"17:30-14:30"',
        "hours.staffed.1",
        "staffed:",
        "expected HH:MM-HH:MM with the start first, got '17:30-14:30'",
    ),
    (
        "hours-always-with-windows",
        "always_staffed: false",
        "always_staffed: true",
        "hours",
        "hours:",
        "always_staffed: true leaves no room for staffed windows or off_hours",
    ),
    (
        "card-unknown-colour",
        "    red:\n",
        "    purple:\n",
        "supervision.cards.purple",
        "purple:",
        "unknown field; use one of green, yellow, red",
    ),
    (
        "card-threshold-in-hours",
        "unreplied_after: {working_days: 15}",
        "unreplied_after: {hours: 15}",
        "supervision.cards.red.unreplied_after.hours",
        "unreplied_after: {hours",
        "unknown field; use one of working_days",
    ),
]


@pytest.mark.parametrize(
    "old, new, field, marker, message", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_broken_section_names_file_line_and_field(tmp_path, old, new, field, marker, message):
    path = write_pack(tmp_path, old, new)
    with pytest.raises(PolicyError) as caught:
        policy.load(str(path))
    problems = caught.value.problems
    wanted = f"{path}:{line_of(path, marker)}: {field}: "
    assert any(p.startswith(wanted) and message in p for p in problems), problems
