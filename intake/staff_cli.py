"""`hotline user …`: staff accounts for the office's dashboard and the knowledge editors."""

from __future__ import annotations

import sys

import click

from intake.staff import ROLES, StaffError, add_user


@click.group("user")
def user_group() -> None:
    """Staff accounts: the administrator, the office, the units' editors and reviewers."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="what the user may do")
@click.option("--unit", "unit_code", default=None, help="the unit's code (unit_editor, unit_reviewer)")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.pass_obj
def add_command(
    hotline_factory, username: str, role: str, unit_code: str | None, password_stdin: bool
) -> None:
    """Create the user USERNAME; the password is asked twice (or read from standard input)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    hotline = hotline_factory()
    with hotline.db.session() as session:
        try:
            user = add_user(session, username, password, role, hotline.clock(), unit_code=unit_code)
        except StaffError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        click.echo(f"user {user.username} added with role {user.role}")
