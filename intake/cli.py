"""`hotline triage`, `hotline db upgrade` and `hotline demo`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from intake.demo import demo_county, load_demo
from intake.evaluation import evaluate, format_report, load_cases, relabeller
from intake.stats import compute


def _dump(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


@click.command("triage")
@click.argument("text", required=False)
@click.option(
    "--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), help='Lines of {"id", "text"}; - for stdin.'
)
@click.pass_obj
def triage_command(hotline_factory, text: str | None, jsonl) -> None:
    """Print what the hotline would do with TEXT, as one JSON object. Stores nothing."""
    if (text is None) == (jsonl is None):
        raise click.UsageError("give TEXT or --jsonl FILE (not both)")
    hotline = hotline_factory()
    if text is not None:
        click.echo(_dump(hotline.decide(text).to_dict()))
        return
    failed = 0
    for number, line in enumerate(jsonl, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            item, problem = None, f"not valid JSON ({exc})"
        else:
            problem = (
                None
                if isinstance(item, dict) and isinstance(item.get("text"), str)
                else ("expected an object with a text field")
            )
        if problem:
            failed += 1
            item_id = item.get("id") if isinstance(item, dict) else None
            click.echo(_dump({"id": item_id, "error": f"line {number}: {problem}"}))
            continue
        click.echo(_dump({"id": item.get("id"), **hotline.decide(item["text"]).to_dict()}))
    if failed:
        click.echo(f"{failed} line(s) could not be read", err=True)
        sys.exit(1)


@click.command("stats")
@click.option(
    "--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day, YYYY-MM-DD."
)
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def stats_command(hotline_factory, start, end, as_json: bool) -> None:
    """Count tickets by channel, disposition, category and unit; the one-time answer rate."""
    if end < start:
        raise click.UsageError("--to is before --from")
    hotline = hotline_factory()
    with hotline.db.session() as session:
        deadlines = hotline.lifecycle.deadlines
        stats = compute(
            session, start.date(), end.date(), hotline.settings.timezone, now=hotline.clock(),
            due_end=deadlines.due_end,
        )  # fmt: skip
    if as_json:
        click.echo(_dump(stats.to_dict()))
        return
    click.echo(f"tickets {stats.start} to {stats.end}: {stats.total} registered, {stats.closed} closed")
    click.echo(
        f"closed after an extension (延期办结): {stats.extended_closed}; "
        f"past due and not closed now (超期未办结): {stats.overdue_open}"
    )
    for title, counts in (
        ("channel", stats.by_channel),
        ("disposition", stats.by_disposition),
        ("category", stats.by_category),
        ("unit", stats.by_unit),
    ):
        click.echo(f"\nby {title}")
        for key, count in counts.items():
            click.echo(f"  {key:<24} {count:>6}")
    rate = "n/a" if stats.one_time_answer_rate is None else f"{stats.one_time_answer_rate:.1%}"
    click.echo(
        f"\none-time answer rate for consultations: {rate} "
        f"({stats.consultations_answered} of {stats.consultations})"
    )


@click.command("sweep")
@click.pass_obj
def sweep_command(hotline_factory) -> None:
    """Close conversations that went silent; a matter still pending is recorded as abandoned."""
    count = hotline_factory().intake.sweep()
    click.echo(f"{count} abandoned matter(s) recorded")


@click.command("evaluate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--errors", "show_errors", is_flag=True, help="List every case decided wrongly.")
@click.pass_obj
def evaluate_command(hotline_factory, path: Path, show_errors: bool) -> None:
    """Print recall and precision per class of triage on a labelled set (JSON Lines)."""
    hotline = hotline_factory()
    relabel = relabeller(hotline.policy)  # what this pack does with classes its regulation does not name
    report = evaluate(load_cases(path), hotline.decide, relabel)
    click.echo(f"{path}: {report.total} cases, policy {hotline.policy.name}\n")
    click.echo(format_report(report))
    if show_errors:
        click.echo("\nerrors (id, expected, got, text):")
        for case_id, text, expected, got in report.errors:
            click.echo(f"  {case_id:<6} {expected:<26} {got:<26} {text}")


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def upgrade_command(hotline_factory, revision: str) -> None:
    """Create or migrate the schema with Alembic. Loads no content."""
    hotline = hotline_factory()
    hotline.db.upgrade(revision)
    click.echo(f"database at revision {hotline.db.current_revision()} ({hotline.db.engine.dialect.name})")


@click.command("demo")
@click.option(
    "--policy", "pack", default=None, help="the pack whose demo county to load (default: the deployment's)"
)
@click.pass_obj
def demo_command(hotline_factory, pack: str | None) -> None:
    """Migrate the database and load a pack's demo county: units and knowledge base (safe to run again)."""
    hotline = hotline_factory()
    pack = (pack or hotline.policy.name).strip()
    try:
        county = demo_county(pack)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    hotline.db.upgrade()
    with hotline.db.session() as session:
        count, report = load_demo(session, county.pack)
        if not report.ok:
            session.rollback()
            raise click.ClickException("demo knowledge base is invalid:\n" + "\n".join(report.errors))
        session.commit()
    hotline.forget_units()
    click.echo(
        f"demo loaded ({county.pack}): {count} units; knowledge base {report.added} added, "
        f"{report.updated} updated, {report.unchanged} unchanged"
    )
    if county.pack != hotline.policy.name:
        # The pack is a setting (HOTLINE_POLICY), not something the demo may change behind the office's back.
        click.echo(
            f"note: this deployment runs the {hotline.policy.name} pack; "
            f"set HOTLINE_POLICY={county.pack} for its deadlines, lines and towns"
        )
