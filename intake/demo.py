"""Loading the demo county: its unit catalogue and knowledge base, shipped as data files."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import Unit
from kb.audit import SystemActor
from kb.records import DEMO_ENTRIES, ImportReport, import_entries
from routing.catalogue import DEMO_UNITS, load_units

DEMO_ACTOR = "demo"  # the author of the demo entries' versions and audit rows


def load_demo(session: Session) -> tuple[int, ImportReport]:
    """Write the demo units and entries (idempotent); the caller commits unless the report has errors."""
    count = load_units(session, DEMO_UNITS)
    units = set(session.scalars(select(Unit.code)))
    report = import_entries(session, DEMO_ENTRIES, units, actor=SystemActor(DEMO_ACTOR))
    return count, report
