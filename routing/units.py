"""Choosing the unit that handles a ticket.

By responsibility first (the unit whose keywords the text names, longest and most hits winning), then
by place (a department that covers only some towns must cover the one named); when the matter is
clear but no department fits, the township government of the place named (004 第十二条(二)); otherwise
the hotline office, where a person dispatches it. The catalogue's files (import, export, the demo's
units) are ``routing.catalogue``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.core.models import Unit

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
