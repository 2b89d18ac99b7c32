"""What the pipeline's rule steps decide on one message under one pack, shared by the per-pack tests."""

from __future__ import annotations

from intake.core.text import normalize
from routing import rules
from routing.policy import Policy


def decide_under(pack: Policy, text: str) -> tuple[str, str, str | None]:
    """The rule steps in the pipeline's order; else the category the matter is accepted under."""
    match = normalize(text).match
    if found := rules.detect_emergency(match, pack):
        return "transfer", found.primary, found.basis
    if found := rules.detect_redirect(match, pack):
        return "redirect", found.code, found.basis
    if found := rules.detect_decline(match, pack):
        return "decline", found.code, found.basis
    return "accept", rules.classify(match, pack), None
