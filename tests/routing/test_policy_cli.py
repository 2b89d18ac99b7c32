"""`hotline policy show NAME`: utility lines, key items and filing rules, each with its article.

One row per rule the command prints, citing the article the pack rests it on.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from routing import policy
from routing.cli import policy_group


@pytest.fixture(scope="module")
def shown():
    """The printed pack, per name (each pack is read once per module)."""
    runner = CliRunner()
    out = {}
    for name in ("wengyuan", "guizhou", "longsheng"):
        result = runner.invoke(policy_group, ["show", name], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        out[name] = result.stdout
    return out


def section(text: str, heading: str) -> list[str]:
    """The lines under ``heading`` up to the next blank line."""
    lines = text.split(f"\n{heading}", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line for line in lines[1:] if line.strip()]


# (pack, heading, what one line of that section says, article) — the article is on the line (or
# the section's basis line) because every rule the command prints is one the regulation makes.
ROWS = [
    pytest.param(
        "wengyuan", "key items", "same-day reporters   3 different citizens, one incident, one day",
        "000 第十四条", id="000 第十四条 一天内多人反映: key items",
    ),
    pytest.param(
        "wengyuan", "filed as another category", "praise               as suggestion (15 working days)",
        "000 第七条", id="000 第七条 建议: praise filed as a suggestion",
    ),
    pytest.param(
        "guizhou", "filed as another category", "praise               as suggestion (set by the deployment)",
        "004 第三条", id="004 第三条 意见建议: praise filed as a suggestion",
    ),
    pytest.param(
        "guizhou", "utility lines", "power    供电服务热线   dial 95598 — guidance: 您反映的是供电问题",
        "004 第十条(一)", id="004 第十条(一) power: 95598 with its guidance",
    ),
    pytest.param(
        "guizhou", "utility lines", "water    供水服务热线   no number — guidance: 您反映的是供水问题",
        "004 第十条(一)", id="004 第十条(一) water: no number, the guidance says where to find it",
    ),
    pytest.param(
        "guizhou", "utility lines", "gas      燃气服务热线   no number — guidance: 您反映的是燃气供应问题",
        "004 第十条(一)", id="004 第十条(一) gas: no number",
    ),
    pytest.param(
        "guizhou", "utility lines", "heating  供热服务热线   no number — guidance: 您反映的是供暖问题",
        "004 第十条(一)", id="004 第十条(一) heating: no number",
    ),
]  # fmt: skip


@pytest.mark.parametrize("name, heading, line, basis", ROWS)
def test_show_prints_the_rule_with_its_article(shown, name, heading, line, basis):
    rows = section(shown[name], heading)
    (found,) = [row for row in rows if row.startswith(f"  {line}")]
    assert basis in found or any(row.strip().startswith("basis:") and basis in row for row in rows)


def test_a_line_without_a_number_never_shows_an_empty_dial(shown):
    for name, text in shown.items():
        for line in section(text, "emergency lines") + section(text, "utility lines"):
            assert not line.rstrip().endswith("dial"), f"{name}: {line!r}"
            assert "dial  " not in line


def test_every_utility_line_guizhou_enables_is_shown_and_how_it_is_reached():
    pack = policy.load("guizhou")
    utility = [line for line in pack.emergency_lines if line.utility]
    assert {line.number for line in utility} == {"water", "power", "gas", "heating"}
    for line in utility:
        # the pack must say how to reach each one: a number, or guidance (or both)
        assert line.dial or line.guidance


def test_the_emergency_lines_stay_apart_from_the_utility_lines(shown):
    emergency = section(shown["guizhou"], "emergency lines")
    assert [line.split()[0] for line in emergency[:-1]] == ["110", "119", "122", "120", "96333"]
    assert "  110    公安报警       dial 110" in emergency


@pytest.mark.parametrize("name", ["wengyuan", "longsheng"])
def test_a_pack_without_utility_lines_says_so(shown, name):
    (line,) = section(shown[name], "utility lines")
    assert line.startswith("  -  not put through")


def test_a_pack_without_the_key_item_rule_shows_a_dash(shown):  # 003 names no key items
    assert section(shown["longsheng"], "key items") == ["  same-day reporters   -"]
    assert section(shown["guizhou"], "key items") == ["  same-day reporters   -"]


def test_a_pack_that_accepts_praise_files_nothing_elsewhere(shown):  # 003 第三条 accepts praise
    assert section(shown["longsheng"], "filed as another category") == ["  -"]
    assert "  praise      2 working days         003 第三条" in shown["longsheng"]


def test_the_praise_reply_is_shown_under_its_rule(shown):
    rows = section(shown["wengyuan"], "filed as another category")
    assert rows[1].strip() == "reply: 感谢您的肯定！您的表扬将作为意见转达给{unit}。"


def test_a_pack_without_holidays_says_the_libraries_decide(shown):
    assert section(shown["longsheng"], "holidays") == [
        "  -  chinesecalendar, then holidays' statutory days, decide every year"
    ]


def test_a_packs_own_holidays_are_shown_with_the_source_of_their_year(tmp_path):
    pack = tmp_path / "county.yaml"
    pack.write_text(
        "base: longsheng\nname: county\nholidays:\n"
        "  2027: {off: [2027-02-11], work: [2027-02-20]}\n"
        "  2025: {off: [2025-09-29]}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(policy_group, ["show", str(pack)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert section(result.stdout, "holidays") == [
        "  2025: counted by chinesecalendar (chinesecalendar covers this year: the pack's days are not used)",
        "    off:  2025-09-29",
        "    work: -",
        "  2027: counted by holidays+pack",
        "    off:  2027-02-11",
        "    work: 2027-02-20",
    ]
