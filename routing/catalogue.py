"""The unit catalogue as files: YAML or CSV, validated whole before anything is written.

A deployment's handling units (the hotline office, the township governments, the departments, the
utilities) come from a file the office keeps: `hotline unit import FILE` reads it, `hotline unit
export FILE` writes the catalogue back in the same form, and the demo county's catalogue
(``routing/demo/units.yaml``) is loaded by the same code (``load_units``).

YAML is a list of units shaped like the demo file. CSV has one unit a row under Chinese headers
(代码,名称,类型,上级单位,职责,关键词,乡镇,电话,地址; the field names code, name, kind, parent, … are read
too); a list cell separates its items with ``;``, ``；`` or ``、`` (or holds a JSON list, as an export
writes when an item itself holds a separator). Cells a spreadsheet would run as formulas are written
with a leading apostrophe and read back without it, as the knowledge base's CSV does.

Import is all or nothing: every bad line is reported with its number, the field and what is wrong,
and nothing is written if there is one. Units are matched by code: existing ones are updated, new ones
added; with ``replace`` the units the file does not name are removed, unless a ticket or a knowledge
entry still points at one. Choosing a unit for a matter is ``routing.units``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.core.inputs import BadInput, check_text, formula_safe, formula_unescaped
from intake.core.models import UNIT_KINDS, Ticket, Unit
from kb.models import KbEntry
from routing.models import UnitCredential
from routing.units import OFFICE

DEMO_UNITS = Path(__file__).with_name("demo") / "units.yaml"

FIELDS = ("code", "name", "kind", "parent", "responsibilities", "keywords", "towns", "phone", "address")
REQUIRED = ("code", "name", "kind")
LIST_FIELDS = ("keywords", "towns")
# the CSV's headers, as an export writes them; an import also reads the field names themselves
HEADERS = {
    "code": "代码", "name": "名称", "kind": "类型", "parent": "上级单位", "responsibilities": "职责",
    "keywords": "关键词", "towns": "乡镇", "phone": "电话", "address": "地址",
}  # fmt: skip
HEADER_NAMES = {**{h: f for f, h in HEADERS.items()}, **{f: f for f in FIELDS}, "上级": "parent"}
COLUMNS = {"parent": "parent_code"}  # a field stored under another column name
# the longest text each field may hold: the column's size in the ``Unit`` table
MAX_TEXT = {
    f: length for f in FIELDS if (length := getattr(Unit.__table__.c[COLUMNS.get(f, f)].type, "length", None))
}
MAX_ITEM = 200  # characters of one keyword or town
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")  # codes go into URLs, file names and log lines
LIST_SEPARATORS = re.compile(r"[;；、]")
LIST_JOINER = "；"
FORMATS = ("yaml", "csv")


@dataclass(frozen=True)
class UnitRecord:
    """One unit of a catalogue file, checked and trimmed."""

    code: str
    name: str
    kind: str
    parent: str | None = None
    responsibilities: str = ""
    keywords: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    phone: str | None = None
    address: str | None = None

    @classmethod
    def of(cls, unit: Unit) -> UnitRecord:
        return cls(
            code=unit.code, name=unit.name, kind=unit.kind, parent=unit.parent_code,
            responsibilities=unit.responsibilities or "", keywords=tuple(unit.keywords or ()),
            towns=tuple(unit.towns or ()), phone=unit.phone, address=unit.address,
        )  # fmt: skip

    def write_to(self, unit: Unit) -> bool:
        """Set ``unit``'s columns to this record; whether anything changed (if not, nothing is set)."""
        if UnitRecord.of(unit) == self:
            return False
        unit.code, unit.name, unit.kind, unit.parent_code = self.code, self.name, self.kind, self.parent
        unit.responsibilities = self.responsibilities
        unit.keywords, unit.towns = list(self.keywords), list(self.towns)
        unit.phone, unit.address = self.phone, self.address
        return True

    def to_dict(self) -> dict[str, Any]:
        """The record as a file holds it: the YAML shape of ``routing/demo/units.yaml``."""
        data = asdict(self)
        data["keywords"], data["towns"] = list(self.keywords), list(self.towns)
        if data["parent"] is None:
            del data["parent"]  # most units have none: the demo's file does not name it
        return data


