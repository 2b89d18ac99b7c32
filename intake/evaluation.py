"""Measuring triage against a labelled set: recall and precision per class.

Each line of the set holds a text and what a careful operator would decide: ``action`` (transfer,
redirect, decline, or answer_or_ticket for an ordinary accepted matter), the line, code or reason,
and the category. ``hotline evaluate PATH`` prints the figures; the test suite asserts the two that
must never slip: every emergency transferred, no routine question transferred.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake.core.messages import Outcome
from routing.policy import Policy


@dataclass
class Case:
    id: str
    text: str
    expected: str  # the class: "transfer:119", "redirect:court", "decline:abusive", "accept"
    category: str | None
    raw: dict[str, Any]


def expected_class(row: dict[str, Any]) -> str:
    action = row["action"]
    if action == "transfer":
        return f"transfer:{row['transfer_to']}"
    if action == "redirect":
        return f"redirect:{row['redirect_to']}"
    if action == "decline":
        return f"decline:{row['decline_reason']}"
    return "accept"


def predicted_class(outcome: Outcome) -> str:
    if outcome.action == "transfer":
        return f"transfer:{outcome.transfer_to}"
    if outcome.action == "redirect":
        return f"redirect:{outcome.redirect_to}"
    if outcome.action == "decline":
        return f"decline:{outcome.decline_reason}"
    return "accept"  # answer, clarify, ticket, ask: the hotline takes the matter


def load_cases(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(Case(row["id"], row["text"], expected_class(row), row.get("category"), row))
    return cases


@dataclass
class Report:
    total: int = 0
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: Counter = field(default_factory=Counter)
    errors: list[tuple[str, str, str, str]] = field(default_factory=list)  # id, text, expected, got
    category_accuracy: float | None = None

    def missed_emergencies(self) -> list[tuple[str, str, str, str]]:
        return [e for e in self.errors if e[2].startswith("transfer:") and not e[3].startswith("transfer:")]

    def false_transfers(self) -> list[tuple[str, str, str, str]]:
        return [e for e in self.errors if e[3].startswith("transfer:") and not e[2].startswith("transfer:")]


EMERGENCY_NUMBERS = {"110", "119", "120", "122", "96333"}


def relabeller(policy: Policy) -> Callable[[str], str]:
    """What ``policy`` should do with each expected class, where the set's label assumes another pack.

    A redirect or decline the regulation does not name is an accepted matter; an emergency line the pack
    does not enable goes to its fallback (96333 → 119; under 001, 119 → 110); a utility line the pack
    does not enable (004 第十条(一) only) is an accepted matter, registered as urgent.
    """
    enabled = {f"redirect:{r.code}" for r in policy.redirects} | {
        f"decline:{r.code}" for r in policy.declines
    }
    lines = {
        f"transfer:{line.matched or line.number}": f"transfer:{line.number}"
        for line in policy.emergency_lines
    }

    def relabel(expected: str) -> str:
        if expected.startswith(("redirect:", "decline:")) and expected not in enabled:
            return "accept"
        if expected.startswith("transfer:") and expected not in lines:
            return expected if expected.removeprefix("transfer:") in EMERGENCY_NUMBERS else "accept"
        return lines.get(expected, expected)

    return relabel


def evaluate(cases: Iterable[Case], decide: Callable[[str], Outcome],
             relabel: Callable[[str], str] = lambda c: c) -> Report:  # fmt: skip
    """Run ``decide`` on every case; ``relabel`` maps expected classes a pack does not have."""
    report = Report()
    got_counts: Counter = Counter()
    exp_counts: Counter = Counter()
    hits: Counter = Counter()
    categories_right = categories_total = 0
    for case in cases:
        outcome = decide(case.text)
        expected, got = relabel(case.expected), predicted_class(outcome)
        report.total += 1
        exp_counts[expected] += 1
        got_counts[got] += 1
        report.confusion[(expected, got)] += 1
        if expected == got:
            hits[expected] += 1
        else:
            report.errors.append((case.id, case.text, expected, got))
        if expected == "accept" and got == "accept" and case.category:
            categories_total += 1
            categories_right += outcome.category == case.category
    for cls in sorted(set(exp_counts) | set(got_counts)):
        recall = hits[cls] / exp_counts[cls] if exp_counts[cls] else None
        precision = hits[cls] / got_counts[cls] if got_counts[cls] else None
        report.per_class[cls] = {
            "support": exp_counts[cls],
            "predicted": got_counts[cls],
            "recall": recall,
            "precision": precision,
        }
    if categories_total:
        report.category_accuracy = categories_right / categories_total
    return report


def format_report(report: Report) -> str:
    lines = [f"{'class':<32}{'support':>8}{'predicted':>10}{'recall':>8}{'precision':>10}"]
    for cls, row in report.per_class.items():
        rec = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        pre = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        lines.append(f"{cls:<32}{row['support']:>8}{row['predicted']:>10}{rec:>8}{pre:>10}")
    transfers = [r for c, r in report.per_class.items() if c.startswith("transfer:")]
    support = sum(r["support"] for r in transfers)
    any_transfer = support - len([e for e in report.missed_emergencies()])
    lines.append("")
    right_line = sum(r["recall"] * r["support"] for r in transfers if r["recall"] is not None)
    lines.append(f"emergencies transferred (any line): {any_transfer}/{support}")
    lines.append(f"emergencies transferred to the right primary line: {round(right_line)}/{support}")
    lines.append(f"non-emergencies transferred: {len(report.false_transfers())}")
    if report.category_accuracy is not None:
        lines.append(f"category accuracy on accepted matters: {report.category_accuracy:.2f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- conversation moves (issue 16)


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The labelled rows of a corpus file (``tests/data/corpus``), as written."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class MovesReport:
    """How ``intake.moves.recognise`` reads a labelled set's small talk and everything else."""

    smalltalk: int = 0  # rows labelled smalltalk
    recognised: int = 0  # of those, recognised as some move
    right_kind: int = 0  # of those, as the labelled kind (the corpus's ``smalltalk`` type)
    by_kind: dict[str, Counter] = field(default_factory=dict)  # labelled kind -> kinds recognised
    others: int = 0  # rows that are not small talk
    false_moves: int = 0  # of those, taken for a move
    misses: list[tuple[str, str, str | None]] = field(default_factory=list)  # id, text, got
    false: list[tuple[str, str, str]] = field(default_factory=list)  # id, text, kind taken for

    def summary(self) -> str:
        lines = [
            f"small talk: {self.recognised} of {self.smalltalk} recognised as moves, "
            f"{self.right_kind} as the labelled kind",
            f"other rows: {self.false_moves} of {self.others} taken for moves",
        ]
        for kind, got in sorted(self.by_kind.items()):
            lines.append(f"  {kind}: " + ", ".join(f"{k or 'none'} {n}" for k, n in got.most_common()))
        return "\n".join(lines)


def evaluate_moves(rows: Iterable[dict[str, Any]]) -> MovesReport:
    """Run the move recogniser over labelled rows (texts normalised as the pipeline does)."""
    from intake.core.text import normalize
    from intake.moves import recognise

    report = MovesReport()
    for row in rows:
        move = recognise(normalize(row["text"]).match)
        got = move.kind if move else None
        if row["action"] == "smalltalk":
            report.smalltalk += 1
            report.recognised += got is not None
            report.right_kind += got == row.get("smalltalk")
            report.by_kind.setdefault(row.get("smalltalk") or "?", Counter())[got] += 1
            if got != row.get("smalltalk"):
                report.misses.append((row["id"], row["text"], got))
        else:
            report.others += 1
            if got is not None:
                report.false_moves += 1
                report.false.append((row["id"], row["text"], got))
    return report
