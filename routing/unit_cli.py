"""`hotline unit …`: the unit catalogue (import, export, list), the units' credentials, the office's
decisions, and the overdue list.

The commands call the same ``routing.lifecycle`` and ``routing.handoff`` functions as the unit API
and the worker.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from intake.core.models import Ticket, Unit
from routing import supervision
from routing.catalogue import FORMATS, FormatUnknown, export_units, file_format, import_units
from routing.cli import _pad
from routing.handoff import Handoff, UnknownUnit, issue_token, set_webhook
from routing.lifecycle import Lifecycle, TransitionRefused
from routing.models import UnitCredential
from routing.replies import InvalidInput

OFFICE_ACTOR = "office:cli"


@click.group("unit")
def unit_group() -> None:
    """Handling units: the catalogue, API tokens, webhooks, the office's decisions, overdue tickets."""


@unit_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="The file's format (default: by extension)."
)
@click.option("--replace", is_flag=True, help="Also remove the units the file does not list.")
@click.pass_obj
def import_command(hotline_factory, path: Path, fmt: str | None, replace: bool) -> None:
    """Import the unit catalogue from PATH (.yaml or .csv); a file with any bad line imports nothing.

    Units are matched by code: existing ones are updated, new ones added.
    """
    hotline = hotline_factory()
    with hotline.db.session() as session:
        report = import_units(session, path, fmt=fmt, replace=replace)
        if not report.ok:
            session.rollback()
            for line in report.errors:
                click.echo(f"{path}: {line}", err=True)
            click.echo(f"nothing imported: {len(report.errors)} problem(s)", err=True)
            raise SystemExit(1)
        session.commit()
    hotline.forget_units()  # other running workers re-read the catalogue within a minute
    click.echo(
        f"imported {path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.removed} removed"
    )


@unit_group.command("export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, writable=True))
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="The file's format (default: by extension)."
)
@click.pass_obj
def export_command(hotline_factory, path: Path, fmt: str | None) -> None:
    """Export the whole unit catalogue to PATH (.yaml or .csv), in the form import reads."""
    try:
        file_format(path, fmt)
    except FormatUnknown as exc:
        raise click.UsageError(str(exc)) from None
    hotline = hotline_factory()
    with hotline.db.session() as session:
        count = export_units(session, path, fmt)
    click.echo(f"exported {count} units to {path}")


@unit_group.command("token")
@click.argument("code")
@click.pass_obj
def token_command(hotline_factory, code: str) -> None:
    """Issue a new API token for unit CODE (the old one stops working). Shown once: keep it safe."""
    hotline = hotline_factory()
    with hotline.db.session() as session:
        try:
            token = issue_token(session, code, hotline.clock())
        except UnknownUnit:
            raise click.ClickException(f"no unit with code {code!r}") from None
        session.commit()
    click.echo(token)
    click.echo(
        f"token for {code}: send it as 'Authorization: Bearer <token>'; only its hash is kept", err=True
    )


@unit_group.command("webhook")
@click.argument("code")
@click.argument("url", required=False)
@click.option("--remove", is_flag=True, help="Stop POSTing to the unit: it reads the unit API instead.")
@click.option("--secret", help="Use this signing secret instead of a generated one.")
@click.pass_obj
def webhook_command(hotline_factory, code: str, url: str | None, remove: bool, secret: str | None) -> None:
    """Send unit CODE's notices to URL; prints the secret the unit checks signatures with."""
    if bool(url) == remove:
        raise click.UsageError("give URL or --remove")
    hotline = hotline_factory()
    with hotline.db.session() as session:
        try:
            shown = set_webhook(session, code, None if remove else url, hotline.clock(), secret=secret)
        except UnknownUnit:
            raise click.ClickException(f"no unit with code {code!r}") from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    if shown:
        click.echo(shown)
        click.echo(f"{code}: notices go to {url}, signed with the secret above", err=True)
    else:
        click.echo(f"{code}: no webhook; the unit reads its tickets from /api/v1/unit/tickets", err=True)


@unit_group.command("retry")
@click.argument("code", required=False)
@click.option("--key", help="Only the notice with this Idempotency-Key.")
@click.pass_obj
def retry_command(hotline_factory, code: str | None, key: str | None) -> None:
    """Send failed webhook notices again once a unit has fixed its webhook: all, or those for CODE."""
    hotline = hotline_factory()
    handoff = Handoff(hotline.db, hotline.clock)
    with hotline.db.session() as session:
        if code and session.scalar(select(Unit.code).where(Unit.code == code)) is None:
            raise click.ClickException(f"no unit with code {code!r}")
        count = handoff.retry_failed(session, key=key, target=code)
        session.commit()
    whose = f" for {code}" if code else ""
    click.echo(f"{count} failed notice(s){whose} queued again; the worker sends them on its next round")


