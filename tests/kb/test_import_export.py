"""`hotline kb import/export`: all-or-nothing imports with every bad line reported, idempotent re-imports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from kb.models import KbEntry, current_revision
from routing.catalogue import load_units

ENTRIES = [
    {
        "id": "T-RSJ-0001",
        "unit": "rsj",
        "question": "社保卡丢了怎么补办？",
        "answer": "带身份证到合作银行网点补办，目前不收工本费。",
        "alt_questions": ["社保卡丢了咋办", "补社保卡要钱吗"],
        "keywords": ["社保卡", "补办"],
        "spoken_answer": "带身份证到银行补办。",
        "valid_from": None,
        "valid_until": None,
    },
    {
        "id": "T-GJJ-0001",
        "unit": "gjj",
        "question": "公积金怎么提取？",
        "answer": '第一步，准备材料；\n第二步，到窗口办理，电话"0773-7512333"。',
        "alt_questions": [],
        "keywords": ["公积金", "提取"],
        "spoken_answer": None,
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    },
    {
        "id": "T-OFFICE-0001",
        "unit": "office",
        "question": "热线几点上班？",
        "answer": "12345热线全天24小时服务, 节假日不休息。",
        "alt_questions": ["热线晚上有人接吗"],
        "keywords": [],
        "spoken_answer": None,
        "valid_from": "2026-03-01",
        "valid_until": None,
    },
]


@pytest.fixture
def units(hotline):
    """The hotline with the demo unit catalogue and no knowledge entries."""
    with hotline.db.session() as session:
        load_units(session)
        session.commit()
    return hotline


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict], list_style: str = "pipes") -> Path:
    """Write ``rows`` as CSV with lists as ``a|b`` (``pipes``) or as JSON arrays (``json``)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ENTRIES[0]))
        writer.writeheader()
        for row in rows:
            cells = {k: "" if v is None else v for k, v in row.items()}
            for key in ("alt_questions", "keywords"):
                items = row[key]
                cells[key] = (
                    "|".join(items) if list_style == "pipes" else json.dumps(items, ensure_ascii=False)
                )
            writer.writerow(cells)
    return path


def snapshot(hotline) -> tuple[int, dict[str, dict]]:
    """The kb revision and every entry (record, version, status), keyed by public id."""
    with hotline.db.session() as session:
        entries = {
            e.public_id: {**e.to_record(), "version": e.version, "status": e.status}
            for e in session.scalars(select(KbEntry))
        }
        return current_revision(session), entries


def summary(added: int, updated: int, unchanged: int) -> str:
    return f"{added} added, {updated} updated, {unchanged} unchanged"


def reported_lines(result, path: Path) -> set[int]:
    """The line numbers named in the problems printed for ``path``."""
    prefix = f"{path}: line "
    return {int(p[len(prefix) :].split(":")[0]) for p in result.stderr.splitlines() if p.startswith(prefix)}


def import_ok(cli, path: Path) -> str:
    result = cli("kb", "import", str(path))
    assert result.exit_code == 0, result.output
    return result.stdout


# ---------------------------------------------------------------- valid files


def test_import_jsonl_adds_every_entry_as_published(cli, units, tmp_path):
    out = import_ok(cli, write_jsonl(tmp_path / "kb.jsonl", ENTRIES))
    assert summary(3, 0, 0) in out
    revision, entries = snapshot(units)
    assert revision == 1
    assert set(entries) == {e["id"] for e in ENTRIES}
    for given in ENTRIES:
        stored = entries[given["id"]]
        assert {k: stored[k] for k in given} == given
        assert stored["version"] == 1 and stored["status"] == "published"


