"""Settings: environment over YAML over defaults; a wrong value names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import SettingsError, load_settings


def test_defaults_need_nothing() -> None:
    settings = load_settings()
    assert settings.redis_url is None and settings.telegram_token is None
    assert settings.web_host == "127.0.0.1" and settings.web_port == 8080
    assert settings.timezone == "Asia/Shanghai"


def test_environment_beats_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "kefu.yaml"
    config.write_text("shop_name: 文件小铺\nweb_port: 9000\n", encoding="utf-8")
    monkeypatch.setenv("KEFU_WEB_PORT", "9100")
    settings = load_settings(config)
    assert settings.shop_name == "文件小铺" and settings.web_port == 9100


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "kefu.yaml"
    config.write_text("redis_url: redis://127.0.0.1:6379/3\n", encoding="utf-8")
    monkeypatch.setenv("KEFU_CONFIG", str(config))
    assert load_settings().redis_url == "redis://127.0.0.1:6379/3"


def test_secrets_are_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_TELEGRAM_TOKEN", "123:secret-token")
    settings = load_settings()
    assert "secret-token" not in repr(settings)
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "123:secret-token"


@pytest.mark.parametrize(("env", "value", "named"), [
    ("KEFU_WEB_PORT", "eighty", "KEFU_WEB_PORT"),
    ("KEFU_WEB_PORT", "70000", "KEFU_WEB_PORT"),
    ("KEFU_TIMEZONE", "Mars/Olympus", "KEFU_TIMEZONE"),
    ("KEFU_REDIS_URL", "http://localhost", "KEFU_REDIS_URL"),
    ("KEFU_CLASSIFIER_THRESHOLD", "2", "KEFU_CLASSIFIER_THRESHOLD"),
])
def test_wrong_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, env: str,
                                                    value: str, named: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


@pytest.mark.parametrize(("text", "named"), [
    ("web_port: eighty\n", "web_port"),
    ("no_such_key: 1\n", "no_such_key"),
    ("shop_name: [1, 2\n", "not valid YAML"),
    ("- a list\n", "mapping"),
])
def test_wrong_yaml_names_the_key(tmp_path: Path, text: str, named: str) -> None:
    config = tmp_path / "kefu.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=named):
        load_settings(config)


def test_missing_config_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml")
