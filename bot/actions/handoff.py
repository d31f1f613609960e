"""Handing the chat to a human: Rasa's ConversationPaused, with the reason in a slot.

The engine sees the pause, opens a ticket with the context and stays silent until an agent
hands the chat back (ConversationResumed) or closes it.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet

from bot.actions.base import Events, KefuAction, Say
from intents.sentiment import ANGRY, score


class ActionHandoff(KefuAction):
    """The shopper asked for a human (or a rule decided so)."""

    action_name = "action_handoff"
    owner = "human"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        reason = tracker.get_slot("handoff_reason") or "asked_for_human"
        intent = say.intent
        say.utter(intent.replies if intent else say.brain.library.system["handoff"])
        return [SlotSet("handoff_reason", reason), SlotSet("active_dialog", None),
                ConversationPaused()]


class ActionComplaint(KefuAction):
    """Apologise; an angry shopper goes straight to a human."""

    action_name = "action_complaint"
    owner = "complaint"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        answered = say.answer_topic()
        if answered is None:
            intent = say.intent
            say.utter(intent.replies if intent else say.brain.library.system["handoff"])
        elif any(e.get("event") == "pause" for e in answered):
            return answered
        anger = tracker.get_slot("anger")
        if anger is None:
            anger = score(tracker.latest_message.get("text") or "").anger
        if tracker.get_slot("handoff_on_anger") is not False and float(anger) >= ANGRY:
            return [SlotSet("handoff_reason", "angry_complaint"), ConversationPaused()]
        return answered or [SlotSet("unanswered", 0)]
