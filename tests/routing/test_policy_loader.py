"""Policy packs: shipped packs load, and a broken pack names the file, the line and the field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.core.vocabulary import CATEGORIES
from routing import policy
from routing.policy import PolicyError

# A small pack on top of common.yaml that loads cleanly; every broken pack below changes one thing in it.
PACK = """\
base: common
name: testpack
title: 测试县12345热线
regulation: "999"
jurisdiction:
  name: 测试县
  towns: [甲镇, 乙乡]
categories:
  consult: {working_days: 2, basis: 第一条}
  help: {working_days: 3}
  complaint: {working_days: 10}
  report: {working_days: 10}
  suggestion: {working_days: 5}
  praise: {working_days: 2}
deadlines:
  counting: same_day
urgent:
  deadline: {hours: 24}
emergency:
  enabled: ["110", "119", "120"]
redirects:
  court: {basis: 第四条}
declines:
  abusive: {basis: 第五条}
ticket_reply: 已登记，转交{unit}，{due}前答复。
"""

CLASSIFY = "classify:\n  - category: consult\n    patterns: [怎么]\n"


def write_pack(tmp_path: Path, old: str = "", new: str = "", text: str = PACK) -> Path:
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, marker: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line)


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy.load(str(path))
    return caught.value.problems


# ---------------------------------------------------------------- shipped packs


@pytest.mark.parametrize("name", policy.available())
def test_every_shipped_pack_loads(name):
    pack = policy.load(name)
    assert pack.name == name and pack.title and pack.regulation
    assert {"consult", "help", "complaint", "report", "suggestion"} <= set(pack.categories) <= set(CATEGORIES)
    assert pack.counting in {"same_day", "next_working_day"}
    assert pack.urgent_deadline.working_days or pack.urgent_deadline.hours or pack.urgent_deadline.set_by
    assert pack.emergency_lines and pack.question_cues and pack.location_cues
    for rule in (*pack.redirects, *pack.declines):
        assert rule.basis and rule.reply, rule.code


def test_common_is_a_base_not_a_pack():
    assert "longsheng" in policy.available()
    assert "common" not in policy.available()


def test_the_test_pack_loads_on_top_of_common(tmp_path):
    pack = policy.load(str(write_pack(tmp_path)))
    assert pack.name == "testpack" and pack.counting == "same_day"
    assert pack.categories["consult"].working_days == 2 and pack.urgent_deadline.hours == 24
    assert [line.number for line in pack.emergency_lines] == ["110", "119", "120", "119"]  # 96333 falls back
    assert [r.code for r in pack.redirects] == ["court"] and pack.redirects[0].patterns  # from common
    assert pack.classify  # inherited from common


def test_policy_list(cli):
    result = cli("policy", "list")
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == policy.available()
    assert "longsheng" in result.stdout and "003" in result.stdout
    assert "龙胜各族自治县12345政务服务便民热线" in result.stdout


def test_policy_show_longsheng(cli):
    result = cli("policy", "show", "longsheng")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("龙胜各族自治县12345政务服务便民热线 (longsheng, regulation 003)")
    assert "deadlines (counting: next_working_day)" in out
    assert "consult     2 working days" in out and "complaint   10 working days" in out
    assert "urgent      24 hours" in out
    for number in ("110", "119", "120", "122"):
        assert f"  {number} " in out
    assert "court" in out and "003 第四条(三)" in out and "out_of_jurisdiction" in out


# ---------------------------------------------------------------- broken packs

# id, text replaced, replacement, field reported, text on the reported line, words of the problem
BROKEN = [
    (
        "bad-regex-in-redirect",
        "court: {basis: 第四条}",
        'court: {basis: 第四条, patterns: ["(法院"]}',
        "redirects.court.patterns.0",
        "court:",
        "bad regular expression '(法院'",
    ),
    (
        "bad-regex-in-urgent",
        "  deadline: {hours: 24}\n",
        '  deadline: {hours: 24}\n  basis: 003 第十七条\n  patterns:\n    - 停水\n    - "[停电"\n',
        "urgent.patterns.1",
        "[停电",
        "bad regular expression",
    ),
    (
        "unknown-urgent-kind",
        "  deadline: {hours: 24}\n",
        "  deadline: {hours: 24}\n  basis: 003 第十七条\n  topics: [outage, riots]\n",
        "urgent.topics.1",
        "topics: [outage, riots]",
        "unknown urgent kind 'riots'",
    ),
    (
        "urgent-kinds-without-article",
        "  deadline: {hours: 24}\n",
        "  deadline: {hours: 24}\n  topics: [outage]\n",
        "urgent.basis",
        "urgent:",
        "name the article",
    ),
    (
        "bad-regex-in-classify",
        "ticket_reply:",
        CLASSIFY.replace("[怎么]", '["(怎么"]') + "ticket_reply:",
        "classify.0.patterns.0",
        "(怎么",
        "bad regular expression",
    ),
    (
        "unknown-category",
        "  praise: {working_days: 2}\n",
        "  praise: {working_days: 2}\n  gossip: {working_days: 1}\n",
        "categories.gossip",
        "gossip:",
        "unknown category; use one of consult",
    ),
    (
        "unknown-category-in-classify",
        "ticket_reply:",
        CLASSIFY.replace("consult", "gossip") + "ticket_reply:",
        "classify.0.category",
        "category: gossip",
        "expected one of consult",
    ),
    (
        "deadline-with-days-and-hours",
        "help: {working_days: 3}",
        "help: {working_days: 3, hours: 24}",
        "categories.help",
        "help:",
        "give exactly one of working_days or hours",
    ),
    (
        "deadline-with-neither",
        "help: {working_days: 3}",
        "help: {basis: 第二条}",
        "categories.help",
        "help:",
        "give exactly one of working_days or hours",
    ),
    (
        "deadline-zero-days",
        "help: {working_days: 3}",
        "help: {working_days: 0}",
        "categories.help.working_days",
        "help:",
        "expected a positive whole number, got 0",
    ),
    (
        "urgent-deadline-with-days-and-hours",
        "deadline: {hours: 24}",
        "deadline: {hours: 24, working_days: 1}",
        "urgent.deadline",
        "deadline:",
        "give exactly one of working_days or hours",
    ),
    (
        "unknown-redirect-code",
        "  court: {basis: 第四条}\n",
        "  court: {basis: 第四条}\n  embassy: {basis: 第四条}\n",
        "redirects.embassy",
        "embassy:",
        "unknown code; use one of court",
    ),
    (
        "redirect-without-basis",
        "court: {basis: 第四条}",
        "court: {reply: 请到县人民法院咨询。}",
        "redirects.court.basis",
        "court:",
        "missing: name the article this rule rests on",
    ),
    (
        "redirect-empty",
        "court: {basis: 第四条}",
        "court:",
        "redirects.court.basis",
        "court:",
        "missing: name the article this rule rests on",
    ),
    (
        "unknown-decline-code",
        "abusive: {basis: 第五条}",
        "rude: {basis: 第五条}",
        "declines.rude",
        "rude:",
        "unknown code; use one of out_of_jurisdiction",
    ),
    (
        "decline-without-basis",
        "abusive: {basis: 第五条}",
        "abusive: {}",
        "declines.abusive.basis",
        "abusive:",
        "missing: name the article",
    ),
    (
        "emergency-enabled-unknown-line",
        'enabled: ["110", "119", "120"]',
        'enabled: ["110", "119", "999"]',
        "emergency.enabled.2",
        "enabled:",
        "no line '999' under emergency.lines",
    ),
    (
        "unknown-counting",
        "counting: same_day",
        "counting: weekly",
        "deadlines.counting",
        "counting:",
        "expected same_day or next_working_day",
    ),
    (
        "wrong-type",
        "  towns: [甲镇, 乙乡]",
        "  towns: 甲镇",
        "jurisdiction.towns",
        "towns:",
        "expected list, got str",
    ),
    (
        "required-field-missing",
        "ticket_reply: 已登记，转交{unit}，{due}前答复。\n",
        "",
        "ticket_reply",
        "base: common",
        "missing",
    ),
]


@pytest.mark.parametrize(
    "old, new, field, marker, message", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_a_broken_pack_names_file_line_and_field(tmp_path, old, new, field, marker, message):
    path = write_pack(tmp_path, old, new)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line_of(path, marker)}: {field}: "), problems[0]
    assert message in problems[0]


def test_every_problem_is_reported_at_once(tmp_path):
    text = (
        PACK.replace("help: {working_days: 3}", "help: {working_days: 3, hours: 24}")
        .replace("court: {basis: 第四条}", "court: {}")
        .replace('"120"]', '"999"]')
    )
    path = write_pack(tmp_path, text=text)
    problems = problems_of(path)
    assert [p.split(": ")[1] for p in problems] == [
        "categories.help",
        "emergency.enabled.2",
        "redirects.court.basis",
    ]
    assert all(p.startswith(f"{path}:") for p in problems)


@pytest.mark.parametrize(
    "old, new, marker",
    [
        ("  name: 测试县\n", "  name: 测试县\n\tbad: 1\n", "bad: 1"),
        ("  towns: [甲镇, 乙乡]", "  towns: [甲镇, 乙乡]\n  - 丙村", "丙村"),
    ],
    ids=["tab-indent", "sequence-inside-mapping"],
)
def test_invalid_yaml_names_the_file_and_line(tmp_path, old, new, marker):
    path = write_pack(tmp_path, old, new)
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:{line_of(path, marker)}: not valid YAML: ")


def test_unknown_base_names_the_line(tmp_path):
    path = write_pack(tmp_path, "base: common", "base: nothing")
    assert problems_of(path) == [f"{path}:1: base: no pack named 'nothing'"]


def test_a_pack_that_is_not_a_mapping(tmp_path):
    path = write_pack(tmp_path, text="- just\n- a list\n")
    assert problems_of(path) == [f"{path}:1: a pack is a mapping of fields"]


def test_show_prints_the_problems_of_a_broken_pack(cli, tmp_path):
    path = write_pack(tmp_path, "help: {working_days: 3}", "help: {working_days: 3, hours: 24}")
    result = cli("policy", "show", str(path))
    assert result.exit_code == 1
    assert f"{path}:{line_of(path, 'help:')}: categories.help: give exactly one" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "given", ["missing.yaml", "packs/missing", "missing.yml"], ids=["yaml", "path-without-suffix", "yml"]
)
def test_a_pack_path_that_does_not_exist(tmp_path, given):
    path = str(tmp_path / given)
    assert problems_of(Path(path)) == [f"{path}: no such policy file"]


@pytest.mark.parametrize("name", ["nowhere", "common", "Longsheng"])
def test_an_unknown_preset_lists_the_presets(name):
    with pytest.raises(PolicyError) as caught:
        policy.load(name)
    assert str(caught.value) == f"unknown policy {name!r}; presets: {', '.join(policy.available())}"


def test_show_an_unknown_preset(cli):
    result = cli("policy", "show", "nowhere")
    assert result.exit_code == 1
    assert "unknown policy 'nowhere'; presets: " in result.stderr


def test_pack_holidays_are_read(tmp_path):
    path = write_pack(
        tmp_path,
        "ticket_reply:",
        "holidays:\n  2027:\n    off: [2027-01-01, 2027-02-08]\n    work: [2027-02-20]\nticket_reply:",
    )
    pack = policy.load(str(path))
    assert pack.holidays == {2027: {"off": ("2027-01-01", "2027-02-08"), "work": ("2027-02-20",)}}


@pytest.mark.parametrize(
    "holidays, field",
    [
        ('  2027:\n    off: ["2027-02-30"]\n', "holidays.2027.off.0"),
        ("  2027:\n    off: [2027-02-30]\n", "holidays.2027.off.0"),
        ("  next:\n    off: [2027-01-01]\n", "holidays.next"),
        ('  2027:\n    off: "2027-01-01"\n', "holidays.2027.off"),
    ],
    ids=["impossible-date-quoted", "impossible-date-unquoted", "year-not-a-number", "off-not-a-list"],
)
def test_bad_pack_holidays_are_reported(tmp_path, holidays, field):
    from routing.workdays import WorkdayCalendar

    path = write_pack(tmp_path, "ticket_reply:", f"holidays:\n{holidays}ticket_reply:")
    try:
        pack = policy.load(str(path))
    except PolicyError as exc:
        assert any(p.startswith(f"{path}:") and f": {field}: " in p for p in exc.problems), exc.problems
    else:
        WorkdayCalendar(pack.holidays)  # what Hotline does with them
        pytest.fail("the pack loaded although its holidays are wrong")


def test_a_boolean_deadline_is_refused(tmp_path):
    path = write_pack(tmp_path, "help: {working_days: 3}", "help: {working_days: yes}")
    problems = problems_of(path)
    assert any(": categories.help.working_days: expected a positive whole number" in p for p in problems)
