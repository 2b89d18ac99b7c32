"""Policy packs: one YAML file per jurisdiction holding every rule its regulation sets.

A pack may name a ``base`` pack whose content it extends (mappings merge key by key, the pack's own
values win; lists are replaced), so the language patterns shared by all jurisdictions live once in
``common.yaml``. Loading validates the merged pack and reports problems as ``file:line: field: problem``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

POLICY_DIR = Path(__file__).with_name("policies")

CATEGORIES = ("consult", "help", "complaint", "report", "suggestion", "praise")

REDIRECT_CODES = (
    "court", "procuratorate", "congress", "cppcc", "party", "military", "discipline",
    "organization", "litigation", "petition", "family",
)  # fmt: skip
DECLINE_CODES = (
    "out_of_jurisdiction", "secret_or_privacy", "duplicate", "already_resolved", "abusive",
    "no_content", "incomplete", "anonymous_rights",
)  # fmt: skip


class PolicyError(ValueError):
    """A pack that cannot be used, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------- YAML with line numbers


def _compose(path: Path) -> tuple[Any, dict[tuple[str, ...], str]]:
    """Load ``path`` as plain Python data plus a map from each field path to its line number."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise PolicyError([f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    lines: dict[tuple[str, ...], str] = {}
    scalars = yaml.SafeLoader("")

    def walk(n: yaml.Node, at: tuple[str, ...]) -> Any:
        lines[at] = f"{path}:{n.start_mark.line + 1}"
        if isinstance(n, yaml.MappingNode):
            out = {}
            for key_node, value_node in n.value:
                key = str(key_node.value)
                out[key] = walk(value_node, (*at, key))
                lines[(*at, key)] = f"{path}:{key_node.start_mark.line + 1}"
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, (*at, str(i))) for i, item in enumerate(n.value)]
        return scalars.construct_object(n, deep=True)

    return (walk(node, ()) if node is not None else {}), lines


def _merge(base: Any, own: Any) -> Any:
    if isinstance(base, dict) and isinstance(own, dict):
        merged = dict(base)
        for key, value in own.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return own


# ---------------------------------------------------------------- the pack


@dataclass(frozen=True)
class Deadline:
    working_days: int | None = None
    hours: int | None = None
    basis: str | None = None


@dataclass(frozen=True)
class PatternRule:
    """A named rule: regular expressions, the article it rests on, and what the citizen is told."""

    code: str
    patterns: tuple[re.Pattern[str], ...]
    basis: str | None = None
    reply: str | None = None
    unless: tuple[re.Pattern[str], ...] = ()

    def matches(self, text: str) -> bool:
        if any(p.search(text) for p in self.unless):
            return False
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class EmergencyLine:
    number: str
    name: str
    dial: str
    rule: PatternRule


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    regulation: str
    jurisdiction: str
    towns: tuple[str, ...]
    categories: dict[str, Deadline]
    counting: str  # "next_working_day" | "same_day"
    urgent_deadline: Deadline
    urgent_topics: PatternRule
    emergency_lines: tuple[EmergencyLine, ...]
    emergency_guard: tuple[re.Pattern[str], ...]
    emergency_cues: tuple[re.Pattern[str], ...]
    emergency_basis: str | None
    redirects: tuple[PatternRule, ...]
    declines: tuple[PatternRule, ...]
    classify: tuple[PatternRule, ...]
    question_cues: tuple[re.Pattern[str], ...]
    location_cues: tuple[re.Pattern[str], ...]
    ticket_request_cues: tuple[re.Pattern[str], ...]
    answer_basis: str | None
    ticket_reply: str
    holidays: dict[int, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def deadline_for(self, category: str) -> Deadline | None:
        return self.categories.get(category)


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
        )

    def rule(self, at: tuple[str, ...], code: str) -> PatternRule:
        return self.rule_from(self.get(at, dict) or {}, at, code)

    def deadline(self, at: tuple[str, ...]) -> Deadline:
        spec = self.get(at, dict) or {}
        days, hours = spec.get("working_days"), spec.get("hours")
        if (days is None) == (hours is None):
            self.problem(at, "give exactly one of working_days or hours")
        for key, value in (("working_days", days), ("hours", hours)):
            if value is not None and (not isinstance(value, int) or value <= 0):
                self.problem((*at, key), f"expected a positive whole number, got {value!r}")
        return Deadline(working_days=days, hours=hours, basis=spec.get("basis"))


def available() -> list[str]:
    """Names of the packs shipped with the product (``common`` is a base, not a pack)."""
    return sorted(p.stem for p in POLICY_DIR.glob("*.yaml") if p.stem != "common")


def resolve(name_or_path: str) -> Path:
    """Find a pack by preset name or file path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or "/" in name_or_path:
        if not candidate.is_file():
            raise PolicyError([f"{name_or_path}: no such policy file"])
        return candidate
    preset = POLICY_DIR / f"{name_or_path}.yaml"
    if not preset.is_file() or name_or_path == "common":
        raise PolicyError([f"unknown policy {name_or_path!r}; presets: {', '.join(available())}"])
    return preset