@dataclass(frozen=True)
class Row:
    """One unit as read from a file: its first line, its raw fields, and the line of each field."""

    line: int
    data: Any
    field_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, name: str) -> int:
        return self.field_lines.get(name, self.line)


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class FormatUnknown(ValueError):
    """The file's name says neither YAML nor CSV, and no format was given."""


def file_format(path: Path, fmt: str | None = None) -> str:
    """``fmt`` if given, else the format ``path``'s extension names (``.yaml``/``.yml`` or ``.csv``)."""
    if fmt:
        if fmt not in FORMATS:
            raise FormatUnknown(f"unknown format {fmt!r}: use {' or '.join(FORMATS)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix == ".csv":
        return "csv"
    raise FormatUnknown(f"cannot tell the format of {path.name}: name it .yaml or .csv, or give --format")


# ---------------------------------------------------------------- reading


def read_rows(path: Path, fmt: str | None = None) -> tuple[list[Row], list[str]]:
    """Read ``path`` as YAML or CSV (by extension unless ``fmt``); return its rows and the errors."""
    try:
        kind = file_format(path, fmt)
    except FormatUnknown as exc:
        return [], [str(exc)]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [f"cannot read: {exc.strerror}"]
    return parse_rows(raw, kind)


def parse_rows(raw: bytes, fmt: str) -> tuple[list[Row], list[str]]:
    """Parse a file's bytes as ``yaml`` or ``csv``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [f"not UTF-8 (byte {exc.start}); save the file as UTF-8"]
    return _csv_rows(text) if fmt == "csv" else _yaml_rows(text)


def _yaml_rows(text: str) -> tuple[list[Row], list[str]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        return [], [f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"]
    finally:
        loader.dispose()
    if data is None:
        return [], []
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        return [], ["line 1: expected a list of units, shaped like routing/demo/units.yaml"]
    rows = []
    for item, value in zip(node.value, data, strict=True):
        lines = {}
        if isinstance(item, yaml.MappingNode):
            lines = {str(k.value): k.start_mark.line + 1 for k, _ in item.value}
        rows.append(Row(item.start_mark.line + 1, value, lines))
    return rows, []


def _csv_rows(text: str) -> tuple[list[Row], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [f"line 1: {exc}"]
    if header is None:
        return [], []
    names: list[str | None] = []
    errors = []
    for cell in header:
        name = HEADER_NAMES.get(cell.strip())
        if cell.strip() and name is None:
            known = ", ".join(f"{HEADERS[f]} ({f})" for f in FIELDS)
            errors.append(f"line 1: unknown column {cell.strip()!r}; the columns are {known}")
        elif name in names:
            errors.append(f"line 1: column {HEADERS[name]} ({name}) appears twice")
            name = None
        names.append(name)
    missing = [f"{HEADERS[f]} ({f})" for f in REQUIRED if f not in names]
    if missing:
        errors.append(f"line 1: header lacks {', '.join(missing)}")
    if errors:
        return [], errors
    rows = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell longer than the csv module allows, a stray NUL
            errors.append(f"line {reader.line_num}: {exc}")
            break
        if not any(c.strip() for c in cells):
            continue
        # the row's first line: the reader is at its last one, and cells may hold line breaks
        start = reader.line_num - sum(c.count("\n") for c in cells)
        if len(cells) > len(names):
            errors.append(f"line {start}: more cells than the header has")
        record: dict[str, Any] = {}
        for name, cell in zip(names, cells, strict=False):
            if name is not None:
                record[name] = formula_unescaped(cell)
        for key in LIST_FIELDS:
            if key in record:
                cell = record[key].strip()
                if cell.startswith("["):
                    try:
                        record[key] = json.loads(cell)
                    except json.JSONDecodeError:
                        errors.append(f"line {start}: {key}: not a JSON list")
                else:
                    record[key] = [p.strip() for p in LIST_SEPARATORS.split(cell) if p.strip()]
        rows.append(Row(start, record))
    return rows, errors


# ---------------------------------------------------------------- checking


def _text(value: Any, key: str, problems: list[str]) -> str | None:
    """``value`` as trimmed text, or None (with a problem when it is something else)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        hint = " (put it in quotes in YAML)" if isinstance(value, (int, float)) else ""
        problems.append(f"{key}: must be text{hint}, not {value!r}")
        return None
    try:
        check_text(value)
    except BadInput:
        problems.append(f"{key}: holds a control character or a broken character that cannot be stored")
        return None
    value = value.strip()
    limit = MAX_TEXT.get(key)
    if limit and len(value) > limit:
        problems.append(f"{key}: longer than {limit} characters ({len(value)})")
    return value


def _items(value: Any, key: str, problems: list[str]) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, list):
        problems.append(f"{key}: must be a list of texts")
        return ()
    items = []
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)  # 12345 unquoted in YAML
        if not isinstance(item, str) or not item.strip():
            problems.append(f"{key}: must be a list of non-empty texts, not {item!r}")
            continue
        try:
            check_text(item)
        except BadInput:
            problems.append(f"{key}: {item!r} holds a character that cannot be stored")
            continue
        if len(item.strip()) > MAX_ITEM:
            problems.append(f"{key}: an item is longer than {MAX_ITEM} characters")
        items.append(item.strip())
    return tuple(dict.fromkeys(items))


