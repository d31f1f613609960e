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
    """Apologise and hand over: a complaint needs a person (angry ones jump the queue).

    A complaint topic answers the question first; only the topics that need a person
    (notify_agent: wrong or damaged items, quality, compensation) hand over when the
    shopper is calm, so "发货太慢了" gets its answer without a wait in the queue.
    """

    action_name = "action_complaint"
    owner = "complaint"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        anger = tracker.get_slot("anger")
        if anger is None:
            anger = score(tracker.latest_message.get("text") or "").anger
        hands_over = tracker.get_slot("handoff_on_anger") is not False
        angry = hands_over and float(anger) >= ANGRY
        answered = say.answer_topic()
        if answered is None:
            intent = say.intent
            say.utter(intent.replies if intent else say.brain.library.system["handoff"])
            if not hands_over:  # the shop turned complaint handoffs off (KEFU_HANDOFF_ON_ANGER)
                return [SlotSet("unanswered", 0)]
            reason = "angry_complaint" if angry else "complaint"
            return [SlotSet("handoff_reason", reason), ConversationPaused()]
        if angry:
            return [*[e for e in answered if e.get("event") != "pause"
                      and e.get("name") != "handoff_reason"],
                    SlotSet("handoff_reason", "angry_complaint"), ConversationPaused()]
        return answered
