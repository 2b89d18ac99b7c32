"""`hotline policy …`: list the policy packs and show one as readable tables."""

from __future__ import annotations

import click

from routing import policy as policies


@click.group("policy")
def policy_group() -> None:
    """List and show policy packs."""


@policy_group.command("list")
def list_command() -> None:
    """List the packs shipped with the product."""
    for name in policies.available():
        pack = policies.load(name)
        click.echo(f"{name:<12} {pack.regulation:<5} {pack.title}")


@policy_group.command("show")
@click.argument("name")
def show_command(name: str) -> None:
    """Print the rules of pack NAME (a preset or a file path)."""
    try:
        pack = policies.load(name)
    except policies.PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{pack.title} ({pack.name}, regulation {pack.regulation})")
    click.echo(f"jurisdiction: {pack.jurisdiction}; towns: {'、'.join(pack.towns)}")
    click.echo(f"\ndeadlines (counting: {pack.counting})")
    for category, spec in pack.categories.items():
        limit = f"{spec.working_days} working days" if spec.working_days else f"{spec.hours} hours"
        click.echo(f"  {category:<11} {limit:<18} {spec.basis or ''}")
    urgent = pack.urgent_deadline
    limit = f"{urgent.working_days} working days" if urgent.working_days else f"{urgent.hours} hours"
    click.echo(f"  {'urgent':<11} {limit:<18} {urgent.basis or ''}")
    click.echo("\nemergency lines")
    for line in pack.emergency_lines:
        click.echo(f"  {line.number:<6} {line.name:<8} dial {line.dial}")
    click.echo(f"  basis: {pack.emergency_basis or '-'}")
    click.echo("\nredirects")
    for rule in pack.redirects:
        click.echo(f"  {rule.code:<14} {rule.basis or '':<16} {rule.reply[:40] if rule.reply else ''}…")
    click.echo("\ndeclines")
    for rule in pack.declines:
        click.echo(f"  {rule.code:<20} {rule.basis or '':<16} {rule.reply[:40] if rule.reply else ''}…")