@pytest.mark.parametrize("list_style", ["pipes", "json"], ids=["lists-as-pipes", "lists-as-json-arrays"])
def test_import_csv_adds_every_entry(cli, units, tmp_path, list_style):
    out = import_ok(cli, write_csv(tmp_path / "kb.csv", ENTRIES, list_style))
    assert summary(3, 0, 0) in out
    revision, entries = snapshot(units)
    assert revision == 1
    for given in ENTRIES:
        assert {k: entries[given["id"]][k] for k in given} == given


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("甲|乙", ["甲", "乙"]),
        (" 甲 | 乙 |", ["甲", "乙"]),
        ("只有一个", ["只有一个"]),
        ("", []),
        ('["甲", "乙"]', ["甲", "乙"]),
        ('["含|竖线"]', ["含|竖线"]),
        ("[]", []),
    ],
    ids=[
        "pipes",
        "pipes-with-spaces",
        "single",
        "empty",
        "json-array",
        "json-array-keeps-pipe",
        "json-empty",
    ],
)
def test_csv_list_cells(cli, units, tmp_path, cell, expected):
    path = tmp_path / "kb.csv"
    path.write_text(
        "id,unit,question,answer,alt_questions,keywords\n"
        f'T-1,rsj,问题,答案,"{cell.replace(chr(34), chr(34) * 2)}",\n',
        encoding="utf-8",
    )
    import_ok(cli, path)
    _, entries = snapshot(units)
    assert entries["T-1"]["alt_questions"] == expected
    assert entries["T-1"]["keywords"] == []


def test_csv_with_only_the_required_columns_imports(cli, units, tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text("\ufeffid,unit,question,answer\nT-1,rsj,问题,答案\n", encoding="utf-8")  # Excel's BOM
    assert summary(1, 0, 0) in import_ok(cli, path)
    _, entries = snapshot(units)
    assert entries["T-1"]["alt_questions"] == [] and entries["T-1"]["spoken_answer"] is None


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_importing_the_same_file_twice_changes_nothing(cli, units, tmp_path, suffix):
    path = tmp_path / f"kb.{suffix}"
    write_jsonl(path, ENTRIES) if suffix == "jsonl" else write_csv(path, ENTRIES)
    import_ok(cli, path)
    before = snapshot(units)
    out = import_ok(cli, path)
    assert summary(0, 0, len(ENTRIES)) in out
    assert snapshot(units) == before
    assert before[0] == 1 and all(e["version"] == 1 for e in before[1].values())


CHANGES = [
    ("unit", "ybj"),
    ("question", "社保卡不见了怎么补办？"),
    ("answer", "到县政务服务中心补办。"),
    ("alt_questions", ["社保卡丢了咋办"]),
    ("keywords", ["社保卡", "补办", "挂失"]),
    ("spoken_answer", None),
    ("valid_from", "2026-01-01"),
    ("valid_until", "2027-06-30"),
]


@pytest.mark.parametrize("field, value", CHANGES, ids=[field for field, _ in CHANGES])
def test_changing_one_field_bumps_that_entry_and_the_revision(cli, units, tmp_path, field, value):
    path = tmp_path / "kb.jsonl"
    import_ok(cli, write_jsonl(path, ENTRIES))
    revision, before = snapshot(units)
    changed = [dict(e) for e in ENTRIES]
    changed[0][field] = value
    out = import_ok(cli, write_jsonl(path, changed))
    assert summary(0, 1, len(ENTRIES) - 1) in out
    new_revision, after = snapshot(units)
    assert new_revision == revision + 1
    assert after[ENTRIES[0]["id"]]["version"] == 2
    assert after[ENTRIES[0]["id"]][field] == value
    assert {k: v for k, v in after.items() if k != ENTRIES[0]["id"]} == {
        k: v for k, v in before.items() if k != ENTRIES[0]["id"]
    }


def test_new_entries_next_to_unchanged_ones(cli, units, tmp_path):
    path = tmp_path / "kb.jsonl"
    import_ok(cli, write_jsonl(path, ENTRIES[:2]))
    out = import_ok(cli, write_jsonl(path, ENTRIES))
    assert summary(1, 0, 2) in out
    revision, entries = snapshot(units)
    assert revision == 2 and len(entries) == 3


# ---------------------------------------------------------------- bad files


def entry(**changes) -> dict:
    return {**ENTRIES[0], "id": "T-NEW-0001", **changes}


BAD_ROWS = [
    ("missing-question", entry(question=None), "question is required text"),
    ("blank-question", entry(question="   "), "question is required text"),
    ("no-question-field", {k: v for k, v in entry().items() if k != "question"}, "question is required"),
    ("missing-id", entry(id=None), "id is required text"),
    ("unknown-unit", entry(unit="nope"), "unit 'nope' is not in the unit catalogue"),
    ("bad-date", entry(valid_until="2026-13-01"), "valid_until is not an ISO date"),
    ("date-not-text", entry(valid_from=20260101), "valid_from is not an ISO date"),
    ("from-after-until", entry(valid_from="2026-12-31", valid_until="2026-01-01"), "valid_from is after"),
    ("duplicate-id", ENTRIES[1], "id 'T-GJJ-0001' already used on line 2"),
    ("unknown-field", entry(owner="rsj"), "unknown field owner"),
    ("alt-questions-text", entry(alt_questions="社保卡丢了咋办"), "alt_questions must be a list"),
    ("alt-questions-blank-item", entry(alt_questions=["", "a"]), "alt_questions must be a list"),
    ("keywords-numbers", entry(keywords=[1, 2]), "keywords must be a list"),
    ("spoken-answer-number", entry(spoken_answer=5), "spoken_answer must be text or null"),
    ("question-too-long", entry(question="问" * 501), "question is longer than 500 characters"),
    ("not-an-object", ["T-1", "rsj"], "expected an object"),
]


@pytest.mark.parametrize("row, reason", [p[1:] for p in BAD_ROWS], ids=[p[0] for p in BAD_ROWS])
def test_one_bad_row_is_reported_with_its_line_and_nothing_is_imported(cli, units, tmp_path, row, reason):
    import_ok(cli, write_jsonl(tmp_path / "first.jsonl", ENTRIES[:1]))
    before = snapshot(units)
    # line 1 changes an existing entry, line 2 adds one, line 3 is bad
    rows = [{**ENTRIES[0], "answer": "新的答案"}, ENTRIES[1], row]
    path = write_jsonl(tmp_path / "kb.jsonl", rows)
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}: line 3: {reason}" in result.stderr
    assert reported_lines(result, path) == {3}
    assert "nothing imported" in result.stderr and result.stdout == ""
    assert snapshot(units) == before


