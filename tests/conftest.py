"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when HOTLINE_DATABASE_URL points
at one), a hotline with a fixed clock, the Flask app and client, and a CLI runner.

The schema is migrated once per run with Alembic, exactly as `hotline db upgrade` does; every test
starts from empty tables.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from app import LazyHotline, create_app, main
from intake.core.config import Settings
from intake.core.db import Base, Database
from intake.demo import load_demo
from intake.hotline import Hotline

TZ = ZoneInfo("Asia/Shanghai")
# A Monday morning; 2026-11-23 is a normal working day in the national calendar.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


def pytest_report_header(config):
    return f"database: {os.environ.get('HOTLINE_DATABASE_URL') or 'sqlite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("HOTLINE_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    db = Database(url)
    # Start from nothing, then migrate as production does.
    with db.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.upgrade()
    db.dispose()
    return url


@pytest.fixture(autouse=True)
def _dispose_databases(monkeypatch):
    """Close every database pool a test opened, however it built its hotline: a PostgreSQL connection
    left to the garbage collector is a ResourceWarning, which this suite treats as an error."""
    opened: list[Database] = []
    original = Database.__init__

    def recording_init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Database, "__init__", recording_init)
    yield
    for db in opened:
        db.dispose()


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings.from_env(
        {"HOTLINE_DATABASE_URL": database_url, "HOTLINE_INSTANCE_PATH": str(tmp_path / "instance")}
    )


def _empty_tables(db: Database) -> None:
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def make_hotline(database_url: str, instance: Path, clock, *, policy: str | None = None, demo: bool = False):
    """A hotline on the test database, tables emptied, optionally with the demo county loaded."""
    env = {"HOTLINE_DATABASE_URL": database_url, "HOTLINE_INSTANCE_PATH": str(instance)}
    if policy:
        env["HOTLINE_POLICY"] = policy
    hotline = Hotline(Settings.from_env(env), clock=clock)
    _empty_tables(hotline.db)
    if demo:
        load_demo_into(hotline)
    return hotline


def load_demo_into(hotline: Hotline) -> None:
    with hotline.db.session() as session:
        _, report = load_demo(session)
        assert report.ok, report.errors
        session.commit()
    hotline.forget_units()


@pytest.fixture
def hotline(settings, clock):
    hotline = make_hotline(settings.database_url, settings.instance_path, clock)
    yield hotline
    hotline.db.dispose()


@pytest.fixture
def demo(hotline) -> Hotline:
    """The hotline with the demo units and knowledge base loaded (the same one `cli` uses)."""
    load_demo_into(hotline)
    return hotline


@pytest.fixture
def app(demo):
    return create_app({"hotline": demo, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli(settings, monkeypatch, hotline, clock):
    """Run `hotline …` in-process with this test's database and clock; returns the click result."""
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(settings.instance_path))
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, obj=LazyHotline(clock), catch_exceptions=False)

    return run


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"