def check_row(row: Row) -> tuple[UnitRecord | None, list[tuple[int, str]]]:
    """Check one unit's own fields; return its record (None when it has no usable code) and the problems
    as (line, text) pairs: a record with problems is only good for checking the others against."""
    if not isinstance(row.data, dict):
        return None, [(row.line, f"expected a unit with fields {', '.join(FIELDS)}")]
    data = row.data
    problems: dict[str, list[str]] = {}
    for key in sorted(str(k) for k in data if k not in FIELDS):
        problems[key] = [f"{key}: unknown field; the fields are {', '.join(FIELDS)}"]
    values: dict[str, Any] = {}
    for key in FIELDS:
        found: list[str] = []
        checker = _items if key in LIST_FIELDS else _text
        values[key] = checker(data.get(key), key, found)
        if found:
            problems[key] = found
    code, kind, parent = values["code"], values["kind"], values["parent"]
    if "code" not in problems:
        if not code:
            problems["code"] = ["code: missing"]
        elif not CODE.match(code):
            problems["code"] = [
                f"code: {code!r} may hold only letters, digits and . _ - (and start with a letter or digit)"
            ]
    if "name" not in problems and not values["name"]:
        problems["name"] = ["name: missing"]
    if "kind" not in problems and kind not in UNIT_KINDS:
        shown = "missing" if not kind else f"{kind!r} is not a kind"
        problems["kind"] = [f"kind: {shown}; use one of {', '.join(UNIT_KINDS)}"]
    if "parent" not in problems and parent and not CODE.match(parent):
        problems["parent"] = [f"parent: {parent!r} is not a unit code"]
    record = None
    if "code" not in problems:  # checked against the rest of the catalogue even when a field is bad
        record = UnitRecord(
            code=code, name=values["name"] or "", kind=kind or "",
            parent=None if "parent" in problems else parent or None,
            responsibilities=values["responsibilities"] or "", keywords=values["keywords"],
            towns=values["towns"], phone=values["phone"] or None, address=values["address"] or None,
        )  # fmt: skip
    return record, [(row.line_of(k), p) for k, found in problems.items() for p in found]


