"""Settings: sane defaults, and a bad value stops `hotline` with one line naming the variable (exit 2)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, inspect, select, table, text

from app import build_hotline
from intake.core.config import SETTINGS, ConfigError, Settings
from intake.core.db import Database

HOTLINE = Path(sys.executable).with_name("hotline")
CONTENT_TABLES = ("units", "kb_entries", "tickets")


def run_hotline(tmp_path: Path, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run the installed console script as a user would, from ``tmp_path``."""
    full_env = {**os.environ, "HOTLINE_INSTANCE_PATH": str(tmp_path), **env}
    return subprocess.run(
        [str(HOTLINE), *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


# ---------------------------------------------------------------- defaults and good values


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    instance = tmp_path.resolve() / "instance"
    assert settings.instance_path == instance
    assert settings.database_url == f"sqlite:///{instance / 'hotline.sqlite3'}"
    assert settings.is_sqlite
    assert settings.policy == "longsheng"
    assert settings.timezone == ZoneInfo("Asia/Shanghai")
    assert settings.redis_url is None
    assert settings.max_text == 2000
    assert settings.secret_key == ""


def test_sqlite_file_lives_under_the_instance_path(tmp_path):
    settings = Settings.from_env({"HOTLINE_INSTANCE_PATH": str(tmp_path / "inst")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'inst' / 'hotline.sqlite3'}"


@pytest.mark.parametrize(
    "name",
    ["HOTLINE_DATABASE_URL", "HOTLINE_POLICY", "HOTLINE_TIMEZONE", "HOTLINE_REDIS_URL", "HOTLINE_MAX_TEXT"],
)
def test_a_blank_value_means_the_default(tmp_path, name):
    base = {"HOTLINE_INSTANCE_PATH": str(tmp_path)}
    blank, default = Settings.from_env({**base, name: "   "}), Settings.from_env(base)
    assert blank == default


@pytest.mark.parametrize(
    "name, value, attribute, expected",
    [
        (
            "HOTLINE_DATABASE_URL",
            "postgresql+psycopg://u@db/h",
            "database_url",
            "postgresql+psycopg://u@db/h",
        ),
        ("HOTLINE_DATABASE_URL", "sqlite:////srv/h.sqlite3", "database_url", "sqlite:////srv/h.sqlite3"),
        ("HOTLINE_TIMEZONE", "Asia/Urumqi", "timezone", ZoneInfo("Asia/Urumqi")),
        ("HOTLINE_REDIS_URL", "redis://127.0.0.1:6379/0", "redis_url", "redis://127.0.0.1:6379/0"),
        ("HOTLINE_REDIS_URL", "rediss://cache:6380", "redis_url", "rediss://cache:6380"),
        ("HOTLINE_MAX_TEXT", " 500 ", "max_text", 500),
        ("HOTLINE_POLICY", "longsheng", "policy", "longsheng"),
        ("HOTLINE_SECRET_KEY", "s3cret", "secret_key", "s3cret"),
        ("HOTLINE_PUBLIC_URL", "https://12345.example.gov.cn/", "public_url", "https://12345.example.gov.cn"),
        ("HOTLINE_TRUST_PROXY", "1", "trust_proxy", 1),
        ("HOTLINE_RATE_LIMIT", "5/minute;100/day", "rate_limit", "5/minute;100/day"),
        (
            "HOTLINE_DIAL_NUMBERS",
            "110=+15005550006, 120=+15005550007",
            "dial_numbers",
            {"110": "+15005550006", "120": "+15005550007"},
        ),
        ("HOTLINE_RATE_LIMIT", "7/second", "rate_limit", "7/second"),
    ],
    ids=[
        "postgresql",
        "sqlite-absolute",
        "timezone",
        "redis",
        "rediss",
        "max-text",
        "policy",
        "secret",
        "public-url",
        "trust-proxy",
        "rate-limit",
        "dial-numbers",
        "rate-limit-per-second",
    ],
)
def test_good_values_are_read(tmp_path, name, value, attribute, expected):
    settings = Settings.from_env({"HOTLINE_INSTANCE_PATH": str(tmp_path), name: value})
    assert getattr(settings, attribute) == expected


def test_the_process_environment_is_read_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Asia/Urumqi")
    assert Settings.from_env().timezone == ZoneInfo("Asia/Urumqi")


def test_every_documented_setting_is_ours_or_a_platforms():
    assert all(name.startswith(("HOTLINE_", "TWILIO_", "WECHAT_")) for name in SETTINGS)
    assert all(default and meaning for default, meaning in SETTINGS.values())


def test_the_secret_key_is_kept_in_the_instance_folder(tmp_path):
    settings = Settings.from_env({"HOTLINE_INSTANCE_PATH": str(tmp_path / "inst")})
    key = settings.ensure_secret_key()
    path = tmp_path / "inst" / "secret_key"
    assert len(key) == 64 and path.read_text() == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert settings.ensure_secret_key() == key


# ---------------------------------------------------------------- bad values

# variable, value, words of the message
BAD = [
    ("HOTLINE_DATABASE_URL", "mysql://x", "only sqlite and postgresql are supported"),
    ("HOTLINE_DATABASE_URL", "not a url", "not a database URL"),
    ("HOTLINE_TIMEZONE", "Mars/Base", "unknown time zone 'Mars/Base'"),
    ("HOTLINE_TIMEZONE", "/etc/localtime", "unknown time zone"),
    ("HOTLINE_MAX_TEXT", "abc", "expected a whole number, got 'abc'"),
    ("HOTLINE_MAX_TEXT", "-1", "must be positive, got -1"),
    ("HOTLINE_MAX_TEXT", "0", "must be positive, got 0"),
    ("HOTLINE_REDIS_URL", "http://x", "expected redis://"),
    ("HOTLINE_POLICY", "nowhere", "unknown policy 'nowhere'; presets: "),
    ("HOTLINE_POLICY", "/nonexistent/pack.yaml", "no such policy file"),
    ("HOTLINE_PUBLIC_URL", "12345.example.gov.cn", "expected http(s)://"),
    ("HOTLINE_TRUST_PROXY", "yes", "expected the number of proxies"),
    ("HOTLINE_RATE_LIMIT", "lots", "expected e.g. '30/minute'"),
    ("HOTLINE_DIAL_NUMBERS", "110", "expected LINE=NUMBER"),
    ("HOTLINE_SMS_PROVIDER", "pigeon", "expected one of twilio, none"),
    ("HOTLINE_SMS_PROVIDER", "twilio", "twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM"),
    ("WECHAT_ENCODING_AES_KEY", "short", "must be 43 characters, got 5"),
    ("WECHAT_ENCODING_AES_KEY", "a" * 43, "safe mode needs WECHAT_APP_ID and WECHAT_TOKEN too"),
]
BAD_IDS = [
    "db-mysql",
    "db-not-a-url",
    "tz-unknown",
    "tz-a-path",
    "max-text-not-a-number",
    "max-text-negative",
    "max-text-zero",
    "redis-http",
    "policy-unknown-preset",
    "policy-missing-file",
    "public-url-no-scheme",
    "trust-proxy-word",
    "rate-limit-word",
    "dial-numbers-no-equals",
    "sms-provider-unknown",
    "sms-provider-twilio-without-account",
    "aes-key-short",
    "aes-key-without-app",
]


@pytest.mark.parametrize("name, value, message", BAD, ids=BAD_IDS)
def test_a_bad_value_raises_config_error_naming_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError) as caught:
        # The policy is checked when the deployment is built, the rest when the settings are read.
        build_hotline(Settings.from_env({"HOTLINE_INSTANCE_PATH": str(tmp_path), name: value}))
    assert caught.value.variable == name
    assert str(caught.value).startswith(f"{name}: ")
    assert message in str(caught.value)


NOT_UTF8_PACK = pytest.param(
    "HOTLINE_POLICY",
    "{tmp}/gbk.yaml",
    "gbk.yaml",
    id="policy-file-not-utf8",
)


@pytest.mark.parametrize(
    "name, value, message",
    [pytest.param(*case, id=case_id) for case, case_id in zip(BAD, BAD_IDS, strict=True)] + [NOT_UTF8_PACK],
)
def test_the_console_script_stops_with_one_line_naming_the_variable(tmp_path, name, value, message):
    (tmp_path / "gbk.yaml").write_bytes("base: common\nname: 测试\n".encode("gbk"))
    result = run_hotline(tmp_path, "triage", "你好", **{name: value.format(tmp=tmp_path)})
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"hotline: {name}: ")
    assert message in lines[0]


# ---------------------------------------------------------------- the schema


def test_db_upgrade_creates_an_empty_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    result = run_hotline(tmp_path, "db", "upgrade", HOTLINE_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "(sqlite)" in result.stdout
    assert (tmp_path / "new.sqlite3").is_file()

    db = Database(url)
    try:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
        assert db.current_revision() == head
        assert f"database at revision {head}" in result.stdout
        engine = create_engine(url)
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
            assert set(CONTENT_TABLES) <= tables
            counts = {t: conn.scalar(select(func.count()).select_from(table(t))) for t in sorted(tables)}
        engine.dispose()
        assert counts == dict.fromkeys(sorted(tables), 0)
    finally:
        db.dispose()


def test_db_upgrade_twice_is_harmless(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    first = run_hotline(tmp_path, "db", "upgrade", HOTLINE_DATABASE_URL=url)
    second = run_hotline(tmp_path, "db", "upgrade", HOTLINE_DATABASE_URL=url)
    assert first.returncode == second.returncode == 0, second.stderr
    assert first.stdout == second.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("existing", [False, True], ids=["no-file", "empty-file"])
def test_serve_refuses_a_database_that_was_never_upgraded(tmp_path, existing):
    path = tmp_path / "never.sqlite3"
    if existing:
        engine = create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE unrelated (id INTEGER)"))
        engine.dispose()
    result = run_hotline(
        tmp_path,
        "serve",
        "--port",
        str(_free_port()),
        timeout=60,  # if it started serving, this kills it and fails the test
        HOTLINE_DATABASE_URL=f"sqlite:///{path}",
    )
    assert result.returncode == 2, result.stderr
    assert "hotline db upgrade" in result.stderr
    assert "serving" not in result.stdout


def test_a_command_prints_no_library_chatter_unless_verbose(tmp_path):
    """Issue 18: every command printed faiss's and bm25s's INFO and DEBUG lines on stderr."""
    url = f"sqlite:///{tmp_path / 'quiet.sqlite3'}"
    demo = run_hotline(tmp_path, "demo", HOTLINE_DATABASE_URL=url, timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert not any(name in demo.stderr for name in ("faiss", "bm25s", "alembic")), demo.stderr
    quiet = run_hotline(tmp_path, "triage", "社保卡丢了怎么办", HOTLINE_DATABASE_URL=url)
    assert quiet.returncode == 0, quiet.stderr
    assert not any(name in quiet.stderr for name in ("faiss", "bm25s", "alembic")), quiet.stderr
    loud = run_hotline(tmp_path, "--verbose", "triage", "社保卡丢了怎么办", HOTLINE_DATABASE_URL=url)
    assert loud.returncode == 0 and ("bm25s" in loud.stderr or "faiss" in loud.stderr), loud.stderr
