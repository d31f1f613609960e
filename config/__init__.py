"""Settings for kefu: environment variables (KEFU_*) over an optional YAML file over defaults."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
