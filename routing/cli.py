"""`hotline policy …`: list the policy packs and show one as readable tables."""

from __future__ import annotations

import unicodedata
from datetime import time
from pathlib import Path

import click

from routing import policy as policies
from routing.workdays import CHINESECALENDAR, WorkdayCalendar

CORPUS = Path(__file__).parents[1] / "tests" / "data" / "corpus"  # in a checkout of the project


@click.command("train")
@click.option(
    "--corpus", "paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A labelled JSON Lines file (repeatable); default: the project's tests/data/corpus/train_*.jsonl.",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Where to write the weights; default: the model shipped in the package.",
)  # fmt: skip
def train_command(paths: tuple[Path, ...], out: Path | None) -> None:
    """Train the category model (scikit-learn) and save it as plain arrays."""
    import time

    from intake.core.text import normalize
    from kb.encoders import get_encoder
    from routing import classifier

    files = list(paths) or sorted(CORPUS.glob("train_*.jsonl"))
    if not files:
        raise click.ClickException("no labelled files: give --corpus FILE")
    examples = classifier.read_labelled(files)
    started = time.monotonic()
    model = classifier.train(examples, get_encoder(None), lambda text: normalize(text).match)
    target = out or classifier.SHIPPED
    model.save(target)
    click.echo(
        f"trained on {len(examples)} messages from {len(files)} files in {time.monotonic() - started:.1f} s; "
        f"classes {', '.join(model.classes)}; written to {target}"
    )


@click.group("policy")
def policy_group() -> None:
    """List and show policy packs."""


@policy_group.command("list")
def list_command() -> None:
    """List the packs shipped with the product."""
    for name in policies.available():
        pack = policies.load(name)
        click.echo(f"{name:<12} {pack.regulation:<5} {pack.title}")


def _load(name: str) -> policies.Policy:
    """Pack NAME, or a click error listing every problem in it (file:line: field: problem)."""
    try:
        return policies.load(name)
    except policies.PolicyError as exc:
        raise click.ClickException(str(exc)) from None


@policy_group.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """Print the rules of pack NAME (a preset or a file path)."""
    pack = _load(name)
    click.echo(f"{pack.title} ({pack.name}, regulation {pack.regulation})")
    click.echo(f"jurisdiction: {pack.jurisdiction}; towns: {'、'.join(pack.towns)}")
    click.echo(f"\ndeadlines (counting: {pack.counting})")
    for category, spec in pack.categories.items():
        click.echo(f"  {category:<11} {_deadline(spec):<22} {spec.basis or ''}")
    click.echo(f"  {'urgent':<11} {_deadline(pack.urgent_deadline):<22} {pack.urgent_deadline.basis or ''}")
    _show_filed_as(pack)
    _show_lines(pack)
    click.echo("\nredirects")
    for rule in pack.redirects:
        click.echo(f"  {rule.code:<14} {rule.basis or '':<16} {rule.reply[:40] if rule.reply else ''}…")
    click.echo("\ndeclines")
    for rule in pack.declines:
        click.echo(f"  {rule.code:<20} {rule.basis or '':<16} {rule.reply[:40] if rule.reply else ''}…")
    _show_facts(pack)
    _show_holidays(pack)
    _show_handling(pack)
    _show_key_items(pack)
    _show_survey(pack)
    _show_hours(pack)
    _show_supervision(pack)
    _show_knowledge(pack)


@policy_group.command("check")
@click.argument("name")
def check_command(name: str) -> None:
    """List what a deployment of pack NAME still has to set before going live (exit 1 if anything)."""
    pack = _load(name)
    todo = pack.to_set()
    if not todo:
        click.echo(
            f"{pack.title} ({pack.name}): nothing left to set; the regulation's numbers are all in the pack"
        )
        return
    click.echo(f"{pack.title} ({pack.name}): {len(todo)} setting(s) the regulation leaves to the deployment")
    for at, what, basis in todo:
        click.echo(f"  {_pad(at, 34)} {_pad(what, 60)} {basis or ''}".rstrip())
    where = f"a pack of its own with base: {pack.name}" if name in policies.available() else "this pack"
    click.echo(f"the deployment sets them in {where}, then checks again")
    raise SystemExit(1)


NOT_SET = "-"  # the regulation says nothing about this


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(width - used, 0)


def _row(label: str, value: str, basis: str | None) -> None:
    click.echo(f"  {_pad(label, 20)} {_pad(value, 46)} {basis or ''}".rstrip())


def _limit(limit: policies.Limit | None) -> str:
    return limit.describe() if limit else NOT_SET


def _deadline(spec: policies.Deadline) -> str:
    if spec.unset:
        return "set by the deployment"
    return f"{spec.working_days} working days" if spec.working_days else f"{spec.hours} hours"


