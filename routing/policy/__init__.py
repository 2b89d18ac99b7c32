"""Policy packs: one YAML file per jurisdiction holding every rule its regulation sets.

A pack may name a ``base`` pack whose content it extends (mappings merge key by key, the pack's own
values win; lists are replaced), so the language patterns shared by all jurisdictions live once in
``common.yaml``. Loading validates the merged pack and reports problems as ``file:line: field: problem``.

Besides what triage needs (categories and deadlines, emergency lines, redirects, declines), a pack
carries the rest of its regulation's per-jurisdiction rules: ``handling`` (signing, returning and
extending tickets), ``survey`` (ratings, silence, re-handling), ``hours``, ``supervision`` (cards) and
``knowledge`` (how fast a unit answers a knowledge question).
Each is optional: where a regulation is silent the section, or the field, is left empty.

The package: ``model`` (the ``Policy`` and its sections), ``reader`` (typed look-ups with line numbers),
``sections`` (the optional sections), ``loading`` (finding, merging and validating packs). Callers import
from ``routing.policy``.
"""

from __future__ import annotations

from routing.policy.loading import POLICY_DIR, available, load, resolve
from routing.policy.model import (
    CALL_WINDOWS_DEFAULT,
    CARD_COLOURS,
    DEFAULT_RATINGS,
    LIMIT_UNITS,
    LINE_KINDS,
    OFF_HOURS,
    Calls,
    Card,
    Deadline,
    DeemedReplied,
    EmergencyLine,
    Extension,
    FactRules,
    FiledAs,
    FollowUp,
    Handling,
    Hours,
    KeyItems,
    Knowledge,
    Limit,
    NoReply,
    PatternRule,
    Policy,
    PolicyError,
    Ratings,
    Rehandle,
    Supervision,
    Survey,
    Unreachable,
)

__all__ = [
    "CALL_WINDOWS_DEFAULT",
    "CARD_COLOURS",
    "Calls",
    "Card",
    "DEFAULT_RATINGS",
    "Deadline",
    "DeemedReplied",
    "EmergencyLine",
    "Extension",
    "FiledAs",
    "FollowUp",
    "Handling",
    "Hours",
    "FactRules",
    "KeyItems",
    "Knowledge",
    "LIMIT_UNITS",
    "LINE_KINDS",
    "Limit",
    "NoReply",
    "OFF_HOURS",
    "POLICY_DIR",
    "PatternRule",
    "Policy",
    "PolicyError",
    "Ratings",
    "Rehandle",
    "Supervision",
    "Survey",
    "Unreachable",
    "available",
    "load",
    "resolve",
]
