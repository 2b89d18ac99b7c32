"""`hotline kb …`: import and export knowledge entries (JSON Lines or CSV)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import select

from intake.core.models import Unit
from kb.gaps import grouped_gaps
from kb.records import export_entries, import_entries


@click.group("kb")
def kb_group() -> None:
    """Import and export knowledge entries."""


@kb_group.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def import_command(hotline_factory, path: Path) -> None:
    """Import entries from PATH (.jsonl or .csv); a file with any bad row imports nothing."""
    hotline = hotline_factory()
    with hotline.db.session() as session:
        units = set(session.scalars(select(Unit.code)))
        report = import_entries(session, path, units)
        if not report.ok:
            session.rollback()
            for line in report.errors:
                click.echo(f"{path}: {line}", err=True)
            click.echo(f"nothing imported: {len(report.errors)} problem(s)", err=True)
            raise SystemExit(1)
        session.commit()
    click.echo(
        f"imported {path}: {report.added} added, {report.updated} updated, {report.unchanged} unchanged"
    )


@kb_group.command("export")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, writable=True))
@click.pass_obj
def export_command(hotline_factory, path: Path) -> None:
    """Export every entry to PATH (.jsonl or .csv)."""
    hotline = hotline_factory()
    with hotline.db.session() as session:
        count = export_entries(session, path)
    click.echo(f"exported {count} entries to {path}")


@kb_group.command("gaps")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3650), help="How far back.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.pass_obj
def gaps_command(hotline_factory, days: int, limit: int) -> None:
    """Consultations no entry answered, grouped by meaning, most-asked first."""
    hotline = hotline_factory()
    since = hotline.clock() - timedelta(days=days)
    with hotline.db.session() as session:
        groups = grouped_gaps(session, hotline.encoder, since, limit=limit)
    if not groups:
        click.echo(f"no unanswered consultations in the last {days} days")
        return
    for rank, group in enumerate(groups, 1):
        click.echo(f"{rank:>3}. ×{group.count:<4} {group.question}")
        for example in group.examples[1:]:
            click.echo(f"          {example}")
