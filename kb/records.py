"""Knowledge entries as files: JSON Lines or CSV, validated whole before anything is written.

Import is all or nothing: one bad row and nothing changes, and every bad line is reported with its
number and reason. Importing the same file twice changes nothing (entries are matched by their
public ``id`` and only rewritten when a field differs). Imported entries are published at once (the
file is the unit's or the office's reviewed text), and every added or changed entry gets a version
with the importer as its author, like a change made in the editor.

``check_record`` is the one validation of an entry's content, used by import, the editor pages and the
JSON API alike.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.core.inputs import formula_safe, formula_unescaped
from kb import audit
from kb.audit import Actor, SystemActor
from kb.models import KINDS, SERVICE_FIELDS, KbEntry, KbEntryVersion, bump_revision, utcnow

FIELDS = ("id", "unit", "question", "answer", "alt_questions", "keywords", "spoken_answer",
          "valid_from", "valid_until", "kind", "tags", "service", "review_every_days")  # fmt: skip
REQUIRED = ("id", "unit", "question", "answer")
LIST_FIELDS = ("alt_questions", "keywords", "tags")
OPTIONAL_TEXT = ("spoken_answer", "valid_from", "valid_until", "kind", "review_every_days")
DEMO_ENTRIES = Path(__file__).with_name("demo") / "entries.jsonl"
MAX_TEXT = {"id": 64, "unit": 64, "question": 500, "answer": 20000, "spoken_answer": 2000}
MAX_LIST = 50  # phrasings, keywords or tags in one entry
MAX_ITEM = 200
MAX_SERVICE_TEXT = 2000
MAX_REVIEW_DAYS = 3660
IMPORTER = SystemActor("import")


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
    return parse_rows(raw, path.name)


def parse_rows(raw: bytes, filename: str) -> tuple[list[tuple[int, Any]], list[str]]:
    """Parse a file's bytes as JSON Lines or CSV, by the name's suffix (an upload has no path)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [f"not UTF-8 (byte {exc.start}); save the file as UTF-8"]
    if Path(filename).suffix.lower() == ".csv":
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
    lines = iter(reader)
    while True:
        try:
            row = next(lines)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell longer than the csv module allows, a stray NUL
            errors.append(f"line {reader.line_num}: {exc}")
            break
        row = {k: formula_unescaped(v) if isinstance(v, str) else v for k, v in row.items()}
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
        cell = (record.get("service") or "").strip()
        if cell:
            try:
                record["service"] = json.loads(cell)
            except json.JSONDecodeError:
                errors.append(f"line {start}: service is not a JSON object")
        else:
            record.pop("service", None)
        for key in OPTIONAL_TEXT:
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


