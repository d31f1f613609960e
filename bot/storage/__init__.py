"""Conversation state behind a small abstract store, like aiogram's FSM storage."""

from bot.storage.base import (
    CONTROL_FIELDS,
    Control,
    ConversationKey,
    ConversationState,
    ConversationStore,
    Held,
    TranscriptEntry,
)
from bot.storage.memory import MemoryConversationStore
from config.backend import StoreUnavailable

__all__ = [
    "CONTROL_FIELDS",
    "Control",
    "ConversationKey",
    "ConversationState",
    "ConversationStore",
    "Held",
    "MemoryConversationStore",
    "StoreUnavailable",
    "TranscriptEntry",
]