@unit_group.command("list")
@click.pass_obj
def list_command(hotline_factory) -> None:
    """The unit catalogue, with whether each unit has a token and where its notices go."""
    hotline = hotline_factory()
    with hotline.db.session() as session:
        creds = {c.unit_code: c for c in session.scalars(select(UnitCredential))}
        units = list(session.scalars(select(Unit).order_by(Unit.id)))
        widths = {
            "code": max([len("code"), *(len(u.code) for u in units)]),
            "parent": max([len("parent"), *(len(u.parent_code or "") for u in units)]),
            "towns": min(max([len("towns"), *(_width("、".join(u.towns or ())) for u in units)]), 30),
            "name": max([len("name"), *(_width(u.name) for u in units)]),
        }
        click.echo(
            f"{'code':<{widths['code']}} {'name':<{widths['name']}} {'kind':<10} "
            f"{'parent':<{widths['parent']}} {'towns':<{widths['towns']}} {'phone':<16} {'token':<6} webhook"
        )
        for unit in units:
            cred = creds.get(unit.code)
            token = "token" if cred and cred.token_hash else "-"
            hook = cred.webhook_url if cred and cred.webhook_url else "-"
            towns = "、".join(unit.towns or ()) or "-"
            click.echo(
                f"{unit.code:<{widths['code']}} {_pad(unit.name, widths['name'])} {unit.kind:<10} "
                f"{unit.parent_code or '-':<{widths['parent']}} {_pad(towns, widths['towns'])} "
                f"{unit.phone or '-':<16} {token:<6} {hook}"
            )


def _width(text: str) -> int:
    """The terminal columns ``text`` takes (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@unit_group.command("overdue")
@click.option("--unit", "unit_code", help="Only this unit's tickets.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def overdue_command(hotline_factory, unit_code: str | None, as_json: bool) -> None:
    """Tickets past their sign-by or due, the longest overdue first."""
    hotline = hotline_factory()
    flow = hotline.lifecycle
    with hotline.db.session() as session:
        items = supervision.overdue(session, flow, unit=unit_code)
    for item in items:
        if as_json:
            click.echo(json.dumps(item.to_dict(), ensure_ascii=False))
        else:
            click.echo(
                f"{item.number}  {item.unit or '-':<14} {item.kind:<5} due {item.deadline}  "
                f"{item.late_working_days} working day(s) late  card {item.card or '-'}"
            )
    if not as_json:
        click.echo(f"{len(items)} overdue", err=True)


# ---------------------------------------------------------------- the office's decisions


def _decide(hotline_factory, number: str, act: Callable[[Lifecycle, Any, Ticket], Any]) -> None:
    hotline = hotline_factory()
    flow = hotline.lifecycle
    with hotline.db.session() as session:
        ticket = flow.ticket_for_update(session, number)
        if ticket is None:
            raise click.ClickException(f"no dispatched ticket {number}")
        try:
            event = act(flow, session, ticket)
        except TransitionRefused as exc:
            raise click.ClickException(exc.reason) from None
        except InvalidInput as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
        click.echo(
            f"{ticket.number}: {event.kind} → {ticket.status} (unit {ticket.unit_code}, due {ticket.due})"
        )


@unit_group.command("dispatch")
@click.argument("number")
@click.option("--to", "unit", required=True, help="The unit's code.")
@click.pass_obj
def dispatch_command(hotline_factory, number: str, unit: str) -> None:
    """Dispatch ticket NUMBER (from the office's queue, or correcting an unsigned one) to a unit."""
    _decide(hotline_factory, number, lambda f, s, t: f.dispatch(s, t, unit=unit, actor=OFFICE_ACTOR))


@unit_group.command("return")
@click.argument("number")
@click.option("--approve-to", "unit", help="Agree and re-dispatch to this unit.")
@click.option("--refuse", "reason", help="Refuse, with the reason the unit is told.")
@click.pass_obj
def return_command(hotline_factory, number: str, unit: str | None, reason: str | None) -> None:
    """Decide on a unit's request to return ticket NUMBER (002 第十一条)."""
    if bool(unit) == bool(reason):
        raise click.UsageError("give --approve-to UNIT or --refuse REASON")
    if unit:
        _decide(
            hotline_factory, number, lambda f, s, t: f.approve_return(s, t, unit=unit, actor=OFFICE_ACTOR)
        )
    else:
        _decide(
            hotline_factory, number, lambda f, s, t: f.refuse_return(s, t, reason=reason, actor=OFFICE_ACTOR)
        )


@unit_group.command("extension")
@click.argument("number")
@click.option("--approve", is_flag=True, help="Agree to the date asked for.")
@click.option("--until", help="Agree to an earlier date than asked (YYYY-MM-DD).")
@click.option("--refuse", "reason", help="Refuse, with the reason the unit is told.")
@click.pass_obj
def extension_command(
    hotline_factory, number: str, approve: bool, until: str | None, reason: str | None
) -> None:
    """Decide on a unit's request to extend ticket NUMBER (002 第十四条)."""
    if (approve or bool(until)) == bool(reason):
        raise click.UsageError("give --approve [--until DATE] or --refuse REASON")
    if reason:
        _decide(
            hotline_factory,
            number,
            lambda f, s, t: f.refuse_extension(s, t, reason=reason, actor=OFFICE_ACTOR),
        )
    else:
        _decide(
            hotline_factory,
            number,
            lambda f, s, t: f.approve_extension(s, t, until=until, actor=OFFICE_ACTOR),
        )


@unit_group.command("review")
@click.argument("number")
@click.option("--approve", is_flag=True, help="The reply meets the requirements.")
@click.option("--refuse", "note", help="Send the reply back to the unit, with the reason.")
@click.pass_obj
def review_command(hotline_factory, number: str, approve: bool, note: str | None) -> None:
    """Review a unit's reply to ticket NUMBER (002 第十六条)."""
    if approve == bool(note):
        raise click.UsageError("give --approve or --refuse NOTE")
    _decide(
        hotline_factory,
        number,
        lambda f, s, t: f.review(s, t, approved=approve, note=note, actor=OFFICE_ACTOR),
    )
