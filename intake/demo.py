"""Loading a demo county: its unit catalogue and knowledge base, shipped as data files.

Each policy pack has one. Longsheng's (the first) stays where it always was, ``routing/demo/units.yaml``
with ``kb/demo/entries.jsonl``; every other pack's county is ``routing/demo/<pack>/units.yaml`` and
``routing/demo/<pack>/entries.jsonl``, in the same formats as ``hotline unit import`` and
``hotline kb import``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import Unit
from kb.audit import SystemActor
from kb.records import DEMO_ENTRIES, ImportReport, import_entries
from routing.catalogue import DEMO_UNITS, load_units

DEMO_ACTOR = "demo"  # the author of the demo entries' versions and audit rows
DEFAULT_PACK = "longsheng"  # the county `make run` has always loaded
COUNTIES = DEMO_UNITS.parent  # routing/demo/


@dataclass(frozen=True)
class DemoCounty:
    """Where one pack's demo county is kept."""

    pack: str
    units: Path
    entries: Path


def demo_county(pack: str = DEFAULT_PACK) -> DemoCounty:
    """The demo county of ``pack``; ``ValueError`` with a Chinese message when the pack has none."""
    if pack == DEFAULT_PACK:
        return DemoCounty(pack, DEMO_UNITS, DEMO_ENTRIES)
    folder = COUNTIES / pack
    county = DemoCounty(pack, folder / "units.yaml", folder / "entries.jsonl")
    if not pack.isidentifier() or not county.units.is_file() or not county.entries.is_file():
        have = "、".join(demo_packs())
        raise ValueError(f"政策包 {pack!r} 没有演示县（有演示县的政策包：{have}）")
    return county


def demo_packs() -> list[str]:
    """The packs that ship a demo county, in name order."""
    others = [
        p.name for p in COUNTIES.iterdir() if (p / "units.yaml").is_file() and (p / "entries.jsonl").is_file()
    ]
    return sorted([DEFAULT_PACK, *others])


def load_demo(session: Session, pack: str = DEFAULT_PACK) -> tuple[int, ImportReport]:
    """Write ``pack``'s demo units and entries (idempotent); the caller commits if the report is ok."""
    county = demo_county(pack)
    count = load_units(session, county.units)
    units = set(session.scalars(select(Unit.code)))
    report = import_entries(session, county.entries, units, actor=SystemActor(DEMO_ACTOR))
    return count, report
