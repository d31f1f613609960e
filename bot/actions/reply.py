"""Answer from the library: the classified intent's reply variants and quick replies."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from bot.actions.base import Events, KefuAction, Say


class ActionReply(KefuAction):
    """The default action: the matched topic's answer, else one of the intent's replies,
    with the quick options as buttons."""

    action_name = "action_reply"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        answered = say.answer_topic()
        if answered is not None:
            return answered
        intent = say.intent
        if intent is None:
            say.system("fallback")
            return [SlotSet("unanswered", int(tracker.get_slot("unanswered") or 0) + 1)]
        say.utter(intent.replies, intent.quick_replies)
        return [SlotSet("unanswered", 0), SlotSet("topic", None)]


class ActionGreet(KefuAction):
    """The welcome text (first contact, /start)."""

    action_name = "action_greet"

    async def act(self, say: Say, tracker: Tracker) -> Events:
        say.system("welcome", _top_quick_replies(say))
        return []


def _top_quick_replies(say: Say) -> list[str]:
    greeting = say.brain.library.intent("greeting")
    return list(greeting.quick_replies) if greeting else []
