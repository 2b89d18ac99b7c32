"""The unit catalogue belongs to the deployment (issue 18): `hotline unit import/export`, YAML or CSV,
all or nothing, round trips, `--replace`, and the migration that added a unit's parent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, select, text

from intake.core.db import Database
from intake.core.messages import Message
from intake.core.models import Ticket, Unit
from kb.models import KbEntry
from routing.catalogue import (
    DEMO_UNITS,
    HEADERS,
    UnitRecord,
    export_records,
    format_units,
    load_units,
)

# 资源县 (桂林市), a county that is not the demo's: its towns are real, the phone numbers and addresses
# below are invented for the test.
ZIYUAN = """\
# 资源县 12345 承办单位目录（测试数据：电话、地址均为虚构）
- code: office
  name: 资源县12345政务服务便民热线工作站
  kind: office
  responsibilities: 负责全县12345热线工单的接收、分派、督办和回访。
  keywords: [热线, 工单, 回访]
  towns: []
  phone: "0773-4300000"   # 虚构
  address: 资源镇（虚构地址）1号
- code: twn-ziyuan
  name: 资源镇人民政府
  kind: township
  keywords: [资源镇政府]
  towns: [资源镇]
  phone: "0773-4300101"
  address: 资源镇（虚构地址）2号
- code: twn-zhongfeng
  name: 中峰镇人民政府
  kind: township
  keywords: [中峰镇政府]
  towns: [中峰镇]
  phone: "0773-4300102"
  address: 中峰镇（虚构地址）3号
- code: twn-meixi
  name: 梅溪镇人民政府
  kind: township
  towns: [梅溪镇]
  phone: "0773-4300103"
- code: twn-guali
  name: 瓜里乡人民政府
  kind: township
  towns: [瓜里乡]
- code: twn-chetian
  name: 车田苗族乡人民政府
  kind: township
  towns: [车田苗族乡]
- code: jyj
  name: 资源县教育局
  kind: department
  responsibilities: 负责全县中小学入学、学籍、校车和教育收费等事务。
  keywords: [入学, 学籍, 校车, 择校]
  phone: "0773-4300201"
- code: zjj
  name: 资源县住房和城乡建设局
  kind: department
  responsibilities: 负责房屋安全、物业管理、建筑施工和公租房等事务。
  keywords: [物业, 公租房, 危房, 施工噪音]
  phone: "0773-4300202"
- code: scjg
  name: 资源县市场监督管理局
  kind: department
  responsibilities: 负责食品安全、价格、计量和消费维权。
  keywords: [过期食品, 食品安全, 缺斤少两, 消费维权]
  phone: "0773-4300203"
- code: scjg-meixi
  name: 资源县市场监督管理局梅溪市场监管所
  kind: department
  parent: scjg
  keywords: [过期食品, 食品安全]
  towns: [梅溪镇]
  phone: "0773-4300204"
"""

ZIYUAN_KB = [
    {
        "id": "ZY-JYJ-0001",
        "unit": "jyj",
        "question": "资源县小学一年级新生入学怎么报名？",
        "answer": "每年7月在资源县教育局公众号填报入学信息，8月公布分班结果（测试数据）。",
        "alt_questions": ["小孩上一年级去哪里报名"],
        "keywords": ["入学", "报名", "一年级"],
    },
    {
        "id": "ZY-OFFICE-0001",
        "unit": "office",
        "question": "资源县12345热线几点有人接听？",
        "answer": "全天24小时有人接听（测试数据）。",
    },
]


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def units_in(hotline) -> dict[str, Unit]:
    with hotline.db.session() as session:
        return {u.code: u for u in session.scalars(select(Unit))}


def test_a_county_that_is_not_the_demo_runs_on_its_own_units(cli, hotline, tmp_path):
    """End to end: the units of 资源县, its knowledge base naming them, a message about one of its towns."""
    imported = cli("unit", "import", str(write(tmp_path / "ziyuan.yaml", ZIYUAN)))
    assert imported.exit_code == 0, imported.output
    assert "10 added, 0 updated, 0 unchanged, 0 removed" in imported.output
    units = units_in(hotline)
    assert units["scjg-meixi"].parent_code == "scjg" and units["twn-chetian"].towns == ["车田苗族乡"]

    kb_file = tmp_path / "ziyuan-kb.jsonl"
    kb_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ZIYUAN_KB), "utf-8")
    kb = cli("kb", "import", str(kb_file))
    assert kb.exit_code == 0, kb.output  # before: "unit 'jyj' is not in the unit catalogue"
    assert "2 added" in kb.output

    sender = "+8613900000001"
    lamp = hotline.handle(Message(channel="sms", sender=sender, text="中峰镇中峰村村口的路灯坏了一个多月了"))
    assert lamp.action == "ticket" and lamp.ticket is not None
    assert lamp.unit == "twn-zhongfeng" and lamp.ticket.unit == "twn-zhongfeng"
    assert "中峰镇人民政府" in lamp.reply
    # a department that covers only 梅溪镇 does not take a matter of 中峰镇: the county bureau does
    food = hotline.handle(
        Message(channel="sms", sender="+8613900000002", text="中峰镇街上一家超市卖过期食品")
    )
    assert food.action == "ticket" and food.unit == "scjg"
    answer = hotline.handle(Message(channel="web", sender="w-1", text="资源县小学一年级新生入学怎么报名？"))
    assert answer.action == "answer" and answer.kb_id == "ZY-JYJ-0001" and answer.unit == "jyj"
    with hotline.db.session() as session:
        assert session.scalar(select(Ticket.unit_code).where(Ticket.number == lamp.ticket.number)) == (
            "twn-zhongfeng"
        )


BAD = """\
- code: office
  name: 某县12345热线工作站
  kind: office
