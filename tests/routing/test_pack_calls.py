"""``survey.calls``, the call-back rules of a pack: the deployment's defaults from common.yaml, a pack's
own values, and a mistake named with its file, line and field like every other pack error."""

from __future__ import annotations

from datetime import time

import pytest

from routing import policy
from routing.policy import Calls, Limit, PolicyError, Unreachable
from tests.routing.test_pack_format import BASE, line_of, write_pack

CALLS = """\
survey:
  ratings: {values: [满意, 基本满意, 不满意], basis: 998 第五条}
  calls:
    hours: ["08:30-12:00", "14:30-21:00"]
    retry_after: {minutes: 90}
    attempts: 6
    per_day: 3
    after_sms: {hours: 48}
    unreachable: {days: 2, counts_as: 基本满意, basis: 998 第十条}
    basis: 998 第十条
"""


def test_a_pack_that_says_nothing_gets_common_yamls_deployment_default():
    calls = policy.load("longsheng").survey.calls
    assert calls == Calls()  # what common.yaml states, and what a pack without a base gets
    assert calls.hours == ((time(9), time(12)), (time(14), time(20)))
    assert (calls.retry_after, calls.attempts, calls.per_day) == (Limit(hours=2), 3, None)
    assert calls.unreachable is None and calls.basis is None  # not from a regulation


def test_a_pack_sets_its_own_call_back_rules(tmp_path):
    pack = policy.load(str(write_pack(tmp_path, text=BASE + CALLS)))
    assert pack.survey.calls == Calls(
        hours=((time(8, 30), time(12)), (time(14, 30), time(21))),
        retry_after=Limit(minutes=90, basis="998 第十条"),
        attempts=6,
        per_day=3,
        after_sms=Limit(hours=48, basis="998 第十条"),
        unreachable=Unreachable(days=2, counts_as="基本满意", basis="998 第十条"),
        basis="998 第十条",
    )


def test_a_pack_overriding_one_field_keeps_the_others(tmp_path):
    path = tmp_path / "county.yaml"
    path.write_text(
        "base: wengyuan\nname: county\nsurvey:\n  calls:\n    attempts: 4\n    per_day: 2\n", "utf-8"
    )
    calls = policy.load(str(path)).survey.calls
    assert (calls.attempts, calls.per_day) == (4, 2)
    assert calls.hours == Calls().hours and calls.retry_after == Calls().retry_after


# case, old, new, field, line marker, message
BROKEN = [
    ("hours-backwards", '"14:30-21:00"', '"21:00-14:30"', "survey.calls.hours.1", "hours:",
     "expected HH:MM-HH:MM with the start first, got '21:00-14:30'"),
    ("hours-empty", 'hours: ["08:30-12:00", "14:30-21:00"]', "hours: []", "survey.calls.hours", "hours:",
     "no window"),
    ("retry-in-working-days", "retry_after: {minutes: 90}", "retry_after: {working_days: 1}",
     "survey.calls.retry_after.working_days", "retry_after:", "unknown field; use one of hours, minutes"),
    ("attempts-zero", "attempts: 6", "attempts: 0", "survey.calls.attempts", "attempts:",
     "expected a positive whole number, got 0"),
    ("per-day-over-attempts", "per_day: 3", "per_day: 7", "survey.calls.per_day", "per_day:",
     "more than attempts (6)"),
    ("unreachable-counts-as-unknown", "counts_as: 基本满意", "counts_as: 非常满意",
     "survey.calls.unreachable.counts_as", "unreachable:", "expected one of replied, 满意, 基本满意, 不满意"),
    ("unreachable-without-days", "{days: 2, counts_as", "{counts_as", "survey.calls.unreachable.days",
     "unreachable:", "missing: on how many consecutive days"),
    ("unreachable-more-days-than-calls", "{days: 2,", "{days: 3,", "survey.calls.unreachable",
     "unreachable:", "3 days of calls need per_day set and attempts ≥ days × per_day"),
    ("unreachable-without-basis", ", basis: 998 第十条}", "}", "survey.calls.unreachable.basis",
     "unreachable:", "missing: name the article"),
    ("unknown-field", "attempts: 6", "attempts: 6\n    redial: true", "survey.calls.redial", "redial:",
     "unknown field; use one of hours, retry_after, attempts, per_day, after_sms, unreachable, basis"),
]  # fmt: skip


@pytest.mark.parametrize(
    "old, new, field, marker, message", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_broken_calls_section_names_file_line_and_field(tmp_path, old, new, field, marker, message):
    path = write_pack(tmp_path, old, new, text=BASE + CALLS)
    with pytest.raises(PolicyError) as caught:
        policy.load(str(path))
    problems = caught.value.problems
    wanted = f"{path}:{line_of(path, marker)}: {field}: "
    assert any(p.startswith(wanted) and message in p for p in problems), problems


def test_show_prints_the_call_back_rules_and_says_which_are_the_deployments(cli):
    out = cli("policy", "show", "longsheng").stdout
    assert "call-back hours      09:00-12:00, 14:00-20:00" in out and "(deployment default)" in out
    assert "call-back attempts   3, 2 hours apart" in out
    assert "unreachable          -" in out


@pytest.mark.parametrize(
    "pack, wanted",
    [
        # 001 第十三条(四) and 第二十四条: place, time and parties, or declined; the unit knows the caller
        # only with their permission
        ("liaoyang", ["complaint", "place, time, parties", "declined as incomplete", "001 第二十四条",
                      "only with the citizen's permission"]),
        ("longsheng", ["refused", "shown unless the citizen asks for confidentiality"]),
    ],
)  # fmt: skip
def test_show_prints_the_facts_a_ticket_must_hold_and_who_may_know_the_caller(cli, pack, wanted):
    out = cli("policy", "show", pack).stdout
    section = out[out.index("facts asked for when the message lacks them") :]
    section = section[: section.index("\n\n")]
    assert all(text in section for text in wanted), section
