"""Conversation state behind a small abstract store, like aiogram's FSM storage."""

from bot.storage.base import (
    CONTROL_FIELDS,
    Control,
    ConversationKey,
    ConversationState,
    ConversationStore,
    Held,
    StoreUnavailable,
    TranscriptEntry,
)
from bot.storage.memory import MemoryConversationStore

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
