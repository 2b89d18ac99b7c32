"""Acceptance rules read from a policy pack: emergencies, redirects, declines, category and urgency.

Each function takes the normalised text and the pack and returns a small decision, or ``None`` when
the rule does not apply; the pipeline turns decisions into outcomes. No rule is written here: every
pattern and article comes from the pack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from routing.emergency import SemanticEmergency
from routing.policy import EmergencyLine, PatternRule, Policy


@dataclass(frozen=True)
class EmergencyDecision:
    primary: str
    lines: tuple[str, ...]
    names: tuple[str, ...]
    basis: str | None
    found: tuple[EmergencyLine, ...] = ()  # the pack's lines, in the order of ``lines``

    @property
    def primary_line(self) -> EmergencyLine | None:
        return self.found[0] if self.found else None


@dataclass(frozen=True)
class RuleDecision:
    code: str
    reply: str
    basis: str | None


def detect_emergency(
    text: str, policy: Policy, semantic: SemanticEmergency | None = None
) -> EmergencyDecision | None:
    """Return the lines to transfer to when ``text`` describes a danger to life or property now.

    Every line of the pack is scored: one point when its patterns match, and half a point for the line
    the exemplars lean to (``routing.emergency``). Patterns, or exemplars that are sure on their own,
    raise the alarm; leaning exemplars only choose between lines whose patterns match. The primary line
    has the highest score; on a tie, the line listed first in the pack's ``emergency.lines`` wins (110
    before 119 before 122 before 120: a fight that drew blood is a police matter, a crash with injuries
    a traffic one; utility lines last). A routine question about the topic (the pack's guard) silences
    every line unless something says it is happening now; a question that reads nearer the routine
    exemplars silences the emergency lines only, since those exemplars are everyday questions (about
    outages too). A statement a pattern matched is never silenced by nearness alone.
    """
    order: dict[str, int] = {}
    by_number: dict[str, EmergencyLine] = {}
    for line in policy.emergency_lines:
        order.setdefault(line.number, len(order))
        by_number.setdefault(line.number, line)
    names = {line.number: line.name for line in policy.emergency_lines}
    scores: dict[str, float] = {}
    for line in policy.emergency_lines:
        if line.rule.matches(text):
            scores[line.number] = 1.0
    guarded = any(p.search(text) for p in policy.emergency_guard)
    reads_routine = False
    if semantic is not None:
        nearest = semantic.nearest(text)
        # A pattern hit on a message that reads like an everyday question is a routine question, but
        # only when it asks something: a statement of what is burning or bleeding right now is not
        # silenced because it happens to sit near a routine exemplar about certificates or fees.
        reads_routine = bool(scores) and semantic.reads_routine(nearest) and is_question(text, policy)
        sure = semantic.judge(nearest) is not None  # raises the alarm, or adds a line, on its own
        line = semantic.vote(nearest)  # leaning: it only chooses between lines the patterns found
        target = line and (line if line in names else _fallback(policy, line))
        if target and (sure or target in scores):
            scores[target] = scores.get(target, 0.0) + SEMANTIC_VOTE
    if not scores or any(p.search(text) for p in policy.emergency_cues):
        pass  # nothing found, or it is happening now: no veto
    elif guarded:
        return None
    elif reads_routine:
        scores = {n: score for n, score in scores.items() if by_number[n].utility}
    if not scores:
        return None
    numbers = tuple(sorted(scores, key=lambda n: (-scores[n], order[n])))
    return EmergencyDecision(
        primary=numbers[0],
        lines=numbers,
        names=tuple(names[n] for n in numbers),
        basis=policy.emergency_basis,
        found=tuple(by_number[n] for n in numbers),
    )


SEMANTIC_VOTE = 0.5  # the exemplars' vote counts less than a pattern: it breaks ties, it does not overrule


def _fallback(policy: Policy, line: str) -> str | None:
    """The enabled line that takes calls for ``line`` under this pack (96333 → 119 where not enabled)."""
    return next((item.number for item in policy.emergency_lines if item.matched == line), None)


def _first(rules: tuple[PatternRule, ...], text: str) -> RuleDecision | None:
    for rule in rules:
        if rule.matches(text):
            return RuleDecision(code=rule.code, reply=rule.reply or "", basis=rule.basis)
    return None


def has_content(text: str) -> bool:
    """Whether ``text`` holds any letter, digit or Chinese character at all."""
    return any(ch.isalnum() for ch in text)


# A place name: a town, village, street or estate. What is left once they are taken out is the matter.
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,6}?(镇|乡|村|屯|组|寨|街道|街|路|巷|小区|社区)")
_CJK = re.compile(r"[\u4e00-\u9fffa-z0-9]")
MIN_MATTER_CHARS = 3
SHORT_TOPIC = 8


def describes_a_matter(text: str, policy: Policy) -> bool:
    """Whether ``text`` says what happened, not only where (a bare place name cannot be dispatched)."""
    rest = text
    for town in policy.towns:
        rest = rest.replace(town, "")
    rest = _PLACE.sub("", rest)
    return len(_CJK.findall(rest)) >= MIN_MATTER_CHARS


def _says_more(rule: PatternRule, text: str, policy: Policy) -> bool:
    """Whether ``text`` still describes a matter once ``rule``'s matches and filler are taken out."""
    rest = text
    for pattern in (*rule.patterns, *(rule.alone or ())):
        rest = pattern.sub("", rest)
    return describes_a_matter(rest, policy)


def _enabled(policy: Policy, code: str) -> PatternRule | None:
    return next((r for r in policy.declines if r.code == code), None)


def detect_decline(text: str, policy: Policy) -> RuleDecision | None:
    """Return the decline that applies to ``text`` on its own (no history needed), if any."""
    if not has_content(text) and (rule := _enabled(policy, "no_content")):
        return RuleDecision(code="no_content", reply=rule.reply or "", basis=rule.basis)
    for rule in policy.declines:
        if rule.matches(text) and not (rule.alone is not None and _says_more(rule, text, policy)):
            return RuleDecision(code=rule.code, reply=rule.reply or "", basis=rule.basis)
    if not describes_a_matter(text, policy) and (rule := _enabled(policy, "incomplete")):
        return RuleDecision(code="incomplete", reply=rule.reply or "", basis=rule.basis)
    return None


def detect_redirect(text: str, policy: Policy) -> RuleDecision | None:
    """Return where to send the citizen when the matter belongs to another authority or procedure."""
    return _first(policy.redirects, text)


def classify(text: str, policy: Policy, learned: Callable[[str], str] | None = None) -> str:
    """The category of the matter: the first pack rule that matches; else the learned model's
    (``routing.classifier``) when there is one; else consult if it reads like a question, or help."""
    for rule in policy.classify:
        if rule.matches(text):
            return rule.code
    if learned is not None:
        return learned(text)
    # a bare topic ("公积金提取") is someone asking about it
    return "consult" if is_question(text, policy) or len(text) <= SHORT_TOPIC else "help"


def is_question(text: str, policy: Policy) -> bool:
    return any(p.search(text) for p in policy.question_cues)


def is_urgent(text: str, policy: Policy) -> bool:
    """Whether the matter is one the pack handles as urgent (突发): outages, disasters, night noise…"""
    return policy.urgent_topics.matches(text)


def mentions_place(text: str, policy: Policy) -> bool:
    """Whether the text says where the matter is (a town of the jurisdiction or an address word)."""
    return any(t in text for t in policy.towns) or any(p.search(text) for p in policy.location_cues)


def asks_for_ticket_number(text: str, policy: Policy) -> bool:
    """Whether the citizen asks for the number of the record of this conversation."""
    return any(p.search(text) for p in policy.ticket_request_cues)


# 001 第二十四条, 002 第三十三条, 003 第二十一条, 004 第十一条: a citizen may ask that who they are be kept
# from the handling unit. The packs have no field for these phrases yet, so they live here.
_CONFIDENTIAL = re.compile(
    r"(为我|替我|帮我|给我|请|要求|希望|需要|务必)(对我的?(信息|身份|姓名|名字|电话|号码|个人信息))?\s*保密"
    r"|(信息|身份|姓名|名字|电话|号码|个人信息)(要|请|需要|务必)?\s*保密|保密处理"
    r"|匿名"
    r"|(不要|别|不想|不希望|不能|请勿|勿)(向\w{0,6})?(透露|泄露|公开|告诉|说出|暴露)\w{0,6}?"
    r"(我的?|本人的?)(信息|身份|姓名|名字|电话|号码|手机|住址|地址|个人信息)"
    r"|(不要|别|不想|不希望)让?(他|她|他们|对方|单位|商家|老板|邻居|人家)\w{0,4}知道(是我|我的)"
)
_NOT_CONFIDENTIAL = re.compile(r"(不用|不需要|无需|不必|没必要)(为我|替我|帮我)?\s*保密|可以公开")


def wants_confidentiality(text: str, policy: Policy) -> bool:
    """Whether the citizen asks that their identity be kept from the unit (请为我保密, 匿名, …).

    ``policy`` is taken so a pack can carry its own phrases once the format has a field for them.
    """
    if _NOT_CONFIDENTIAL.search(text):
        return False
    return bool(_CONFIDENTIAL.search(text))
