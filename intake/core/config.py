"""Settings read once from environment variables, validated at start and read-only afterwards.

Every setting a deployment can change is listed in ``SETTINGS`` (the README's configuration table is
written from it). A bad value raises ``ConfigError`` whose message names the variable, so start-up
stops with one clear line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    "HOTLINE_PUBLIC_URL": (
        "unset",
        "The address the platforms call us at, e.g. `https://12345.example.gov.cn`: Twilio signs this URL; "
        "required once `TWILIO_AUTH_TOKEN`, `WECHAT_TOKEN` or `WECHAT_APP_SECRET` is set.",
    ),
    "HOTLINE_TRUST_PROXY": (
        "0",
        "How many reverse proxies stand in front; only then are `X-Forwarded-*` headers believed.",
    ),
    "HOTLINE_RATE_LIMIT": ("30/minute", "Messages one sender may send per channel (`limits` notation)."),
    "HOTLINE_AGENT_NUMBER": ("unset", "Number the phone menu dials for an operator; unset: voicemail."),
    "HOTLINE_DIAL_NUMBERS": (
        "unset (each line's own number)",
        "Numbers dialled for emergency lines, e.g. `110=+8651012110,120=+8651012120` for a sandbox.",
    ),
    "HOTLINE_SMS_PROVIDER": (
        "twilio when TWILIO_ACCOUNT_SID is set, else none",
        "Outbound SMS gateway: `twilio`, or `none` (messages wait in the outbox).",
    ),
    "TWILIO_ACCOUNT_SID": ("unset", "Twilio account for outbound SMS and calls."),
    "TWILIO_AUTH_TOKEN": ("unset", "Twilio auth token: checks the signature of every Twilio webhook."),
    "TWILIO_FROM_NUMBER": ("unset", "Our Twilio number, the sender of outbound SMS and calls."),
    "TWILIO_API_BASE_URL": ("unset", "Another address for Twilio's REST API (a sandbox or a test fake)."),
    "WECHAT_TOKEN": ("unset", "Token set in the official account's server configuration (服务器配置)."),
    "WECHAT_APP_ID": ("unset", "AppID of the official account."),
    "WECHAT_APP_SECRET": ("unset", "AppSecret: customer-service messages are sent with it."),
    "WECHAT_ENCODING_AES_KEY": ("unset", "EncodingAESKey (43 characters); when set, safe mode (安全模式)."),
    "WECHAT_API_BASE_URL": ("unset", "Another address for WeChat's API (a test fake)."),
}

SMS_PROVIDERS = ("twilio", "none")


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


def _dial_numbers(env: Mapping[str, str]) -> dict[str, str]:
    raw = env.get("HOTLINE_DIAL_NUMBERS", "").strip()
    numbers: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        line, sep, number = part.partition("=")
        if not sep or not line.strip() or not number.strip():
            raise ConfigError("HOTLINE_DIAL_NUMBERS", f"expected LINE=NUMBER, got {part!r}")
        numbers[line.strip()] = number.strip()
    return numbers


def _rate_limit(env: Mapping[str, str]) -> str:
    from limits import parse_many

    raw = env.get("HOTLINE_RATE_LIMIT", "").strip() or "30/minute"
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError("HOTLINE_RATE_LIMIT", f"expected e.g. '30/minute', got {raw!r}") from None
    return raw


def _aes_key(env: Mapping[str, str]) -> str | None:
    raw = env.get("WECHAT_ENCODING_AES_KEY", "").strip() or None
    if raw is not None and len(raw) != 43:
        raise ConfigError("WECHAT_ENCODING_AES_KEY", f"must be 43 characters, got {len(raw)}")
    return raw


def _channel_values(env: Mapping[str, str]) -> dict[str, object]:
    def get(name: str) -> str | None:
        return env.get(name, "").strip() or None

    trust = env.get("HOTLINE_TRUST_PROXY", "").strip() or "0"
    if not trust.isdigit():
        raise ConfigError("HOTLINE_TRUST_PROXY", f"expected the number of proxies (0, 1, …), got {trust!r}")
    provider = get("HOTLINE_SMS_PROVIDER") or ("twilio" if get("TWILIO_ACCOUNT_SID") else "none")
    if provider not in SMS_PROVIDERS:
        choices = ", ".join(SMS_PROVIDERS)
        raise ConfigError("HOTLINE_SMS_PROVIDER", f"expected one of {choices}, got {provider!r}")
    needs = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
    if provider == "twilio" and not all(get(name) for name in needs):
        raise ConfigError("HOTLINE_SMS_PROVIDER", f"twilio needs {', '.join(needs)}")
    if _aes_key(env) and not (get("WECHAT_APP_ID") and get("WECHAT_TOKEN")):
        raise ConfigError("WECHAT_ENCODING_AES_KEY", "safe mode needs WECHAT_APP_ID and WECHAT_TOKEN too")
    signing = [name for name in ("TWILIO_AUTH_TOKEN", "WECHAT_TOKEN", "WECHAT_APP_SECRET") if get(name)]
    if signing and not get("HOTLINE_PUBLIC_URL"):
        # Twilio signs the URL it called; rebuilt from the request, it would trust the client's Host
        raise ConfigError(
            "HOTLINE_PUBLIC_URL",
            f"must be set when {', '.join(signing)} is set: the address the platforms call, "
            "e.g. https://12345.example.gov.cn",
        )
    return {
        "public_url": _url(env, "HOTLINE_PUBLIC_URL"),
        "trust_proxy": int(trust),
        "rate_limit": _rate_limit(env),
        "agent_number": get("HOTLINE_AGENT_NUMBER"),
        "dial_numbers": _dial_numbers(env),
        "sms_provider": provider,
        "twilio_account_sid": get("TWILIO_ACCOUNT_SID"),
        "twilio_auth_token": get("TWILIO_AUTH_TOKEN"),
        "twilio_from_number": get("TWILIO_FROM_NUMBER"),
        "twilio_api_base_url": _url(env, "TWILIO_API_BASE_URL"),
        "wechat_token": get("WECHAT_TOKEN"),
        "wechat_app_id": get("WECHAT_APP_ID"),
        "wechat_app_secret": get("WECHAT_APP_SECRET"),
        "wechat_aes_key": _aes_key(env),
        "wechat_api_base_url": _url(env, "WECHAT_API_BASE_URL"),
    }


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip().rstrip("/") or None
    if raw is not None and not raw.startswith(("http://", "https://")):
        raise ConfigError(name, f"expected http(s)://…, got {raw!r}")
    return raw


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
    # channels
    public_url: str | None = None
    trust_proxy: int = 0
    rate_limit: str = "30/minute"
    agent_number: str | None = None
    dial_numbers: dict[str, str] = field(default_factory=dict)
    sms_provider: str = "none"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base_url: str | None = None
    wechat_token: str | None = None
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None
    wechat_aes_key: str | None = None
    wechat_api_base_url: str | None = None

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
            **_channel_values(env),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def dial_number(self, line: str) -> str:
        """The number to dial for an emergency or utility line (the line itself unless configured)."""
        return self.dial_numbers.get(line, line)

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
