"""Dialogue behaviour as rasa-sdk Actions.

The same Action objects run in-process (through rasa_sdk's ActionExecutor, fed the JSON a
Rasa server would send) and behind ``kefu actions`` (rasa-sdk's action server) for a Rasa
assistant.
"""

from bot.actions.registry import ACTION_NAMES, build_executor

__all__ = ["ACTION_NAMES", "build_executor"]