def _cut(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width] + "…"


def _show_filed_as(pack: policies.Policy) -> None:
    click.echo("\nfiled as another category")
    if not pack.file_as:
        click.echo(f"  {NOT_SET}")
        return
    for kind, rule in pack.file_as.items():
        target = pack.categories[rule.category]
        _row(kind, f"as {rule.category} ({_deadline(target)})", rule.basis)
        if rule.reply:
            _row("", f"reply: {_cut(rule.reply)}", None)


def _reach(line: policies.EmergencyLine) -> str:
    """How the citizen reaches ``line``: its number, and the guidance the reply gives."""
    # A utility line may have no number the pack knows (it differs by city and company): the reply
    # then tells the citizen where to find it, so the guidance is what matters here.
    reach = f"dial {line.dial}" if line.dial else "no number"
    return f"{reach} — guidance: {_cut(line.guidance)}" if line.guidance else reach


def _show_lines(pack: policies.Policy) -> None:
    emergency = [line for line in pack.emergency_lines if not line.utility]
    utility = [line for line in pack.emergency_lines if line.utility]
    click.echo("\nemergency lines")
    for line in emergency:
        if line.matched and line.matched != line.number:  # a line the regulation does not name
            click.echo(f"  {line.matched:<6} → {line.number} {line.name} (not named: falls back)")
        else:
            click.echo(f"  {line.number:<6} {_pad(line.name, 14)} {_reach(line)}")
    click.echo(f"  basis: {pack.emergency_basis or NOT_SET}")
    click.echo("\nutility lines (公共事业服务热线)")
    if not utility:
        click.echo(f"  {NOT_SET}  not put through: water, power, gas and heating matters become tickets")
        return
    for line in utility:
        if line.matched and line.matched != line.number:
            click.echo(f"  {line.matched:<8} → {line.number} {line.name} (not named: falls back)")
        else:
            click.echo(f"  {line.number:<8} {_pad(line.name, 14)} {_reach(line)}")
    click.echo(f"  basis: {pack.emergency_basis or NOT_SET}")


def _show_holidays(pack: policies.Policy) -> None:
    click.echo("\nholidays (the pack's own days over the calendar libraries)")
    if not pack.holidays:
        click.echo(f"  {NOT_SET}  chinesecalendar, then holidays' statutory days, decide every year")
        return
    calendar = WorkdayCalendar(pack.holidays)
    for year, days in sorted(pack.holidays.items()):
        source = calendar.source_for(year)
        note = (
            " (chinesecalendar covers this year: the pack's days are not used)"
            if source == CHINESECALENDAR
            else ""
        )
        click.echo(f"  {year}: counted by {source}{note}")
        click.echo(f"    off:  {', '.join(days.get('off', ())) or NOT_SET}")
        click.echo(f"    work: {', '.join(days.get('work', ())) or NOT_SET}")


def _show_key_items(pack: policies.Policy) -> None:
    click.echo("\nkey items (重点事项)")
    rule = pack.key_items
    if rule.reporters is None:
        _row("same-day reporters", NOT_SET, None)
        return
    _row("same-day reporters", f"{rule.reporters} different citizens, one incident, one day", rule.basis)
    _row("", "reports linked; each ticket flagged key_item", None)


def _show_handling(pack: policies.Policy) -> None:
    click.echo("\nhandling (承办单位)")
    h = pack.handling
    for label, limit in (
        ("sign within", h.sign_within),
        ("urgent sign within", h.urgent_sign_within),
        ("return within", h.return_within),
        ("urgent return within", h.urgent_return_within),
    ):
        _row(label, _limit(limit), limit.basis if limit else None)
    if h.return_within or h.urgent_return_within:
        opens = "counted from the dispatch" if h.return_from == "dispatch" else "counted from signing"
        _row("", opens, None)
    if h.unreachable:
        _row(
            "unreachable citizen",
            f"vain calls on {h.unreachable.days} days count as replied",
            h.unreachable.basis,
        )
    ext = h.extension
    if ext is None:
        _row("extension", NOT_SET, None)
        return
    if ext.max_working_days is not None:
        length = f"at most {ext.max_working_days} working days"
    else:
        length = f"at most {ext.max_multiple} × the original limit"
    count = f"{ext.max_count} times" if ext.max_count else "no count set"
    when = (
        f"ask {ext.ask_working_days_before_expiry} working days before expiry"
        if ext.ask_working_days_before_expiry
        else "ask before expiry"
    )
    _row("extension", f"{length}; {count}", ext.basis)
    _row("", when + ("; not for urgent tickets" if ext.excludes_urgent else ""), None)
    told = "the citizen is told the new date" if ext.tell_citizen else "the citizen is not told"
    _row("", told, ext.tell_citizen)