def check_rows(
    rows: list[Row], existing: dict[str, UnitRecord], *, replace: bool = False
) -> tuple[list[UnitRecord], list[str]]:
    """Check every row and the catalogue they make with ``existing`` (the units in the database).

    Returns the clean records (in the file's order) and one error line per problem, sorted by line.
    """
    found: list[tuple[int, str]] = []
    records: dict[str, tuple[Row, UnitRecord]] = {}  # every row with a usable code, bad or not
    bad: set[str] = set()
    for row in rows:
        record, problems = check_row(row)
        if record is not None:
            if record.code in records:
                line = records[record.code][0].line
                problems.append((row.line_of("code"), f"code: {record.code!r} already used on line {line}"))
            else:
                records[record.code] = (row, record)
                if problems:
                    bad.add(record.code)
        found.extend(problems)
    # the catalogue once the file is written
    result = {} if replace else dict(existing)
    result.update({code: record for code, (_, record) in records.items()})
    known = set(result)
    for code, (row, record) in records.items():
        if record.parent and record.parent not in known:
            where = "the file" if replace else "the catalogue or the file"
            found.append((row.line_of("parent"), f"parent: no unit {record.parent!r} in {where}"))
        elif record.parent == code:
            found.append((row.line_of("parent"), "parent: a unit cannot be its own parent"))
        elif record.parent:
            chain = [code]
            parent: str | None = record.parent
            while parent and parent in result and parent not in chain:
                chain.append(parent)
                parent = result[parent].parent
            if parent == code:
                loop = " → ".join([*chain, code])
                found.append((row.line_of("parent"), f"parent: {loop} is a cycle"))
    townships: dict[str, str] = {}
    lines = {code: row for code, (row, _) in records.items()}
    ordered = [c for c in result if c not in lines] + [c for c in result if c in lines]  # database first
    for code in ordered:
        unit = result[code]
        if unit.kind != "township":
            continue
        for town in unit.towns:
            other = townships.setdefault(town, code)
            if other != code and code in lines:
                at = f"line {lines[other].line}" if other in lines else "in the database"
                text = f"towns: {town} is already the town of township {other!r} ({at})"
                found.append((lines[code].line_of("towns"), text))
    errors = [f"line {line}: {text}" for line, text in sorted(found, key=lambda p: p[0])]
    if OFFICE not in result:
        errors.append(f"the catalogue needs the hotline office: a unit with code {OFFICE!r} (kind office)")
    return [record for code, (_, record) in records.items() if code not in bad], errors


# ---------------------------------------------------------------- writing


def import_units(
    session: Session, path: Path, *, fmt: str | None = None, replace: bool = False
) -> ImportReport:
    """Validate ``path`` and write its units; write nothing if anything is wrong. The caller commits."""
    rows, errors = read_rows(path, fmt)
    return import_rows(session, rows, errors, replace=replace)


def import_rows(
    session: Session, rows: list[Row], errors: list[str], *, replace: bool = False
) -> ImportReport:
    """Validate rows already read (see ``read_rows``/``parse_rows``) and write them all or nothing."""
    units = {u.code: u for u in session.scalars(select(Unit).order_by(Unit.id))}
    existing = {code: UnitRecord.of(u) for code, u in units.items()}
    records, problems = check_rows(rows, existing, replace=replace) if rows or not errors else ([], [])
    report = ImportReport(errors=sorted(errors + problems, key=_line_number))
    if not report.ok:
        return report
    named = {r.code for r in records}
    gone = [code for code in units if code not in named] if replace else []
    if gone:
        refused = _still_used(session, gone)
        if refused:
            report.errors.extend(refused)
            return report
    for record in records:
        unit = units.get(record.code)
        if unit is None:
            unit = Unit(code="")
            record.write_to(unit)
            session.add(unit)
            report.added += 1
        elif record.write_to(unit):
            report.updated += 1
        else:
            report.unchanged += 1
    for code in gone:
        session.delete(units[code])
        # a removed unit's API token and webhook go with it
        for credential in session.scalars(select(UnitCredential).where(UnitCredential.unit_code == code)):
            session.delete(credential)
        report.removed += 1
    session.flush()
    return report