def check_record(row: Any, known_units: set[str]) -> tuple[dict[str, Any] | None, list[str]]:
    """Check one entry's fields; return its clean form (dates parsed, text trimmed) or the problems."""
    if not isinstance(row, dict):
        return None, [f"expected an object with fields {', '.join(FIELDS)}"]
    problems = []
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
        elif len(value) > MAX_LIST or any(len(v) > MAX_ITEM for v in value):
            problems.append(f"{key} holds at most {MAX_LIST} items of at most {MAX_ITEM} characters")
    kind = row.get("kind") or "answer"
    if kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    service = row.get("service") or {}
    if not isinstance(service, dict):
        problems.append(f"service must be an object with fields among {', '.join(SERVICE_FIELDS)}")
        service = {}
    else:
        strange = sorted(set(service) - set(SERVICE_FIELDS))
        if strange:
            problems.append(f"service has unknown field {', '.join(strange)}")
        for key, value in service.items():
            if value is not None and (not isinstance(value, str) or len(value) > MAX_SERVICE_TEXT):
                problems.append(f"service.{key} must be text of at most {MAX_SERVICE_TEXT} characters")
    review = row.get("review_every_days")
    if isinstance(review, str) and review.strip().isascii() and review.strip().isdigit():
        review = int(review)  # a CSV cell or a form field ("²".isdigit() is True: ASCII only)
    if review is not None and (
        isinstance(review, bool) or not isinstance(review, int) or not 1 <= review <= MAX_REVIEW_DAYS
    ):
        problems.append(f"review_every_days must be a whole number of days from 1 to {MAX_REVIEW_DAYS}")
    dates = {}
    for key in ("valid_from", "valid_until"):
        try:
            dates[key] = _date(row.get(key))
        except ValueError:
            problems.append(f"{key} is not an ISO date like 2026-12-31: {row.get(key)!r}")
    if dates.get("valid_from") and dates.get("valid_until") and dates["valid_from"] > dates["valid_until"]:
        problems.append("valid_from is after valid_until")
    if kind == "notice" and not dates.get("valid_until"):
        problems.append("a notice needs valid_until: the day it stops being true")
    unit = row.get("unit")
    if isinstance(unit, str) and unit.strip() and unit.strip() not in known_units:
        problems.append(f"unit {unit!r} is not in the unit catalogue")
    if problems:
        return None, problems
    return {
        "id": row["id"].strip(),
        "unit": row["unit"].strip(),
        "question": row["question"].strip(),
        "answer": row["answer"].strip(),
        "alt_questions": _unique(row.get("alt_questions")),
        "keywords": _unique(row.get("keywords")),
        "spoken_answer": (row.get("spoken_answer") or "").strip() or None,
        "valid_from": dates.get("valid_from"),
        "valid_until": dates.get("valid_until"),
        "kind": kind,
        "tags": _unique(row.get("tags")),
        "service": {
            k: v.strip() for k in SERVICE_FIELDS if isinstance(v := service.get(k), str) and v.strip()
        },
        "review_every_days": review,
    }, []


def _unique(items: list[str] | None) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in items or []))


