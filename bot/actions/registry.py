"""All actions, registered with rasa_sdk's ActionExecutor around one BrainHolder."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from bot.actions.base import KefuAction
from bot.actions.clarify import ActionClarify, ActionFallback, ActionSuggest
from bot.actions.handoff import ActionComplaint, ActionHandoff
from bot.actions.orders import ActionLogistics, ActionRefund
from bot.actions.reply import ActionGreet, ActionReply
from bot.actions.sizing import ActionSizing
from bot.brain import BrainHolder

ACTIONS: tuple[type[KefuAction], ...] = (
    ActionReply,
    ActionGreet,
    ActionClarify,
    ActionSuggest,
    ActionFallback,
    ActionRefund,
    ActionLogistics,
    ActionSizing,
    ActionHandoff,
    ActionComplaint,
)
ACTION_NAMES = frozenset(a.action_name for a in ACTIONS)


def build_executor(brains: BrainHolder) -> ActionExecutor:
    """An executor whose actions read the holder's current Brain on every run."""
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(brains))
    return executor