def _line_number(error: str) -> int:
    """An error's line for sorting (one about the whole file comes last)."""
    match = re.match(r"line (\d+):", error)
    return int(match.group(1)) if match else 1 << 30


def _still_used(session: Session, codes: list[str]) -> list[str]:
    """Why each unit of ``codes`` cannot be removed: the tickets and knowledge entries pointing at it."""
    tickets = dict(
        session.execute(
            select(Ticket.unit_code, func.count())
            .where(Ticket.unit_code.in_(codes))
            .group_by(Ticket.unit_code)
        ).all()
    )
    entries = dict(
        session.execute(
            select(KbEntry.unit_code, func.count())
            .where(KbEntry.unit_code.in_(codes))
            .group_by(KbEntry.unit_code)
        ).all()
    )
    refused = []
    for code in codes:
        held = []
        if tickets.get(code):
            held.append(f"{tickets[code]} ticket(s)")
        if entries.get(code):
            held.append(f"{entries[code]} knowledge entr{'y' if entries[code] == 1 else 'ies'}")
        if held:
            refused.append(
                f"cannot remove unit {code!r}: {' and '.join(held)} still point at it; "
                "keep it in the file, or move them to another unit first"
            )
    return refused


def load_units(session: Session, path: Path = DEMO_UNITS) -> int:
    """Insert or update the units of a YAML or CSV catalogue (the demo's by default); return how many
    the file lists. Raises ``ValueError`` naming every problem when the file is bad."""
    report = import_units(session, path)
    if not report.ok:
        raise ValueError(f"{path}: " + "; ".join(report.errors))
    return report.added + report.updated + report.unchanged


# ---------------------------------------------------------------- exporting


def export_records(session: Session) -> list[UnitRecord]:
    """Every unit, in the order they were added (the office first in a catalogue that lists it first)."""
    return [UnitRecord.of(u) for u in session.scalars(select(Unit).order_by(Unit.id))]


def _list_cell(items: tuple[str, ...]) -> str:
    joined = LIST_JOINER.join(items)
    if any(LIST_SEPARATORS.search(i) for i in items) or joined.startswith("["):
        return json.dumps(list(items), ensure_ascii=False)  # an item holds a separator itself
    return joined


def format_units(records: list[UnitRecord], fmt: str) -> str:
    """Records as the text of a ``yaml`` or ``csv`` file that imports back to the same records."""
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow([HEADERS[f] for f in FIELDS])
        for rec in records:
            row = asdict(rec)
            cells = [
                _list_cell(row[f]) if f in LIST_FIELDS else ("" if row[f] is None else row[f]) for f in FIELDS
            ]
            writer.writerow([formula_safe(c) for c in cells])
        return out.getvalue()
    parts = ["# 承办单位目录（hotline unit export 导出）\n"]
    for rec in records:
        parts.append(
            yaml.safe_dump(
                [rec.to_dict()], allow_unicode=True, sort_keys=False, default_flow_style=None, width=4096
            )
        )
    return "\n".join(parts)


def export_units(session: Session, path: Path, fmt: str | None = None) -> int:
    """Write the whole catalogue to ``path`` (format by extension unless ``fmt``); return how many."""
    kind = file_format(path, fmt)
    records = export_records(session)
    # CSV with a byte-order mark, so a spreadsheet opens the Chinese headers as UTF-8
    encoding = "utf-8-sig" if kind == "csv" else "utf-8"
    path.write_text(format_units(records, kind), encoding=encoding, newline="")
    return len(records)