def test_every_bad_line_is_reported_and_the_database_is_left_exactly_as_before(cli, demo, tmp_path):
    before = snapshot(demo)
    lines = [
        json.dumps(ENTRIES[0], ensure_ascii=False),  # 1: fine
        json.dumps(entry(id="B-2", question=None)),  # 2: missing question
        json.dumps(entry(id="B-3", unit="nope")),  # 3: unknown unit
        "",  # 4: blank lines are skipped
        json.dumps(entry(id="B-5", valid_from="2026/01/01")),  # 5: bad date
        json.dumps(entry(id="B-6", valid_from="2026-06-01", valid_until="2026-05-31")),  # 6
        json.dumps(entry(id="T-RSJ-0001")),  # 7: duplicate of line 1
        json.dumps(entry(id="B-8", category="consult")),  # 8: unknown field
        json.dumps(entry(id="B-9", alt_questions="一句话")),  # 9: not a list
        '{"id": "B-10", "unit": "rsj",',  # 10: invalid JSON
        json.dumps({**ENTRIES[1], "answer": "改过的答案"}, ensure_ascii=False),  # 11: fine
    ]
    path = tmp_path / "kb.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    expected = {
        2: "question is required text",
        3: "unit 'nope' is not in the unit catalogue",
        5: "valid_from is not an ISO date",
        6: "valid_from is after valid_until",
        7: "id 'T-RSJ-0001' already used on line 1",
        8: "unknown field category",
        9: "alt_questions must be a list of non-empty texts",
        10: "not valid JSON",
    }
    problems = [line for line in result.stderr.splitlines() if line.startswith(f"{path}: line ")]
    assert len(problems) == len(expected) and reported_lines(result, path) == set(expected)
    assert problems == sorted(problems, key=lambda p: int(p.split("line ")[1].split(":")[0]))
    for number, reason in expected.items():
        assert f"{path}: line {number}: {reason}" in result.stderr
    assert f"nothing imported: {len(expected)} problem(s)" in result.stderr
    assert snapshot(demo) == before


