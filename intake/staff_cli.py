"""`hotline user …`: staff accounts for the office's dashboard and the knowledge editors, and the API
tokens that let a unit's own system act as one of them."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from intake.core.permissions import ROLES
from intake.core.staff import StaffError, StaffUser, add_user, normalise_username
from intake.core.staff_tokens import issue_token, revoke_tokens

LABEL_MAX = 200  # staff_tokens.label


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


@user_group.command("token")
@click.argument("username")
@click.option("--label", default=None, help="what the token is for, e.g. the unit's sync system")
@click.pass_obj
def token_command(hotline_factory, username: str, label: str | None) -> None:
    """Issue an API token acting as USERNAME (for the knowledge API); it is shown only this once."""
    if label is not None and len(label) > LABEL_MAX:
        raise click.ClickException(f"--label is longer than {LABEL_MAX} characters")
    hotline = hotline_factory()
    with hotline.db.session() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        if not user.active:
            raise click.ClickException(f"user {user.username} is deactivated: a token would not work")
        token = issue_token(session, user.username, hotline.clock(), label=label)
        session.commit()
        role = user.role + (f" of {user.unit_code}" if user.unit_code else "")
    # the token alone on standard output, so a script can take it; the advice goes to standard error
    click.echo(token)
    click.echo(
        f"token for {user.username} ({role}), shown only now: keep it in the unit's secret store. "
        "Send it as 'Authorization: Bearer <token>'; "
        f"revoke with 'hotline user revoke-tokens {user.username}'.",
        err=True,
    )


@user_group.command("revoke-tokens")
@click.argument("username")
@click.pass_obj
def revoke_tokens_command(hotline_factory, username: str) -> None:
    """Revoke every API token of USERNAME at once (a leaked token, a unit that changed its system)."""
    hotline = hotline_factory()
    with hotline.db.session() as session:
        try:
            count = revoke_tokens(session, username)
        except StaffError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
    click.echo(f"revoked {count} token(s) of {normalise_username(username)}")