- code: twn-a
  name: 甲镇人民政府
  kind: township
  towns: [甲镇]
- code: twn-b
  name: 乙镇人民政府
  kind: township
  towns: [乙镇, 甲镇]
- code: "县 教育局"
  name: 教育局
  kind: department
- code: twn-a
  name: 又一个甲镇
  kind: township
- name: 没有代码的单位
  kind: department
- code: jtj
  name: 交通运输局
  kind: bureau
  phone: 07730001
- code: a1
  name: 甲
  kind: department
  parent: a2
- code: a2
  name: 乙
  kind: department
  parent: a1
- code: orphan
  name: 孤儿
  kind: department
  parent: nobody
  colour: red
- code: long
  name: 太长
  kind: department
  address: LONG
"""


def test_every_bad_line_is_named_and_nothing_is_written(cli, hotline, tmp_path):
    path = write(tmp_path / "bad.yaml", BAD.replace("LONG", "路" * 201))
    result = cli("unit", "import", str(path))
    assert result.exit_code == 1
    errors = [line.removeprefix(f"{path}: ") for line in result.stderr.splitlines()[:-1]]
    assert errors == [
        "line 11: towns: 甲镇 is already the town of township 'twn-a' (line 4)",
        "line 12: code: '县 教育局' may hold only letters, digits and . _ - "
        "(and start with a letter or digit)",
        "line 15: code: 'twn-a' already used on line 4",
        "line 18: code: missing",
        "line 22: kind: 'bureau' is not a kind; use one of office, township, department, enterprise",
        # YAML reads an unquoted 07730001 as an octal number
        "line 23: phone: must be text (put it in quotes in YAML), not 2076673",
        "line 27: parent: a1 → a2 → a1 is a cycle",
        "line 31: parent: a2 → a1 → a2 is a cycle",
        "line 35: parent: no unit 'nobody' in the catalogue or the file",
        "line 36: colour: unknown field; the fields are "
        "code, name, kind, parent, responsibilities, keywords, towns, phone, address",
        "line 40: address: longer than 200 characters (201)",
    ]
    assert result.stderr.splitlines()[-1] == "nothing imported: 11 problem(s)"
    assert units_in(hotline) == {}


def test_a_catalogue_without_the_office_is_refused_unless_the_database_has_it(cli, hotline, tmp_path):
    path = write(tmp_path / "one.csv", "代码,名称,类型,乡镇\ntwn-a,甲镇人民政府,township,甲镇\n")
    refused = cli("unit", "import", str(path))
    assert refused.exit_code == 1
    assert "the catalogue needs the hotline office: a unit with code 'office'" in refused.stderr
    office = write(tmp_path / "office.csv", "代码,名称,类型\noffice,某县12345热线工作站,office\n")
    assert cli("unit", "import", str(office)).exit_code == 0
    assert cli("unit", "import", str(path)).exit_code == 0
    assert set(units_in(hotline)) == {"office", "twn-a"}
    # with --replace the file is the whole catalogue: the office must be in it
    replaced = cli("unit", "import", "--replace", str(path))
    assert replaced.exit_code == 1 and "hotline office" in replaced.stderr


def test_csv_lines_are_numbered_as_a_spreadsheet_shows_them(cli, hotline, tmp_path):
    path = write(
        tmp_path / "units.csv",
        "代码,名称,类型,职责\n"
        'office,热线工作站,office,"两行\n职责"\n'
        "jyj,,department,\n"
        "jtj,交通运输局,bureau,\n",
    )
    result = cli("unit", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}: line 4: name: missing" in result.stderr
    assert f"{path}: line 5: kind: 'bureau' is not a kind" in result.stderr
    unknown = write(tmp_path / "odd.csv", "代码,名称,类型,颜色\noffice,热线,office,红\n")
    odd = cli("unit", "import", str(unknown))
    assert odd.exit_code == 1 and "line 1: unknown column '颜色'" in odd.stderr


def test_csv_reads_chinese_or_english_headers_and_chinese_list_separators(cli, hotline, tmp_path):
    chinese = write(
        tmp_path / "zh.csv",
        "代码,名称,类型,上级单位,职责,关键词,乡镇,电话,地址\n"
        "office,资源县12345热线工作站,office,,,热线；工单,,0773-4300000,\n"
        "scjg,资源县市场监督管理局,department,,,过期食品、缺斤少两;食品安全,,,\n"
        "scjg-meixi,梅溪市场监管所,department,scjg,,过期食品,梅溪镇,,\n",
    )
    assert cli("unit", "import", str(chinese)).exit_code == 0
    units = units_in(hotline)
    assert units["scjg"].keywords == ["过期食品", "缺斤少两", "食品安全"]
    assert units["scjg-meixi"].parent_code == "scjg" and units["scjg-meixi"].towns == ["梅溪镇"]
    english = write(
        tmp_path / "en.txt", "code,name,kind,parent,keywords\nscjg,资源县市场监督管理局,department,,价格\n"
    )
    assert cli("unit", "import", str(english)).exit_code == 1  # .txt: say the format
    result = cli("unit", "import", "--format", "csv", str(english))
    assert result.exit_code == 0, result.output
    assert "0 added, 1 updated" in result.output
    assert units_in(hotline)["scjg"].keywords == ["价格"]


TRICKY = UnitRecord(
    code="tricky.unit_1",
    name='=HYPERLINK("x")单位',
    kind="enterprise",
    parent="scjg",
    responsibilities='第一行；\n第二行, 带逗号和"引号"',
    keywords=("a；b", "-减号开头", "[方括号]"),
    towns=("梅溪镇",),
    phone="+86 773 4300000",
    address="@某地",
)


@pytest.mark.parametrize("suffix", [".yaml", ".csv"])
def test_export_then_import_gives_back_the_same_catalogue(cli, hotline, tmp_path, suffix):
    with hotline.db.session() as session:
        load_units(session, write(tmp_path / "ziyuan.yaml", ZIYUAN))
        unit = Unit(code="")
        TRICKY.write_to(unit)
        session.add(unit)
        session.commit()
        before = export_records(session)
    first = tmp_path / f"first{suffix}"
    exported = cli("unit", "export", str(first))
    assert exported.exit_code == 0 and "exported 11 units" in exported.output
    with hotline.db.session() as session:
        session.execute(delete(Unit))
        session.commit()
    imported = cli("unit", "import", str(first))
    assert imported.exit_code == 0, imported.output
    assert "11 added" in imported.output
    with hotline.db.session() as session:
        assert export_records(session) == before
    second = tmp_path / f"second{suffix}"
    assert cli("unit", "export", str(second)).exit_code == 0
    assert second.read_bytes() == first.read_bytes()
    again = cli("unit", "import", str(second))
    assert "0 added, 0 updated, 11 unchanged, 0 removed" in again.output


def test_the_csv_export_has_chinese_headers_and_formula_safe_cells(hotline, tmp_path):
    with hotline.db.session() as session:
        load_units(session, write(tmp_path / "ziyuan.yaml", ZIYUAN))
        unit = Unit(code="")
        TRICKY.write_to(unit)
        session.add(unit)
        session.commit()
        content = format_units(export_records(session), "csv")
    rows = list(csv.reader(io.StringIO(content)))
    assert (
        rows[0]
        == [HEADERS[f] for f in HEADERS]
        == ["代码", "名称", "类型", "上级单位", "职责", "关键词", "乡镇", "电话", "地址"]
    )
    tricky = rows[-1]
    assert tricky[1].startswith("'=") and tricky[7] == "'+86 773 4300000" and tricky[8] == "'@某地"
    assert json.loads(tricky[5]) == ["a；b", "-减号开头", "[方括号]"]  # an item holds a separator
    assert rows[1][5] == "热线；工单；回访"


def test_replace_removes_units_not_in_the_file_but_not_one_still_in_use(cli, demo, tmp_path):
    outcome = demo.handle(
        Message(channel="sms", sender="+8613900000003", text="瓢里镇瓢里街的路灯坏了一个多月了")
    )
    assert outcome.ticket is not None and outcome.ticket.unit == "twn-piaoli"
    with demo.db.session() as session:
        kb_units = set(session.scalars(select(KbEntry.unit_code)))
        count = session.scalar(select(func.count()).select_from(Unit))
    # keep the office and every unit with knowledge entries: only twn-piaoli's ticket is in the way
    demo_units = [u for u in load_yaml(DEMO_UNITS) if u["code"] in kb_units | {"office"}]
    assert "twn-piaoli" not in {u["code"] for u in demo_units}
    path = tmp_path / "fewer.yaml"
    path.write_text(dump_yaml(demo_units), encoding="utf-8")
    refused = cli("unit", "import", "--replace", str(path))
    assert refused.exit_code == 1
    assert (
        "cannot remove unit 'twn-piaoli': 1 ticket(s) still point at it; keep it in the file, "
        "or move them to another unit first"
    ) in refused.stderr
    assert len(units_in(demo)) == count
    # without the ticket's unit in the way, the others go
    kept = [*demo_units, next(u for u in load_yaml(DEMO_UNITS) if u["code"] == "twn-piaoli")]
    path.write_text(dump_yaml(kept), encoding="utf-8")
    done = cli("unit", "import", "--replace", str(path))
    assert done.exit_code == 0, done.output
    assert f"{count - len(kept)} removed" in done.output
    assert set(units_in(demo)) == {u["code"] for u in kept}
    # a knowledge entry holds its unit too
    without = [u for u in kept if u["code"] != "rsj"]
    path.write_text(dump_yaml(without), encoding="utf-8")
    entries = cli("unit", "import", "--replace", str(path))
    assert entries.exit_code == 1 and "cannot remove unit 'rsj':" in entries.stderr
    assert "knowledge entr" in entries.stderr


def load_yaml(path: Path) -> list[dict]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dump_yaml(units: list[dict]) -> str:
    import yaml

    return yaml.safe_dump(units, allow_unicode=True, sort_keys=False)


def test_the_demo_loader_is_the_same_loader(hotline, tmp_path):
    with hotline.db.session() as session:
        assert load_units(session) == load_units(session) == len(load_yaml(DEMO_UNITS))
        session.commit()
    bad = write(tmp_path / "bad.yaml", "- code: office\n  name: x\n")
    with hotline.db.session() as session, pytest.raises(ValueError, match=r"line 1: kind: missing"):
        load_units(session, bad)


def test_unit_list_is_a_table_with_headers(cli, tmp_path):
    assert cli("unit", "import", str(write(tmp_path / "ziyuan.yaml", ZIYUAN))).exit_code == 0
    lines = cli("unit", "list").stdout.splitlines()
    assert lines[0].split() == ["code", "name", "kind", "parent", "towns", "phone", "token", "webhook"]
    meixi = next(line for line in lines if line.startswith("scjg-meixi "))
    assert meixi.split() == [
        "scjg-meixi", "资源县市场监督管理局梅溪市场监管所", "department", "scjg", "梅溪镇", "0773-4300204",
        "-", "-",
    ]  # fmt: skip
    assert len(lines) == 11


def test_the_migration_keeps_every_unit_of_an_existing_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = Database(url)
    try:
        db.upgrade("0010")
        with db.engine.begin() as conn:
            for i, code in enumerate(("office", "twn-a", "jyj"), 1):
                conn.execute(
                    text(
                        "INSERT INTO units (id, code, name, kind, responsibilities, keywords, towns, phone)"
                        " VALUES (:id, :code, :name, 'department', '职责', :keywords, :towns, '0773')"
                    ),
                    {
                        "id": i,
                        "code": code,
                        "name": f"单位{i}",
                        "keywords": '["关键词"]',
                        "towns": '["甲镇"]',
                    },
                )
        db.upgrade("0011")  # this migration, whatever comes after it
        assert db.current_revision() == "0011"
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, code, name, keywords, towns, phone, parent_code FROM units")
            ).all()
        engine.dispose()
        assert sorted(rows) == [
            (1, "office", "单位1", '["关键词"]', '["甲镇"]', "0773", None),
            (2, "twn-a", "单位2", '["关键词"]', '["甲镇"]', "0773", None),
            (3, "jyj", "单位3", '["关键词"]', '["甲镇"]', "0773", None),
        ]
        db.downgrade("0010")
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM units")) == 3
        engine.dispose()
    finally:
        db.dispose()