def test_csv_bad_rows_are_reported_with_their_file_line(cli, units, tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text(
        "id,unit,question,answer,alt_questions,keywords\n"
        'T-1,rsj,问题,"两行的\n答案",,\n'  # lines 2-3: fine
        "T-2,nope,问题,答案,,\n"  # line 4
        'T-3,rsj,问题,答案,"[""没有闭合""",\n'  # line 5
        "T-4,rsj,问题,答案,,,多出来的\n",  # line 6
        encoding="utf-8",
    )
    before = snapshot(units)
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    assert "line 4: unit 'nope' is not in the unit catalogue" in result.stderr
    assert "line 5: alt_questions is not a JSON list" in result.stderr
    assert "line 6: more cells than the header has" in result.stderr
    assert reported_lines(result, path) == {4, 5, 6}
    assert snapshot(units) == before


def test_csv_header_without_a_required_column(cli, units, tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text("id,unit,answer\nT-1,rsj,答案\n", encoding="utf-8")
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    assert "line 1: header lacks question" in result.stderr


def test_csv_line_numbers_count_blank_lines(cli, units, tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text("id,unit,question,answer\nT-1,rsj,问题,答案\n\nT-2,nope,问题,答案\n", encoding="utf-8")
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    assert "line 4: unit 'nope'" in result.stderr


def test_ids_that_differ_only_by_surrounding_spaces_are_duplicates(cli, units, tmp_path):
    rows = [entry(id="T-DUP"), entry(id=" T-DUP ")]
    before = snapshot(units)
    result = cli("kb", "import", str(write_jsonl(tmp_path / "kb.jsonl", rows)))
    assert result.exit_code == 1
    assert "already used on line 1" in result.stderr
    assert snapshot(units) == before


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_a_file_that_is_not_utf8_gives_a_clear_error(cli, units, tmp_path, suffix):
    path = tmp_path / f"kb.{suffix}"
    text = (
        write_jsonl(path, ENTRIES[:1]).read_text(encoding="utf-8")
        if suffix == "jsonl"
        else write_csv(path, ENTRIES[:1]).read_text(encoding="utf-8")
    )
    path.write_bytes(text.encode("gbk"))
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr and "save the file as UTF-8" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(units) == (0, {})


def test_a_missing_file_gives_a_clear_error(cli, units, tmp_path):
    result = cli("kb", "import", str(tmp_path / "nowhere.jsonl"))
    assert result.exit_code == 1
    assert "cannot read" in result.stderr


# ---------------------------------------------------------------- export and round trip


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_export_then_import_is_a_round_trip(cli, demo, tmp_path, suffix):
    import_ok(cli, write_jsonl(tmp_path / "extra.jsonl", ENTRIES))
    before = snapshot(demo)
    path = tmp_path / f"export.{suffix}"
    result = cli("kb", "export", str(path))
    assert result.exit_code == 0, result.output
    assert f"exported {len(before[1])} entries" in result.stdout
    out = import_ok(cli, path)
    assert summary(0, 0, len(before[1])) in out
    assert snapshot(demo) == before


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_an_export_loads_into_an_empty_base_unchanged(cli, demo, tmp_path, suffix):
    path = tmp_path / f"export.{suffix}"
    assert cli("kb", "export", str(path)).exit_code == 0
    _, before = snapshot(demo)
    with demo.db.session() as session:
        for e in session.scalars(select(KbEntry)):
            session.delete(e)
        session.commit()
    import_ok(cli, path)
    _, after = snapshot(demo)
    assert after == before


def test_jsonl_export_is_one_record_per_line_sorted_by_id(cli, units, tmp_path):
    import_ok(cli, write_jsonl(tmp_path / "kb.jsonl", ENTRIES))
    path = tmp_path / "export.jsonl"
    cli("kb", "export", str(path))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # fields a file leaves out come back with their defaults
    defaults = {"kind": "answer", "tags": [], "service": {}, "review_every_days": None}
    assert records == [{**e, **defaults} for e in sorted(ENTRIES, key=lambda e: e["id"])]
    assert "社保卡" in path.read_text(encoding="utf-8")  # not \u escapes


@pytest.mark.parametrize("items", [["含|竖线"], ["[急]"]], ids=["pipe-in-item", "bracket-first"])
def test_csv_round_trip_keeps_list_items_with_separators(cli, units, tmp_path, items):
    import_ok(cli, write_jsonl(tmp_path / "kb.jsonl", [entry(id="T-SEP", alt_questions=items)]))
    before = snapshot(units)
    path = tmp_path / "export.csv"
    cli("kb", "export", str(path))
    result = cli("kb", "import", str(path))
    assert result.exit_code == 0, result.output
    assert summary(0, 0, 1) in result.stdout
    assert snapshot(units) == before


@pytest.mark.parametrize(
    "given",
    ["T-RSJ-0001", "lowercase-id", "自定义编号7", "0042", "a" * 64],
    ids=["usual", "lowercase", "chinese", "leading-zeros", "max-length"],
)
def test_the_id_is_kept_as_given(cli, units, tmp_path, given):
    import_ok(cli, write_jsonl(tmp_path / "kb.jsonl", [entry(id=given)]))
    _, entries = snapshot(units)
    assert list(entries) == [given]
    path = tmp_path / "export.jsonl"
    cli("kb", "export", str(path))
    assert json.loads(path.read_text(encoding="utf-8"))["id"] == given


def test_an_id_longer_than_64_characters_is_refused(cli, units, tmp_path):
    result = cli("kb", "import", str(write_jsonl(tmp_path / "kb.jsonl", [entry(id="a" * 65)])))
    assert result.exit_code == 1
    assert "line 1: id is longer than 64 characters" in result.stderr


def test_an_import_leaves_one_audit_row_per_unit_with_its_counts(cli, units, tmp_path):
    from kb.audit import recent

    import_ok(cli, write_jsonl(tmp_path / "kb.jsonl", ENTRIES))
    with units.db.session() as session:
        rows = [r for r in recent(session) if r.action == "import"]
    assert {(r.actor, r.unit_code, r.detail["added"], r.detail["file"]) for r in rows} == {
        ("import", e["unit"], sum(x["unit"] == e["unit"] for x in ENTRIES), "kb.jsonl") for e in ENTRIES
    }


FORMULAS = [
    '=HYPERLINK("http://x.example","点我")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd",
    "-2+3+cmd",
    "+1-1",
]


def test_a_csv_export_runs_no_formula_and_reads_back_unchanged(cli, units, tmp_path):
    """Issue 17: cells imported as formulas come out of the CSV export as text a spreadsheet will not run."""
    import csv

    tricky = entry(id="T-FX", question=FORMULAS[0], answer=FORMULAS[1], alt_questions=FORMULAS[2:])
    import_ok(cli, write_jsonl(tmp_path / "kb.jsonl", [tricky]))
    before = snapshot(units)
    path = tmp_path / "export.csv"
    cli("kb", "export", str(path))
    with path.open(encoding="utf-8", newline="") as f:
        row = next(csv.DictReader(f))
    cells = [v for v in row.values() if v]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert row["question"] == "'" + FORMULAS[0] and row["answer"] == "'" + FORMULAS[1]
    result = cli("kb", "import", str(path))
    assert result.exit_code == 0, result.output
    assert snapshot(units) == before  # the apostrophe the export added is not kept


def test_a_csv_cell_longer_than_the_csv_module_reads_is_a_line_error(cli, units, tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text("id,unit,question,answer\nT-BIG,rsj,问," + "长" * 140_000 + "\n", encoding="utf-8")
    result = cli("kb", "import", str(path))
    assert result.exit_code == 1
    assert "line" in result.stderr and "field larger than field limit" in result.stderr