def _show_survey(pack: policies.Policy) -> None:
    click.echo("\nsurvey (满意度)")
    sv = pack.survey
    _row("ratings", " / ".join(sv.ratings.values) if sv.ratings else NOT_SET, sv.ratings and sv.ratings.basis)
    _row("callback within", _limit(sv.callback_within), sv.callback_within and sv.callback_within.basis)
    if sv.no_reply:
        _row("no reply", f"{sv.no_reply.rating} after {sv.no_reply.after.describe()}", sv.no_reply.basis)
    else:
        _row("no reply", NOT_SET, None)
    if sv.rehandle:
        count = f"{sv.rehandle.max_count} time(s)" if sv.rehandle.max_count else "no count set"
        within = f"each within {sv.rehandle.within.describe()}" if sv.rehandle.within else "no limit set"
        _row("re-handling", f"back to the unit: {count}, {within}", sv.rehandle.basis)
    else:
        _row("re-handling", NOT_SET, None)
    follow = sv.person_follow_up
    if follow:
        nth = {1: "first", 2: "second", 3: "third"}.get(
            follow.after_unsatisfied, f"#{follow.after_unsatisfied}"
        )
        _row("person calls back", f"after the {nth} 不满意", follow.basis)
    else:
        _row("person calls back", NOT_SET, None)
    calls = sv.calls
    own = calls.basis or "(deployment default)"  # not from the regulation unless it names one
    windows = ", ".join(f"{a:%H:%M}-{'24:00' if b == time.max else f'{b:%H:%M}'}" for a, b in calls.hours)
    _row("call-back hours", windows, own)
    daily = f", at most {calls.per_day} a day" if calls.per_day else ""
    _row("call-back attempts", f"{calls.attempts}{daily}, {calls.retry_after.describe()} apart", own)
    _row("call after SMS", f"unanswered for {calls.after_sms.describe()}", own)
    gone = calls.unreachable
    if gone:
        counts = "replied (视为已答复)" if gone.counts_as == "replied" else gone.counts_as
        _row("unreachable", f"{gone.days} days unanswered count as {counts}", gone.basis)
    else:
        _row("unreachable", NOT_SET, None)


def _show_hours(pack: policies.Policy) -> None:
    click.echo("\nhours")
    hours = pack.hours
    if hours.always_staffed is None:
        _row("staffed", NOT_SET, None)
        return
    if hours.always_staffed:
        staffed = "7 × 24 h"
    elif hours.staffed:
        staffed = ", ".join(
            f"{a:%H:%M}-{'24:00' if b == time.max else f'{b:%H:%M}'}" for a, b in hours.staffed
        )
    else:
        staffed = "hours not given (set staffed: in the pack)"
    _row("staffed", staffed, hours.basis)
    if not hours.always_staffed:
        _row("off hours", hours.off_hours or NOT_SET, hours.basis)


def _show_supervision(pack: policies.Policy) -> None:
    click.echo("\nsupervision")
    if not pack.supervision.cards:
        _row("cards", NOT_SET, None)
        return
    for card in pack.supervision.cards:
        rules = []
        if card.unsigned_after:
            rules.append(f"not signed after {card.unsigned_after.describe()}")
        if card.unreplied_after:
            rules.append(f"not replied after {card.unreplied_after.describe()}")
        if not rules:
            rules.append("on time" if card.colour == "green" else "no thresholds set")
        _row(f"{card.colour} card", rules[0], card.basis)
        for rule in rules[1:]:
            _row("", f"or {rule}", None)


def _show_facts(pack: policies.Policy) -> None:
    """The facts a ticket must hold by category, what refusing them leads to, and who may know the caller."""
    facts = pack.facts
    click.echo("\nfacts asked for when the message lacks them")
    if not facts.required:
        _row("(none)", "the regulation names no facts a ticket must hold", None)
    for category, needed in facts.required.items():
        _row(category, ", ".join(needed), facts.basis)
    refused = f"declined as {facts.decline} ({', '.join(facts.decline_for)})" if facts.decline else None
    _row("refused", refused or "filed without it", facts.basis if facts.decline else None)
    to_unit = {
        "ask": "only with the citizen's permission (asked)",
        "on_request": "shown unless the citizen asks for confidentiality",
    }.get(facts.contact_to_unit, facts.contact_to_unit)
    _row("contact to the unit", to_unit, facts.contact_basis)


def _show_knowledge(pack: policies.Policy) -> None:
    click.echo("\nknowledge")
    limit = pack.knowledge.question_within
    _row("unit answers within", limit.describe() if limit else NOT_SET, pack.knowledge.basis)
