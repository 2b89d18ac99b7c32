"""Knowledge entries as files: JSON Lines or CSV, validated whole before anything is written.

Import is all or nothing: one bad row and nothing changes, and every bad line is reported with its
number and reason. Importing the same file twice changes nothing (entries are matched by their
public ``id`` and only rewritten when a field differs).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import KbEntry, bump_revision

FIELDS = ("id", "unit", "question", "answer", "alt_questions", "keywords", "spoken_answer",
          "valid_from", "valid_until")  # fmt: skip
REQUIRED = ("id", "unit", "question", "answer")
LIST_FIELDS = ("alt_questions", "keywords")
DEMO_ENTRIES = Path(__file__).with_name("demo") / "entries.jsonl"
MAX_TEXT = {"id": 64, "unit": 64, "question": 500, "answer": 20000, "spoken_answer": 2000}


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_rows(path: Path) -> tuple[list[tuple[int, Any]], list[str]]:
    """Read ``path`` as JSON Lines (``.jsonl``/``.json``) or CSV; return (line, row) pairs and errors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [], [f"cannot read: {exc.strerror}"]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [f"not UTF-8 (byte {exc.start}); save the file as UTF-8"]
    if path.suffix.lower() == ".csv":
        return _csv_rows(text)
    rows, errors = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
    return rows, errors


def _csv_rows(text: str) -> tuple[list[tuple[int, Any]], list[str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows, errors = [], []
    missing = [f for f in REQUIRED if f not in (reader.fieldnames or [])]
    if missing:
        return [], [f"line 1: header lacks {', '.join(missing)}"]
    for row in reader:
        # the row's first line: the reader is at its last one, and cells may hold line breaks
        start = reader.line_num - sum((v or "").count("\n") for v in row.values() if isinstance(v, str))
        if None in row:
            errors.append(f"line {start}: more cells than the header has")
        record: dict[str, Any] = {k: v for k, v in row.items() if k is not None}
        for key in LIST_FIELDS:
            cell = (record.get(key) or "").strip()
            if cell.startswith("["):
                try:
                    record[key] = json.loads(cell)
                except json.JSONDecodeError:
                    errors.append(f"line {start}: {key} is not a JSON list")
            else:
                record[key] = [p.strip() for p in cell.split("|") if p.strip()]
        for key in ("spoken_answer", "valid_from", "valid_until"):
            if key in record and not (record[key] or "").strip():
                record[key] = None
        rows.append((start, record))
    return rows, errors


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("expected an ISO date like 2026-12-31")
    return date.fromisoformat(value)


def validate(
    rows: Iterable[tuple[int, Any]], known_units: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Check every row; return the clean records and one error line per problem."""
    clean, errors, seen = [], [], {}
    for number, row in rows:
        problems = []
        if not isinstance(row, dict):
            errors.append(f"line {number}: expected an object with fields {', '.join(FIELDS)}")
            continue
        unknown = sorted(set(row) - set(FIELDS))
        if unknown:
            problems.append(f"unknown field {', '.join(unknown)}")
        for key in REQUIRED:
            value = row.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{key} is required text")
        for key, limit in MAX_TEXT.items():
            value = row.get(key)
            if isinstance(value, str) and len(value) > limit:
                problems.append(f"{key} is longer than {limit} characters")
        if row.get("spoken_answer") is not None and not isinstance(row.get("spoken_answer"), str):
            problems.append("spoken_answer must be text or null")
        for key in LIST_FIELDS:
            value = row.get(key, [])
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                problems.append(f"{key} must be a list of non-empty texts")
        dates = {}
        for key in ("valid_from", "valid_until"):
            try:
                dates[key] = _date(row.get(key))
            except ValueError:
                problems.append(f"{key} is not an ISO date like 2026-12-31: {row.get(key)!r}")
        if (
            dates.get("valid_from")
            and dates.get("valid_until")
            and dates["valid_from"] > dates["valid_until"]
        ):
            problems.append("valid_from is after valid_until")
        unit = row.get("unit")
        if isinstance(unit, str) and unit.strip() and unit.strip() not in known_units:
            problems.append(f"unit {unit!r} is not in the unit catalogue")
        public_id = row.get("id")
        if isinstance(public_id, str) and public_id.strip():
            public_id = public_id.strip()  # stored trimmed, so compared trimmed
            if public_id in seen:
                problems.append(f"id {public_id!r} already used on line {seen[public_id]}")
            else:
                seen[public_id] = number
        if problems:
            errors.extend(f"line {number}: {p}" for p in problems)
            continue
        clean.append(
            {
                "id": row["id"].strip(),
                "unit": row["unit"].strip(),
                "question": row["question"].strip(),
                "answer": row["answer"].strip(),
                "alt_questions": [v.strip() for v in row.get("alt_questions") or []],
                "keywords": [v.strip() for v in row.get("keywords") or []],
                "spoken_answer": (row.get("spoken_answer") or "").strip() or None,
                "valid_from": dates.get("valid_from"),
                "valid_until": dates.get("valid_until"),
            }
        )
    return clean, errors


def _apply(entry: KbEntry, record: dict[str, Any]) -> bool:
    """Copy ``record`` onto ``entry``; return whether anything changed."""
    values = {
        "unit_code": record["unit"],
        "question": record["question"],
        "answer": record["answer"],
        "alt_questions": record["alt_questions"],
        "keywords": record["keywords"],
        "spoken_answer": record["spoken_answer"],
        "valid_from": record["valid_from"],
        "valid_until": record["valid_until"],
    }
    changed = False
    for key, value in values.items():
        if getattr(entry, key) != value:
            setattr(entry, key, value)
            changed = True
    return changed


def import_entries(session: Session, path: Path, known_units: set[str]) -> ImportReport:
    """Validate ``path`` and write its entries as published; write nothing if any row is bad."""
    rows, errors = read_rows(path)
    records, problems = validate(rows, known_units)
    report = ImportReport(errors=errors + problems)
    if not report.ok:
        report.errors.sort(key=lambda e: int(e.split()[1].rstrip(":")) if e.startswith("line ") else 0)
        return report
    existing = {e.public_id: e for e in session.scalars(select(KbEntry))}
    for record in records:
        entry = existing.get(record["id"])
        if entry is None:
            entry = KbEntry(public_id=record["id"], status="published", version=1)
            _apply(entry, record)
            session.add(entry)
            report.added += 1
        elif _apply(entry, record):
            entry.version += 1
            report.updated += 1
        else:
            report.unchanged += 1
    if report.added or report.updated:
        bump_revision(session)
    session.flush()
    return report


def export_entries(session: Session, path: Path) -> int:
    """Write every entry to ``path`` (format by suffix); return how many."""
    entries = session.scalars(select(KbEntry).order_by(KbEntry.public_id)).all()
    records = [e.to_record() for e in entries]
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            for rec in records:
                # lists as JSON arrays: an item may itself hold "|" or start with "["
                writer.writerow(
                    {**rec, **{k: json.dumps(rec[k], ensure_ascii=False) for k in LIST_FIELDS}}
                    | {k: rec[k] or "" for k in ("spoken_answer", "valid_from", "valid_until")}
                )
    else:
        with path.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(records)
