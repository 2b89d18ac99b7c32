"""The Flask application factory and the `hotline` command line, wired together; nothing else."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from flask import Flask

from channels.worker import worker_command
from intake.cli import (
    db_group,
    demo_command,
    evaluate_command,
    stats_command,
    sweep_command,
    triage_command,
)
from intake.core.config import ConfigError, Settings
from intake.core.privacy import install_log_masking
from intake.hotline import Hotline
from intake.staff_cli import user_group
from kb.cli import kb_group
from routing.cli import policy_group, train_command
from routing.policy import PolicyError
from routing.unit_cli import unit_group

MAX_BODY = 256 * 1024  # bytes; a bigger request is refused with 413 before it is read


OUR_LOGGERS = ("app", "channels", "intake", "kb", "routing")
CHATTY = ("bm25s", "faiss")  # set their own loggers to DEBUG / INFO at import


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr with phone and ID numbers masked. Our own modules log at INFO; the libraries'
    INFO and DEBUG lines (faiss, bm25s, alembic, waitress) only with ``--verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    install_log_masking()


def build_hotline(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> Hotline:
    """Build the deployment from the environment, turning a bad setting into a ``ConfigError``."""
    settings = settings or Settings.from_env()
    try:
        return Hotline(settings, clock=clock)
    except PolicyError as exc:
        raise ConfigError("HOTLINE_POLICY", str(exc).replace("\n", "; ")) from None


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the web app; ``test_config`` may carry a ready ``hotline`` and Flask settings."""
    test_config = dict(test_config or {})
    hotline = test_config.pop("hotline", None) or build_hotline()
    app = Flask(__name__, instance_path=str(hotline.settings.instance_path), static_folder=None)
    app.config.from_mapping(SECRET_KEY=hotline.settings.ensure_secret_key(), MAX_CONTENT_LENGTH=MAX_BODY)
    app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hotline"] = hotline

    from channels import (
        api,
        errors,
        kb_public,
        security,
        sms,
        survey_calls,
        survey_page,
        voice,
        webchat,
        wechat,
    )
    from channels.machine import kb as kb_api
    from channels.machine import units as unit_api
    from channels.staff import auth, editor, office
    from channels.staff import queue as office_queue
    from channels.staff import ticket as office_ticket
    from channels.staff import tools as editor_tools

    security.install(app, hotline.settings)
    errors.install(app)

    app.register_blueprint(api.bp)
    app.register_blueprint(webchat.bp)
    app.register_blueprint(kb_public.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(wechat.bp)
    app.register_blueprint(unit_api.bp)
    app.register_blueprint(survey_page.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(office.bp)
    app.register_blueprint(office_queue.bp)
    app.register_blueprint(office_ticket.bp)
    app.register_blueprint(survey_calls.bp)
    app.register_blueprint(editor.bp)
    app.register_blueprint(editor_tools.bp)
    app.register_blueprint(kb_api.bp)
    return app


# ---------------------------------------------------------------- the command line


class LazyHotline:
    """Builds the deployment the first time a command needs it, so `--help` works without a database.

    ``clock`` is the deployment's clock (the real one unless a caller, such as a test, passes its own).
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._hotline: Hotline | None = None
        self._clock = clock

    def __call__(self) -> Hotline:
        if self._hotline is None:
            try:
                self._hotline = build_hotline(clock=self._clock)
            except ConfigError as exc:
                click.echo(f"hotline: {exc}", err=True)
                sys.exit(2)
        return self._hotline

    def close(self) -> None:
        if self._hotline is not None:
            self._hotline.db.dispose()
            self._hotline = None


@click.group()
@click.option("--verbose", is_flag=True, help="Also print the libraries' INFO and DEBUG lines.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """The 12345 hotline front end."""
    configure_logging(verbose)
    if not isinstance(ctx.obj, LazyHotline):  # a caller may hand in its own (a test with its clock)
        ctx.obj = LazyHotline()
    ctx.call_on_close(ctx.obj.close)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.pass_obj
def serve(hotline_factory: LazyHotline, host: str, port: int, threads: int) -> None:
    """Serve the web app with waitress (a production WSGI server)."""
    import waitress
    from alembic.script import ScriptDirectory

    hotline = hotline_factory()
    head = ScriptDirectory.from_config(hotline.db.alembic_config()).get_current_head()
    if hotline.db.current_revision() != head:
        click.echo("hotline: the database schema is not up to date; run `hotline db upgrade` first", err=True)
        sys.exit(2)
    hotline.warm_up()
    app = create_app({"hotline": hotline})
    click.echo(f"serving {hotline.policy.title} on http://{host}:{port}")
    waitress.serve(app, host=host, port=port, threads=threads, ident="hotline")


COMMANDS = (triage_command, db_group, demo_command, kb_group, policy_group, stats_command, sweep_command)
for command in (*COMMANDS, evaluate_command, train_command, worker_command, unit_group, user_group):
    main.add_command(command)


if __name__ == "__main__":
    main()