def validate(
    rows: Iterable[tuple[int, Any]], known_units: set[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Check every row; return the clean records and one error line per problem."""
    clean, errors, seen = [], [], {}
    for number, row in rows:
        record, problems = check_record(row, known_units)
        public_id = row.get("id") if isinstance(row, dict) else None
        if isinstance(public_id, str) and public_id.strip():
            public_id = public_id.strip()  # stored trimmed, so compared trimmed
            if public_id in seen:
                problems.append(f"id {public_id!r} already used on line {seen[public_id]}")
            else:
                seen[public_id] = number
        if problems:
            errors.extend(f"line {number}: {p}" for p in problems)
            continue
        clean.append(record)
    return clean, errors


def import_entries(
    session: Session,
    path: Path,
    known_units: set[str],
    *,
    actor: Actor = IMPORTER,
    now: datetime | None = None,
    only_unit: str | None = None,
) -> ImportReport:
    """Validate ``path`` and write its entries as published; write nothing if any row is bad.

    ``only_unit`` limits the file to one unit's entries (a unit reviewer importing in the editor).
    """
    rows, errors = read_rows(path)
    return import_rows(
        session, rows, errors, known_units, actor=actor, now=now, only_unit=only_unit, source=path.name
    )


def import_rows(
    session: Session,
    rows: list[tuple[int, Any]],
    errors: list[str],
    known_units: set[str],
    *,
    actor: Actor = IMPORTER,
    now: datetime | None = None,
    only_unit: str | None = None,
    source: str | None = None,
) -> ImportReport:
    """Validate rows already read (see ``read_rows``/``parse_rows``) and write them all or nothing.

    Each added or changed entry gets a version authored by ``actor``, and each unit in the file one
    audit row with its counts and the ``source`` (a file name), so a unit sees who replaced its text.
    """
    records, problems = validate(rows, known_units)
    if only_unit is not None:
        for number, row in rows:
            unit = row.get("unit") if isinstance(row, dict) else None
            if isinstance(unit, str) and unit.strip() and unit.strip() != only_unit:
                problems.append(f"line {number}: unit {unit.strip()!r} is not yours ({only_unit})")
    report = ImportReport(errors=errors + problems)
    if not report.ok:
        report.errors.sort(key=lambda e: int(e.split()[1].rstrip(":")) if e.startswith("line ") else 0)
        return report
    now = now or utcnow()
    ids = [r["id"] for r in records]
    existing = {e.public_id: e for e in session.scalars(select(KbEntry).where(KbEntry.public_id.in_(ids)))}
    if only_unit is not None:
        foreign = sorted(i for i, e in existing.items() if e.unit_code != only_unit)
        if foreign:
            report.errors.append(f"entries of another unit cannot be replaced: {', '.join(foreign)}")
            return report
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        entry = existing.get(record["id"])
        count = counts.setdefault(record["unit"], {"added": 0, "updated": 0, "unchanged": 0})
        if entry is None:
            entry = KbEntry(
                public_id=record["id"], status="published", version=1, reviewed_on=now.date(),
                created_at=now, updated_at=now,
            )  # fmt: skip
            entry.apply(record)
            session.add(entry)
            session.flush()
            changed = ["created"]
            report.added += 1
            count["added"] += 1
        else:
            changed = entry.apply(record)
            if not changed and entry.status == "published":
                report.unchanged += 1
                count["unchanged"] += 1
                continue
            # the file is reviewed text: it is published, and a change pending on the old text (which
            # would undo the import once published) is dropped; its version stays in the history
            for older in entry.versions:
                if older.status == "published":
                    older.status = "superseded"
            entry.version = next_version(session, entry)
            entry.status, entry.pending_version, entry.pending_status = "published", None, None
            entry.updated_at, entry.reviewed_on = now, now.date()
            changed = changed or ["published"]
            report.updated += 1
            count["updated"] += 1
        session.add(
            KbEntryVersion(
                entry_id=entry.id, number=entry.version, content=entry.to_record(), status=entry.status,
                author=actor.username, note="导入", changed=changed, created_at=now,
            )
        )  # fmt: skip
    if report.added or report.updated:
        bump_revision(session)
    for unit, count in sorted(counts.items()):
        audit.record(session, actor, "import", now, unit=unit, file=source, **count)
    session.flush()
    return report


def next_version(session: Session, entry: KbEntry) -> int:
    """The number the entry's next saved version takes (pending drafts count: numbers never repeat)."""
    query = select(func.max(KbEntryVersion.number)).where(KbEntryVersion.entry_id == entry.id)
    return max(session.scalar(query) or 0, entry.version) + 1


def export_records(session: Session, unit: str | None = None) -> list[dict[str, Any]]:
    """Every entry's live content (or one unit's), in the import format."""
    query = select(KbEntry).order_by(KbEntry.public_id)
    if unit is not None:
        query = query.where(KbEntry.unit_code == unit)
    return [e.to_record() for e in session.scalars(query)]


def format_records(records: list[dict[str, Any]], fmt: str) -> str:
    """Records as the text of a ``.jsonl`` or ``.csv`` file."""
    out = io.StringIO(newline="")
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for rec in records:
            # lists and the service object as JSON: an item may itself hold "|" or start with "["
            row = (
                {**rec, **{k: json.dumps(rec[k], ensure_ascii=False) for k in LIST_FIELDS}}
                | {"service": json.dumps(rec["service"], ensure_ascii=False) if rec["service"] else ""}
                | {k: "" if rec[k] is None else rec[k] for k in OPTIONAL_TEXT}
            )
            writer.writerow({k: formula_safe(v) for k, v in row.items()})
    else:
        for rec in records:
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return out.getvalue()


def export_entries(session: Session, path: Path) -> int:
    """Write every entry to ``path`` (format by suffix); return how many."""
    records = export_records(session)
    fmt = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    path.write_text(format_records(records, fmt), encoding="utf-8", newline="")
    return len(records)