def _load_merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict, Path]:
    if path.resolve() in seen:
        raise PolicyError([f"{path}: base packs form a loop"])
    data, lines = _compose(path)
    if not isinstance(data, dict):
        raise PolicyError([f"{path}:1: a pack is a mapping of fields"])
    base_name = data.pop("base", None)
    if base_name is None:
        return data, lines, path
    base_path = resolve(str(base_name)) if "/" in str(base_name) else POLICY_DIR / f"{base_name}.yaml"
    if not base_path.is_file():
        raise PolicyError([f"{lines.get(('base',), path)}: base: no pack named {base_name!r}"])
    base_data, base_lines, _ = _load_merged(base_path, (*seen, path.resolve()))
    # Line numbers point at the pack's own file where it sets the field, else at the base.
    merged_lines = {k: v for k, v in base_lines.items()}
    merged_lines.update(lines)
    return _merge(base_data, data), merged_lines, path


def load(name_or_path: str) -> Policy:
    """Load and validate a pack; raise ``PolicyError`` listing every problem."""
    path = resolve(name_or_path)
    data, lines, _ = _load_merged(path)
    r = _Reader(data, lines, path)

    categories: dict[str, Deadline] = {}
    for cat in r.get(("categories",), dict) or {}:
        if cat not in CATEGORIES:
            r.problem(("categories", cat), f"unknown category; use one of {', '.join(CATEGORIES)}")
            continue
        categories[cat] = r.deadline(("categories", cat))

    lines_spec = r.get(("emergency", "lines"), dict) or {}
    enabled = [str(n) for n in (r.get(("emergency", "enabled"), list) or [])]
    for i, number in enumerate(enabled):
        if number not in lines_spec:
            r.problem(("emergency", "enabled", str(i)), f"no line {number!r} under emergency.lines")
    emergency_lines = []
    for number in lines_spec:
        at = ("emergency", "lines", str(number))
        fallback = r.get((*at, "fallback"), (str, int), required=False)
        target = str(number) if str(number) in enabled else (str(fallback) if fallback else None)
        if target is None or target not in enabled:
            continue  # the regulation does not transfer to this line
        target_spec = lines_spec.get(target, {})
        emergency_lines.append(
            EmergencyLine(
                number=target,
                name=str(target_spec.get("name", "")),
                dial=str(target_spec.get("dial") or target),
                rule=r.rule(at, target),
            )
        )

    def rule_table(section: str, rules: str, codes: tuple[str, ...]) -> tuple[PatternRule, ...]:
        """Rules the pack turns on under ``section``, with patterns and replies from ``rules``."""
        library = r.get((rules,), dict, required=False) or {}
        out = []
        for code, own in (r.get((section,), dict, required=False) or {}).items():
            at = (section, code)
            if code not in codes:
                r.problem(at, f"unknown code; use one of {', '.join(codes)}")
                continue
            if own is not None and not isinstance(own, dict):
                r.problem(at, "expected a mapping with at least basis")
                continue
            if not (own or {}).get("basis"):
                r.problem((*at, "basis"), "missing: name the article this rule rests on")
            if code not in library and not (own or {}).get("patterns"):
                r.problem(at, f"no patterns here and no {rules}.{code} to take them from")
            rule = r.rule_from(_merge(library.get(code, {}), own or {}), at, code)
            if not rule.reply:
                r.problem((*at, "reply"), "missing: the citizen must be told why and where to go")
            out.append(rule)
        return tuple(out)

    classify = []
    for i, item in enumerate(r.get(("classify",), list) or []):
        at = ("classify", str(i))
        category = item.get("category") if isinstance(item, dict) else None
        if category not in CATEGORIES:
            r.problem((*at, "category"), f"expected one of {', '.join(CATEGORIES)}, got {category!r}")
            continue
        classify.append(r.rule_from(item, at, category))

    counting = r.get(("deadlines", "counting"), str) or "same_day"
    if counting not in {"same_day", "next_working_day"}:
        r.problem(("deadlines", "counting"), "expected same_day or next_working_day")

    holidays: dict[int, dict[str, tuple[str, ...]]] = {}
    for year, spec in (r.get(("holidays",), dict, required=False) or {}).items():
        if not isinstance(spec, dict):
            r.problem(("holidays", str(year)), "expected off: [...] and work: [...]")
            continue
        holidays[int(year)] = {k: tuple(str(d) for d in spec.get(k, []) or []) for k in ("off", "work")}

    policy = Policy(
        name=r.get(("name",), str) or path.stem,
        title=r.get(("title",), str) or "",
        regulation=str(r.get(("regulation",), (str, int)) or ""),
        jurisdiction=r.get(("jurisdiction", "name"), str) or "",
        towns=tuple(r.get(("jurisdiction", "towns"), list) or ()),
        categories=categories,
        counting=counting,
        urgent_deadline=r.deadline(("urgent", "deadline")),
        urgent_topics=r.rule(("urgent",), "urgent"),
        emergency_lines=tuple(emergency_lines),
        emergency_guard=r.patterns(("emergency", "routine_guard"), required=False),
        emergency_cues=r.patterns(("emergency", "urgency_cues"), required=False),
        emergency_basis=r.get(("emergency", "basis"), str, required=False),
        redirects=rule_table("redirects", "redirect_rules", REDIRECT_CODES),
        declines=rule_table("declines", "decline_rules", DECLINE_CODES),
        classify=tuple(classify),
        question_cues=r.patterns(("question_cues",)),
        location_cues=r.patterns(("location_cues",)),
        ticket_request_cues=r.patterns(("ticket_request_cues",), required=False),
        answer_basis=r.get(("answer_basis",), str, required=False),
        ticket_reply=r.get(("ticket_reply",), str) or "",
        holidays=holidays,
        source=path,
        raw=data,
    )
    if r.problems:
        raise PolicyError(r.problems)
    return policy
