"""Each policy pack's demo county (`hotline demo --policy NAME`): it loads into a fresh database, its
towns route to their own governments, its answers name its own units and phones, and no reply sends the
citizen to 12345, which is this hotline itself."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from intake.demo import demo_county, demo_packs, load_demo
from routing import policy as policies
from tests.conftest import make_hotline

# A reply that tells the citizen to ring or write to 12345 (the unit's own name, 翁源县12345…, is fine).
CALL_12345 = re.compile(r"(拨打|致电|打|联系|通过|或)\s*12345")

# pack, a matter naming one of its towns and nothing a department holds, the town's government
TOWN_MATTERS = [
    ("longsheng", "瓢里镇瓢里街的路灯坏了一个多月了", "twn-piaoli"),
    ("wengyuan", "坝仔镇圩镇那条街的路灯坏了一个多月了", "twn-bazai"),
    ("wengyuan", "周陂镇有段村道塌了一半，车过不去", "twn-zhoubei"),
    ("pingli", "长安镇街上的路灯坏了一个多月了", "twn-changan"),
    ("pingli", "八仙镇有段村道塌了一半，车过不去", "twn-baxian"),
    ("liaoyang", "弓长岭区那条街的路灯坏了一个多月了", "gov-gongchangling"),
    ("liaoyang", "首山镇有段村道塌了一半，车过不去", "gov-liaoyangxian"),  # a town of 辽阳县
    ("guizhou", "遵义市汇川区那条街的路灯坏了一个多月了", "gov-zunyi"),  # a province: its cities
    ("guizhou", "黔东南州有段村道塌了一半，车过不去", "gov-qiandongnan"),
]

# pack, a routine question, the unit whose entry answers, a name the answer holds
ROUTINE = [
    ("longsheng", "社保卡丢了咋办", "rsj", "龙胜"),
    ("wengyuan", "社保卡丢了咋办", "rsj", "翁源县人社局"),
    ("wengyuan", "身份证丢了怎么补办", "gaj", "翁源县公安局"),
    ("pingli", "社保卡丢了咋办", "rsj", "平利县人社局"),
    ("pingli", "低保怎么申请", "mzj", "平利县民政局"),
    ("liaoyang", "社保卡丢了咋办", "rsj", "辽阳市人社局"),
    ("liaoyang", "家里暖气不热怎么办", "heat", "辽阳市供热有限公司"),
    ("guizhou", "社保卡丢了咋办", "rst", "贵州省人力资源和社会保障厅"),
    ("guizhou", "办护照要什么材料", "gat", "贵州省公安厅"),
]

# the county's own long-distance code: 0773 桂林, 0751 韶关, 0915 安康, 0419 辽阳, 0851 贵阳
AREA_CODE = {"longsheng": "0773", "wengyuan": "0751", "pingli": "0915", "liaoyang": "0419", "guizhou": "0851"}


def entries(pack: str) -> list[dict]:
    return [json.loads(line) for line in demo_county(pack).entries.read_text(encoding="utf-8").splitlines()]


def units(pack: str) -> list[dict]:
    return yaml.safe_load(demo_county(pack).units.read_text(encoding="utf-8"))


@pytest.fixture
def county(request, settings, clock):
    """A fresh hotline running ``request.param``'s pack with that pack's demo county loaded."""
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy=request.param)
    with hotline.db.session() as session:
        count, report = load_demo(session, request.param)
        assert report.ok, report.errors
        session.commit()
    hotline.forget_units()
    hotline.loaded = (count, report)
    yield hotline
    hotline.db.dispose()


def test_every_pack_has_a_demo_county():
    assert set(AREA_CODE) == set(demo_packs()) == set(policies.available())


def test_a_pack_without_a_county_is_refused_in_chinese():
    with pytest.raises(ValueError, match="没有演示县"):
        demo_county("atlantis")
    with pytest.raises(ValueError, match="没有演示县"):
        demo_county("../longsheng")


@pytest.mark.parametrize("county", sorted(AREA_CODE), indirect=True)
def test_the_county_loads_into_a_fresh_database(county):
    pack = county.policy.name
    count, report = county.loaded
    codes = {u["code"] for u in units(pack)}
    assert count == len(codes) and "office" in codes
    assert report.added == len(entries(pack)) >= 30
    assert {e["unit"] for e in entries(pack)} <= codes
    with county.db.session() as session:
        catalogue = county.units(session)
    # every town of the pack's jurisdiction has its own government in the catalogue
    townships = {t for u in units(pack) if u["kind"] == "township" for t in u["towns"]}
    assert set(county.policy.towns) <= townships
    assert catalogue.towns_in("".join(county.policy.towns)) == set(county.policy.towns)


@pytest.mark.parametrize("pack", sorted(AREA_CODE))
def test_loading_twice_changes_nothing(pack, settings, clock):
    hotline = make_hotline(settings.database_url, settings.instance_path, clock, policy=pack)
    for _ in range(2):
        with hotline.db.session() as session:
            _, report = load_demo(session, pack)
            session.commit()
    assert report.ok and report.added == report.updated == 0
    hotline.db.dispose()


@pytest.mark.parametrize(
    "county, text, unit",
    [pytest.param(p, t, u, id=f"{p}-{u}") for p, t, u in TOWN_MATTERS],
    indirect=["county"],
)
def test_a_matter_in_a_town_goes_to_that_towns_government(county, text, unit):
    outcome = county.decide(text)
    assert (outcome.action, outcome.unit) == ("ticket", unit)
    assert outcome.unit_name in outcome.reply


@pytest.mark.parametrize("county, text, unit, name", [pytest.param(*r, id=f"{r[0]}-{r[2]}") for r in ROUTINE],
                         indirect=["county"])  # fmt: skip
def test_a_routine_question_is_answered_by_the_countys_own_unit(county, text, unit, name):
    outcome = county.decide(text)
    assert outcome.action == "answer", outcome.reply
    entry = next(e for e in entries(county.policy.name) if e["id"] == outcome.kb_id)
    assert entry["unit"] == unit and name in outcome.reply
    assert not CALL_12345.search(outcome.reply)


@pytest.mark.parametrize("pack", sorted(AREA_CODE))
def test_phones_are_the_countys_own(pack):
    others = {code for p, code in AREA_CODE.items() if p != pack}
    for item in [*entries(pack), *units(pack)]:
        text = json.dumps(item, ensure_ascii=False)
        assert not [code for code in others if code in text], item.get("id") or item["code"]
    assert all(u["phone"].startswith(AREA_CODE[pack]) for u in units(pack))


@pytest.mark.parametrize(
    "pack",
    [
        "longsheng",
        "wengyuan",
        "pingli",
        "liaoyang",
        "guizhou",
    ],
)
def test_no_entry_sends_the_citizen_to_12345(pack):
    told = [e["id"] for e in entries(pack) if CALL_12345.search(e["answer"] + (e["spoken_answer"] or ""))]
    assert told == []


def test_the_demo_command_loads_the_named_county(cli):
    result = cli("demo", "--policy", "wengyuan")
    assert result.exit_code == 0, result.output
    assert "demo loaded (wengyuan): 33 units" in result.output
    assert "HOTLINE_POLICY=wengyuan" in result.output  # the test deployment runs longsheng
    again = cli("demo", "--policy", "wengyuan")
    assert f"{len(entries('wengyuan'))} unchanged" in again.output


def test_the_demo_command_defaults_to_the_deployments_pack(cli):
    result = cli("demo")
    assert result.exit_code == 0 and "demo loaded (longsheng)" in result.output
    assert "HOTLINE_POLICY" not in result.output


def test_the_demo_command_names_the_packs_that_have_a_county(cli):
    result = cli("demo", "--policy", "atlantis")
    assert result.exit_code != 0 and "没有演示县" in result.output and "guizhou、liaoyang" in result.output
