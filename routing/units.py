"""Choosing the unit that handles a ticket, and loading the unit catalogue.

By responsibility first (the unit whose keywords the text names, longest and most hits winning), then
by place (a department that covers only some towns must cover the one named); when the matter is
clear but no department fits, the township government of the place named (004 第十二条(二)); otherwise
the hotline office, where a person dispatches it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import UNIT_KINDS, Unit

DEMO_UNITS = Path(__file__).with_name("demo") / "units.yaml"
OFFICE = "office"


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str
    kind: str
    keywords: tuple[str, ...]
    towns: tuple[str, ...]
    phone: str | None = None


@dataclass(frozen=True)
class Choice:
    code: str
    name: str
    reason: str  # responsibility | township | office


class UnitCatalogue:
    """The units of one deployment, ready to match text against."""

    def __init__(self, units: Iterable[UnitInfo]) -> None:
        self.units = {u.code: u for u in units}

    @classmethod
    def from_session(cls, session: Session) -> UnitCatalogue:
        rows = session.scalars(select(Unit)).all()
        return cls(
            UnitInfo(r.code, r.name, r.kind, tuple(r.keywords or ()), tuple(r.towns or ()), r.phone)
            for r in rows
        )

    def name(self, code: str | None) -> str | None:
        unit = self.units.get(code or "")
        return unit.name if unit else None

    def town_in(self, text: str) -> str | None:
        """The first town of the catalogue named in ``text``."""
        found = [(text.find(t), t) for t in self.towns_in(text)]
        return min(found)[1] if found else None

    def towns_in(self, text: str) -> set[str]:
        """Every town of the catalogue named in ``text``."""
        return {t for u in self.units.values() for t in u.towns if t in text}

    def choose(self, text: str) -> Choice:
        """Pick the handling unit for a matter described by ``text`` (normalised)."""
        town = self.town_in(text)
        best: tuple[float, UnitInfo] | None = None
        for unit in self.units.values():
            if unit.kind in ("office", "township"):
                continue
            if unit.towns and town and town not in unit.towns:
                continue
            score = sum(len(k) for k in unit.keywords if k and k.lower() in text)
            if score and (best is None or score > best[0]):
                best = (score, unit)
        if best:
            return Choice(best[1].code, best[1].name, "responsibility")
        if town:
            township = next(
                (u for u in self.units.values() if u.kind == "township" and town in u.towns), None
            )
            if township:
                return Choice(township.code, township.name, "township")
        office = self.units.get(OFFICE)
        return Choice(OFFICE, office.name if office else "12345热线工作站", "office")


def validate_unit_records(records: list[dict[str, Any]]) -> list[str]:
    """Problems in a unit catalogue, one line each (empty when it is fine)."""
    problems = []
    seen: set[str] = set()
    for i, rec in enumerate(records, 1):
        code = rec.get("code")
        if not code or not isinstance(code, str):
            problems.append(f"unit {i}: code missing")
            continue
        if code in seen:
            problems.append(f"unit {i}: code {code!r} appears twice")
        seen.add(code)
        if rec.get("kind") not in UNIT_KINDS:
            problems.append(f"unit {i} ({code}): kind must be one of {', '.join(UNIT_KINDS)}")
        if not rec.get("name"):
            problems.append(f"unit {i} ({code}): name missing")
    if OFFICE not in seen:
        problems.append(f"the catalogue needs the hotline office as unit {OFFICE!r}")
    return problems


def load_units(session: Session, path: Path = DEMO_UNITS) -> int:
    """Insert or update the units listed in a YAML catalogue; return how many were written."""
    records = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    problems = validate_unit_records(records)
    if problems:
        raise ValueError("; ".join(problems))
    existing = {u.code: u for u in session.scalars(select(Unit))}
    for rec in records:
        unit = existing.get(rec["code"]) or Unit(code=rec["code"])
        unit.name = rec["name"]
        unit.kind = rec["kind"]
        unit.responsibilities = rec.get("responsibilities") or ""
        unit.keywords = [str(k) for k in rec.get("keywords") or []]
        unit.towns = [str(t) for t in rec.get("towns") or []]
        unit.phone = rec.get("phone")
        unit.address = rec.get("address")
        session.add(unit)
    session.flush()
    return len(records)
