"""`hotline user token` and `hotline user revoke-tokens`: API tokens that act as a staff user."""

from __future__ import annotations

from sqlalchemy import select

from intake.core.staff import StaffUser
from intake.core.staff_tokens import PREFIX, StaffToken, user_for_token

PASSWORD = "correct horse battery"


def add(cli, username: str, *args: str) -> None:
    result = cli("user", "add", username, *args, "--password-stdin", input=PASSWORD)
    assert result.exit_code == 0, result.output


def test_a_token_is_printed_once_and_acts_as_its_user(cli, hotline):
    add(cli, "Li.Editor", "--role", "unit_editor", "--unit", "rsj")
    result = cli("user", "token", "li.editor", "--label", "社保局同步系统")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()  # the token alone on standard output, for scripts
    assert token.startswith(PREFIX) and len(token) > 40
    assert "shown only now" in result.stderr and "revoke-tokens li.editor" in result.stderr
    with hotline.db.session() as session:
        user = user_for_token(session, token, hotline.clock())
        assert (user.username, user.role, user.unit_code) == ("li.editor", "unit_editor", "rsj")
        row = session.scalar(select(StaffToken))
        assert row.label == "社保局同步系统"
        assert token not in row.token_hash  # only a digest is kept


def test_revoking_removes_every_token_of_the_user_and_no_one_elses(cli, hotline):
    add(cli, "li", "--role", "unit_editor", "--unit", "rsj")
    add(cli, "wang", "--role", "admin")
    first, second = (cli("user", "token", "li").stdout.strip() for _ in range(2))
    other = cli("user", "token", "wang").stdout.strip()
    result = cli("user", "revoke-tokens", "LI")
    assert result.exit_code == 0 and "revoked 2 token(s) of li" in result.output
    with hotline.db.session() as session:
        assert user_for_token(session, first, hotline.clock()) is None
        assert user_for_token(session, second, hotline.clock()) is None
        assert user_for_token(session, other, hotline.clock()).username == "wang"
    assert "revoked 0 token(s) of li" in cli("user", "revoke-tokens", "li").output


def test_tokens_are_refused_for_unknown_or_deactivated_users_and_overlong_labels(cli, hotline):
    unknown = cli("user", "token", "nobody")
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output
    assert "no user 'nobody'" in cli("user", "revoke-tokens", "nobody").output
    add(cli, "zhao", "--role", "office")
    with hotline.db.session() as session:
        session.scalar(select(StaffUser).where(StaffUser.username == "zhao")).active = False
        session.commit()
    gone = cli("user", "token", "zhao")
    assert gone.exit_code == 1 and "deactivated" in gone.output
    add(cli, "qian", "--role", "office")
    long_label = cli("user", "token", "qian", "--label", "x" * 201)
    assert long_label.exit_code == 1 and "longer than 200" in long_label.output
    with hotline.db.session() as session:
        assert session.scalar(select(StaffToken)) is None
