"""Settings read once from environment variables, validated at start and read-only afterwards.

Every setting a deployment can change is listed in ``SETTINGS`` (the README's configuration table is
written from it). A bad value raises ``ConfigError`` whose message names the variable, so start-up
stops with one clear line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigError(ValueError):
    """A setting has a value the service cannot start with."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


# name -> (default shown in the README, what it does)
SETTINGS: dict[str, tuple[str, str]] = {
    "HOTLINE_DATABASE_URL": (
        "sqlite:///instance/hotline.sqlite3",
        "SQLAlchemy URL of the database: SQLite for one machine, `postgresql+psycopg://…` in production.",
    ),
    "HOTLINE_POLICY": (
        "longsheng",
        "Policy pack: a preset name (`hotline policy list`) or a path to a pack file.",
    ),
    "HOTLINE_SECRET_KEY": (
        "random, kept in `instance/secret_key`",
        "Key for signed cookies and CSRF tokens. Set it in production, the same on every worker.",
    ),
    "HOTLINE_INSTANCE_PATH": ("./instance", "Folder for the SQLite file, the secret key and index caches."),
    "HOTLINE_TIMEZONE": ("Asia/Shanghai", "Time zone of the hotline: deadlines and working days use it."),
    "HOTLINE_REDIS_URL": ("unset", "Redis for shared state and queues when several workers run."),
    "HOTLINE_KB_MODEL": (
        "unset (USE multilingual v3, shipped in its package)",
        "Folder of a sentence-transformers model to use instead of the embedded encoder (`st` extra).",
    ),
    "HOTLINE_MAX_TEXT": (
        "2000",
        "Longest message text kept for matching, in characters (the rest is stored).",
    ),
}


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(name, f"must be positive, got {value}")
    return value


def _model_folder(env: Mapping[str, str]) -> str | None:
    raw = env.get("HOTLINE_KB_MODEL", "").strip()
    if raw and not Path(raw).is_dir():
        raise ConfigError("HOTLINE_KB_MODEL", f"no model folder at {raw!r}")
    return raw or None


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one deployment."""

    database_url: str
    policy: str
    secret_key: str
    instance_path: Path
    timezone: ZoneInfo
    redis_url: str | None = None
    kb_model: str | None = None
    max_text: int = 2000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read and validate the settings from ``env`` (``os.environ`` by default)."""
        env = dict(os.environ if env is None else env)
        instance = Path(env.get("HOTLINE_INSTANCE_PATH") or "instance").resolve()

        url = env.get("HOTLINE_DATABASE_URL", "").strip() or f"sqlite:///{instance / 'hotline.sqlite3'}"
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError("HOTLINE_DATABASE_URL", f"not a database URL: {url!r}") from None
        if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ConfigError(
                "HOTLINE_DATABASE_URL", f"only sqlite and postgresql are supported, got {parsed.drivername!r}"
            )

        tz_name = env.get("HOTLINE_TIMEZONE", "").strip() or "Asia/Shanghai"
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("HOTLINE_TIMEZONE", f"unknown time zone {tz_name!r}") from None

        redis_url = env.get("HOTLINE_REDIS_URL", "").strip() or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("HOTLINE_REDIS_URL", f"expected redis://…, got {redis_url!r}")

        values: dict[str, object] = {
            "database_url": url,
            "policy": env.get("HOTLINE_POLICY", "").strip() or "longsheng",
            "secret_key": env.get("HOTLINE_SECRET_KEY", "").strip(),
            "instance_path": instance,
            "timezone": tz,
            "redis_url": redis_url,
            "max_text": _positive_int(env, "HOTLINE_MAX_TEXT", 2000),
            "kb_model": _model_folder(env),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    def ensure_secret_key(self) -> str:
        """Return the configured secret key, or one kept in the instance folder for a single machine."""
        if self.secret_key:
            return self.secret_key
        path = self.instance_path / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.instance_path.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
