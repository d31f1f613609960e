"""One Settings object, read from KEFU_* environment variables and an optional YAML file.

Precedence (highest first): explicit keyword arguments, environment, the YAML file named by
``KEFU_CONFIG`` (or passed to :func:`load_settings`), defaults. A wrong value stops start-up
with a :class:`SettingsError` that names the key, never a bare pydantic traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from config.hours import BusinessHours

DEFAULT_LIBRARY = Path(__file__).resolve().parent.parent / "scripts_zh" / "library"


class SettingsError(ValueError):
    """A configuration value is wrong; the message names the key."""


class Settings(BaseSettings):
    """Everything an operator may configure. See config/kefu.example.yaml for each key."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="forbid", validate_default=True)

    #: Empty: the library's own ``shop_name`` text (scripts_zh/library/system.yaml).
    shop_name: str = Field(default="", max_length=40)
    timezone: str = "Asia/Shanghai"
    library_dir: Path = DEFAULT_LIBRARY
    data_dir: Path = Path(".kefu")
    redis_url: str | None = None

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    secret_key: SecretStr | None = None
    #: Mark session cookies ``Secure`` (behind an HTTPS proxy); HTTPS requests always do.
    secure_cookies: bool = False

    telegram_token: SecretStr | None = None
    telegram_api_url: str | None = None
    telegram_agent_chat: int | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None

    classifier_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    clarify_margin: float = Field(default=0.12, ge=0.0, le=1.0)
    transcript_cap: int = Field(default=200, ge=10, le=100_000)
    max_message_chars: int = Field(default=1000, ge=10, le=100_000)
    #: Seconds a fragment (在吗, 这件) waits for the rest of a shopper's burst (0: never).
    message_pause: float = Field(default=1.5, ge=0.0, le=10.0)
    unanswered_handoff: int = Field(default=2, ge=0, le=20)
    handoff_on_anger: bool = True
    handoff_timeout: float = Field(default=180.0, ge=10.0, le=86_400.0)
    agent_capacity: int = Field(default=5, ge=1, le=100)
    # NoDecode: KEFU_HOURS reaches BusinessHours as a string, which parses the JSON itself so
    # that bad JSON is reported as "KEFU_HOURS: ..." like any other wrong value.
    hours: Annotated[BusinessHours, NoDecode] = BusinessHours()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read config file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the config file must be a mapping of keys to values")
    return data


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings; environment beats the YAML file, explicit overrides beat both."""
    path = config_file or os.environ.get("KEFU_CONFIG")
    file_values = _read_yaml(Path(path)) if path else {}
    env_keys = {
        name for name in Settings.model_fields if f"KEFU_{name.upper()}" in os.environ
    }
    values = {k: v for k, v in file_values.items() if k not in env_keys}
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "?"
            where = f"KEFU_{key.upper()}" if key.upper() in _env_names() else key
            problems.append(f"{where}: {err['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


def _env_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields if f"KEFU_{name.upper()}" in os.environ}
