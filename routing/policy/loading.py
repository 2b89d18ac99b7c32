"""Finding, composing and loading packs: YAML with line numbers, ``base`` packs merged key by key, and the
whole pack validated into a ``Policy``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from intake.core.vocabulary import CATEGORIES, DECLINE_CODES, REDIRECT_CODES
from routing.policy.model import LINE_KINDS, Deadline, EmergencyLine, PatternRule, Policy, PolicyError
from routing.policy.reader import _Reader
from routing.policy.sections import (
    _facts,
    _file_as,
    _handling,
    _hours,
    _key_items,
    _knowledge,
    _supervision,
    _survey,
)

POLICY_DIR = Path(__file__).parent.parent / "policies"


# ---------------------------------------------------------------- YAML with line numbers


def _compose(path: Path) -> tuple[Any, dict[tuple[str, ...], str]]:
    """Load ``path`` as plain Python data plus a map from each field path to its line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError([f"{path}: not UTF-8 (byte {exc.start}); save the pack as UTF-8"]) from None
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
        try:
            return scalars.construct_object(n, deep=True)
        except ValueError:  # an impossible unquoted date such as 2027-02-30
            return n.value

    return (walk(node, ()) if node is not None else {}), lines


def _merge(base: Any, own: Any) -> Any:
    if isinstance(base, dict) and isinstance(own, dict):
        merged = dict(base)
        for key, value in own.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return own


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


def _urgent_topics(r: _Reader) -> PatternRule:
    """The pack's urgent (突发) rule: the kinds it lists under ``urgent.topics``, taken from the
    ``urgent_topics`` library, plus any ``urgent.patterns`` of its own."""
    spec = r.get(("urgent",), dict) or {}
    library = r.get(("urgent_topics",), dict, required=False) or {}
    topics = spec.get("topics") or []
    if not isinstance(topics, list):
        r.problem(("urgent", "topics"), "expected a list of urgent kinds from urgent_topics")
        topics = []
    patterns: list[str] = []
    for i, topic in enumerate(topics):
        if topic not in library:
            r.problem(
                ("urgent", "topics", str(i)),
                f"unknown urgent kind {topic!r}; use one of {', '.join(library)}",
            )
            continue
        patterns.extend(library[topic] or [])
    patterns.extend(spec.get("patterns") or [])
    if (topics or spec.get("patterns")) and not spec.get("basis"):
        r.problem(("urgent", "basis"), "missing: name the article that makes these matters urgent")
    rule = r.rule_from({**spec, "patterns": patterns}, ("urgent",), "urgent")
    return PatternRule(
        code=rule.code, patterns=rule.patterns, basis=rule.basis, unless=rule.unless, topics=tuple(topics)
    )


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
        target_spec = lines_spec.get(target) or {}
        target_at = ("emergency", "lines", target)
        kind = target_spec.get("kind", "emergency")
        if kind not in LINE_KINDS:
            r.problem((*target_at, "kind"), f"expected one of {', '.join(LINE_KINDS)}, got {kind!r}")
        # a line named by digits is its own number; a utility line is dialled only when the pack says how
        dial = str(target_spec.get("dial") or (target if target.isdigit() else ""))
        guidance = target_spec.get("guidance")
        if not dial and not guidance and str(number) == target:
            r.problem(target_at, "a line without a dial number needs guidance: how the citizen reaches it")
        emergency_lines.append(
            EmergencyLine(
                number=target,
                name=str(target_spec.get("name", "")),
                dial=dial,
                rule=r.rule(at, target),
                matched=str(number),
                guidance=str(guidance) if guidance else None,
                utility=kind == "utility",
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
        at = ("holidays", str(year))
        if not str(year).isdigit():
            r.problem(at, f"expected a year such as 2027, got {year!r}")
            continue
        if not isinstance(spec, dict):
            r.problem(at, "expected off: [...] and work: [...]")
            continue
        days: dict[str, tuple[str, ...]] = {}
        for kind in ("off", "work"):
            items = spec.get(kind) or []
            if not isinstance(items, list):
                r.problem((*at, kind), "expected a list of dates like 2027-01-01")
                continue
            good = []
            for i, item in enumerate(items):
                try:
                    good.append(date.fromisoformat(str(item)).isoformat())
                except ValueError:
                    r.problem((*at, kind, str(i)), f"not a date: {item!r}")
            days[kind] = tuple(good)
        holidays[int(year)] = days

    policy = Policy(
        name=r.get(("name",), str) or path.stem,
        title=r.get(("title",), str) or "",
        regulation=str(r.get(("regulation",), (str, int)) or ""),
        jurisdiction=r.get(("jurisdiction", "name"), str) or "",
        towns=tuple(r.get(("jurisdiction", "towns"), list) or ()),
        categories=categories,
        counting=counting,
        urgent_deadline=r.deadline(("urgent", "deadline")),
        urgent_topics=_urgent_topics(r),
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
        handling=_handling(r),
        survey=_survey(r),
        hours=_hours(r),
        supervision=_supervision(r),
        knowledge=_knowledge(r),
        key_items=_key_items(r),
        file_as=_file_as(r, categories),
        facts=_facts(r, categories, tuple(r.get(("declines",), dict, required=False) or ())),
        source=path,
        raw=data,
    )
    if r.problems:
        raise PolicyError(r.problems)
    return policy
