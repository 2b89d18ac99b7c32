"""Reading a merged pack: typed look-ups that collect every problem with the file and line it comes from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from routing.policy.model import LIMIT_UNITS, Deadline, Limit, PatternRule


class _Reader:
    """Validates the merged mapping, collecting every problem with the line it comes from."""

    def __init__(self, data: dict[str, Any], lines: dict[tuple[str, ...], str], path: Path) -> None:
        self.data, self.lines, self.path = data, lines, path
        self.problems: list[str] = []

    def problem(self, at: tuple[str, ...], message: str) -> None:
        where = next((self.lines[at[:i]] for i in range(len(at), -1, -1) if at[:i] in self.lines), self.path)
        self.problems.append(f"{where}: {'.'.join(at) or '(top)'}: {message}")

    def get(self, at: tuple[str, ...], kind: type | tuple[type, ...], required: bool = True) -> Any:
        value: Any = self.data
        for key in at:
            if not isinstance(value, dict) or key not in value:
                if required:
                    self.problem(at, "missing")
                return None
            value = value[key]
        if value is not None and not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problem(at, f"expected {names}, got {type(value).__name__}")
            return None
        if value is None and required:
            self.problem(at, "missing")
        return value

    # ---- helpers for the sections that are optional where a regulation is silent

    def section(self, at: tuple[str, ...], keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The mapping at ``at`` if the pack has one, with every key not in ``keys`` reported."""
        spec = self.get(at, dict, required=False)
        if spec is None:
            return None
        for key in spec:
            if key not in keys:
                self.problem((*at, key), f"unknown field; use one of {', '.join(keys)}")
        return spec

    def basis(self, at: tuple[str, ...], spec: dict[str, Any]) -> str | None:
        value = spec.get("basis")
        if not isinstance(value, str) or not value.strip():
            self.problem((*at, "basis"), "missing: name the article this rule rests on")
            return None
        return value

    def whole(self, at: tuple[str, ...], value: Any, minimum: int = 1) -> int | None:
        """``value`` if it is a whole number of at least ``minimum`` (YAML yes/no is not), else a problem."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            kind = "positive" if minimum > 0 else "non-negative"
            self.problem(at, f"expected a {kind} whole number, got {value!r}")
            return None
        return value

    def flag(self, at: tuple[str, ...], value: Any, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(at, f"expected true or false, got {value!r}")
            return default
        return value

    def limit(
        self,
        at: tuple[str, ...],
        *,
        basis: str | None = None,
        units: tuple[str, ...] = LIMIT_UNITS,
    ) -> Limit | None:
        """A time limit at ``at``; it names its own article unless ``basis`` (the parent's) is given."""
        spec = self.section(at, (*units, "basis") if basis is None else units)
        if spec is None:
            return None
        given = [u for u in units if spec.get(u) is not None]
        if len(given) != 1:
            self.problem(at, f"give exactly one of {', '.join(units)}")
            return None
        amount = self.whole((*at, given[0]), spec[given[0]])
        own = self.basis(at, spec) if basis is None else basis
        if amount is None:
            return None
        return Limit(**{given[0]: amount}, basis=own)

    def _compile(self, items: Any, at: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
        if items is None:
            return ()
        if not isinstance(items, list):
            self.problem(at, f"expected a list of regular expressions, got {type(items).__name__}")
            return ()
        compiled = []
        for i, raw in enumerate(items):
            try:
                compiled.append(re.compile(str(raw)))
            except re.error as exc:
                self.problem((*at, str(i)), f"bad regular expression {raw!r}: {exc}")
        return tuple(compiled)

    def patterns(self, at: tuple[str, ...], required: bool = True) -> tuple[re.Pattern[str], ...]:
        return self._compile(self.get(at, list, required), at)

    def rule_from(self, spec: dict[str, Any], at: tuple[str, ...], code: str) -> PatternRule:
        return PatternRule(
            code=code,
            patterns=self._compile(spec.get("patterns"), (*at, "patterns")),
            basis=spec.get("basis"),
            reply=spec.get("reply"),
            unless=self._compile(spec.get("unless"), (*at, "unless")),
            alone=self._compile(spec["alone"], (*at, "alone")) if spec.get("alone") is not None else None,
        )

    def rule(self, at: tuple[str, ...], code: str) -> PatternRule:
        return self.rule_from(self.get(at, dict) or {}, at, code)

    def deadline(self, at: tuple[str, ...]) -> Deadline:
        spec = self.get(at, dict) or {}
        days, hours = spec.get("working_days"), spec.get("hours")
        set_by = spec.get("set_by")
        if set_by is not None and set_by != "deployment":
            self.problem((*at, "set_by"), f"expected set_by: deployment, got {set_by!r}")
        # a deployment's pack (base: guizhou) sets the number over the base's set_by: the number wins
        if set_by is not None and days is None and hours is None:
            if not spec.get("basis"):
                self.problem((*at, "basis"), "missing: name the article that leaves this number to others")
            return Deadline(basis=spec.get("basis"), set_by=set_by)
        if (days is None) == (hours is None):
            self.problem(at, "give exactly one of working_days or hours")
        for key, value in (("working_days", days), ("hours", hours)):
            # bool is an int in Python: YAML's yes/no must not become a one-day limit
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                self.problem((*at, key), f"expected a positive whole number, got {value!r}")
        return Deadline(working_days=days, hours=hours, basis=spec.get("basis"))
