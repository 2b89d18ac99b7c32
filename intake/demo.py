"""Loading the demo county: its unit catalogue and knowledge base, shipped as data files."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.records import DEMO_ENTRIES, ImportReport, import_entries
from routing.models import Unit
from routing.units import DEMO_UNITS, load_units


def load_demo(session: Session) -> tuple[int, ImportReport]:
    """Write the demo units and entries (idempotent); the caller commits unless the report has errors."""
    count = load_units(session, DEMO_UNITS)
    report = import_entries(session, DEMO_ENTRIES, set(session.scalars(select(Unit.code))))
    return count, report
